"""Django's database backends with one change: a transaction's data versions go up in the
transaction itself, just before it commits (clinic/data_version.py)."""
