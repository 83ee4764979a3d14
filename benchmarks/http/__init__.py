"""The HTTP benchmark (``make bench-http``): a large clinic in PostgreSQL, served by gunicorn in
production settings and loaded with wrk; see ``benchmarks.http.run``."""
