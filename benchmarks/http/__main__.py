import sys

from benchmarks.http.run import main

try:
    sys.exit(main())
except KeyboardInterrupt:  # gunicorn is stopped and the database dropped on the way out
    sys.exit("Interrupted.")
