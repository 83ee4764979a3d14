"""Fixtures for scheduling tests. The seeded Rejuran protocol, Dr. Kim, a Tuesday ahead, Celery
run inline and the in-memory SMS outbox are shared with the API and portal tests
(tests/conftest.py); times in the clinic's zone are in tests/timeutil.py."""
