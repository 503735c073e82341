"""One enqueue(): after the commit, never on rollback, loud in tests that did not ask."""

import pytest

from portal.db import transactional
from portal.jobs import JobsNotAllowed, enqueue, job

CALLS: list = []


@job("test.record_call", retries=0)
def record_call(value):
    CALLS.append(value)


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


def test_enqueue_without_the_jobs_fixture_fails_loudly(app):
    with pytest.raises(JobsNotAllowed):
        enqueue("test.record_call", 1)


def test_enqueue_of_an_unknown_job_is_an_error(app, jobs):
    with pytest.raises(KeyError):
        enqueue("test.no_such_job")


def test_a_job_runs_only_after_its_transaction_commits(app, jobs):
    @transactional
    def operation():
        enqueue("test.record_call", "after-commit")
        assert CALLS == []  # not before the commit

    operation()
    jobs()  # drains RQ when Redis is configured; jobs already ran inline otherwise
    assert CALLS == ["after-commit"]


def test_a_rolled_back_transaction_drops_its_jobs(app, jobs):
    @transactional
    def failing():
        enqueue("test.record_call", "never")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        failing()
    jobs()
    assert CALLS == []
