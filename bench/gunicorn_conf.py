"""The one gunicorn configuration the benchmark serves both apps with (portal and baseline).

Sync workers, no keep-alive (the load generator opens one connection per request), no
access log: whatever differs between the two measurements is the application, not the
server. ``bind`` is given on the command line.
"""

import os

workers = int(os.environ.get("BENCH_WORKERS", "2"))
worker_class = "sync"
# Each worker imports the app itself (no preload), as a plain ``gunicorn wsgi:app`` does.
preload_app = False
backlog = 2048
timeout = 60
graceful_timeout = 5
accesslog = None
loglevel = "warning"
