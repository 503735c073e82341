"""One ``enqueue()`` for every background job.

Jobs are registered by name with :func:`job`, take ids (never ORM objects), reload their
state and are safe to run twice. ``enqueue()`` never runs or sends anything before the
surrounding transaction commits; a rollback drops what it queued.

Modes (``JOBS_MODE``):
- ``inline``: the embedded default. Jobs run in this process right after the commit.
- ``rq``: queued on Redis for ``make run-worker`` (RQ) after the commit.
- ``strict``: tests. ``enqueue()`` raises, so no test silently drops a job; tests that
  exercise jobs use the ``jobs`` fixture, which switches to inline or rq.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db

log = logging.getLogger(__name__)

QUEUE_DEFAULT = "default"
QUEUE_DELIVERIES = "deliveries"
QUEUE_MAIL = "mail"
QUEUES = (QUEUE_DEFAULT, QUEUE_DELIVERIES, QUEUE_MAIL)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable
    queue: str
    retries: int
    retry_intervals: tuple[int, ...]


_REGISTRY: dict[str, JobSpec] = {}


class JobsNotAllowed(RuntimeError):
    """enqueue() was called where jobs are not enabled (a test without the jobs fixture)."""


def job(
    name: str,
    *,
    queue: str = QUEUE_DEFAULT,
    retries: int = 3,
    retry_intervals: tuple[int, ...] = (10, 60, 300),
):
    """Register ``func`` as the job ``name``, with its queue and retry policy."""

    def decorator(func: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise RuntimeError(f"job {name!r} registered twice")
        _REGISTRY[name] = JobSpec(name, func, queue, retries, retry_intervals)
        return func

    return decorator


def registered_jobs() -> dict[str, JobSpec]:
    return dict(_REGISTRY)


def enqueue(name: str, *args, **kwargs) -> None:
    """Queue job ``name`` to run after the current transaction commits.

    :raises KeyError: no job has that name.
    :raises JobsNotAllowed: under JOBS_MODE=strict (tests without the jobs fixture).
    """
    if name not in _REGISTRY:
        raise KeyError(f"no job named {name!r}")
    mode = current_app.config["JOBS_MODE"]
    if mode == "strict":
        raise JobsNotAllowed(
            f"enqueue({name!r}) called with JOBS_MODE=strict; use the 'jobs' fixture in tests"
        )
    # Handed over by transactional() once the commit has succeeded.
    db.session.info.setdefault("pending_jobs", []).append((name, args, kwargs))


def _dispatch(session: Session) -> None:
    pending = session.info.pop("pending_jobs", [])
    if not pending:
        return
    app = current_app._get_current_object()
    for name, args, kwargs in pending:
        if app.config["JOBS_MODE"] == "rq":
            _send_to_rq(app, name, args, kwargs)
        else:
            run_inline(name, *args, **kwargs)


def run_inline(name: str, *args, **kwargs) -> None:
    """Run a job now, in this process, with its declared retries. Failures are logged."""
    spec = _REGISTRY[name]
    for attempt in range(spec.retries + 1):
        try:
            spec.func(*args, **kwargs)
            return
        except Exception:  # noqa: BLE001 - a job failure must not break the request
            db.session.rollback()
            log.exception("job failed", extra={"job": name, "attempt": attempt + 1})
    log.error("job gave up", extra={"job": name})


def _send_to_rq(app, name: str, args: tuple, kwargs: dict) -> None:
    from rq import Retry

    spec = _REGISTRY[name]
    queue = get_queue(app, spec.queue)
    queue.enqueue(
        "portal.jobs.execute",
        name,
        *args,
        retry=Retry(max=spec.retries, interval=list(spec.retry_intervals)) if spec.retries else None,
        **kwargs,
    )


def get_queue(app, queue_name: str = QUEUE_DEFAULT):
    from redis import Redis
    from rq import Queue

    connection = app.extensions.get("redis") or Redis.from_url(app.config["REDIS_URL"])
    return Queue(app.config.get("JOBS_QUEUE_PREFIX", "") + queue_name, connection=connection)


def execute(name: str, *args, **kwargs) -> None:
    """Entry point of RQ workers: run job ``name`` inside an app context."""
    import os

    from flask import has_app_context

    if has_app_context():
        # RQ forks a work horse per job: connections inherited from the parent must not be
        # shared with it, so the child opens its own.
        if current_app.extensions.get("jobs_pid") != os.getpid():
            db.engine.dispose(close=False)
            current_app.extensions["jobs_pid"] = os.getpid()
        _REGISTRY[name].func(*args, **kwargs)
        return
    from portal import create_app

    app = create_app()
    with app.app_context():
        _REGISTRY[name].func(*args, **kwargs)


def dispatch_pending() -> None:
    """Hand over the jobs queued in this session; called right after a successful commit."""
    _dispatch(db.session)


def register_jobs(app) -> None:
    """Forget queued jobs when their transaction rolls back."""

    @event.listens_for(db.session, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):  # noqa: ANN001
        session.info.pop("pending_jobs", None)


def worker_command():
    """``flask jobs worker``: an RQ worker that runs jobs inside this app's context."""
    import click
    from flask.cli import AppGroup

    group = AppGroup("jobs", help="Background jobs.")

    @group.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    def worker(burst: bool) -> None:
        """Run an RQ worker on the default, deliveries and mail queues (needs REDIS_URL)."""
        from rq import Worker

        app = current_app._get_current_object()
        if not app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: jobs run in-process under the embedded default")
        queues = [get_queue(app, name) for name in QUEUES]
        Worker(queues, connection=queues[0].connection).work(burst=burst, with_scheduler=True)

    return group
