"""bench/gunicorn_conf.py with a CPU profile of each worker, for ``python -m bench --profile``.

Each worker runs under cProfile with a CPU-time clock (waiting for the next connection costs
nothing) from its start until it exits, then writes ``portal-<pid>.prof`` into
``BENCH_PROFILE_DIR``. Profiling slows the portal several times over: the ratios of a
profiled run are not comparable with others; use it to see where the time goes.
"""

import cProfile
import os
import time

from bench.gunicorn_conf import *  # noqa: F403 - the same server configuration, plus the hooks below

_profile = None


def post_worker_init(worker):
    global _profile
    _profile = cProfile.Profile(time.process_time)
    _profile.enable()


def worker_exit(server, worker):
    if _profile is not None:
        _profile.disable()
        _profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"], f"portal-{os.getpid()}.prof"))
