"""The append-only audit log: who did what, when, from where, and what changed.

Other modules call :func:`portal.audit.service.record` inside their own transaction, or
:func:`portal.audit.service.record_now` for security events that must survive the
rollback of the operation that failed (a refused sign-in). Rows are never updated or
deleted by the application: the ORM refuses it, and a database trigger refuses updates.
"""
