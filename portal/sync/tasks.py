"""Background jobs of partner sync. They take ids, reload state and are safe to run twice."""

from __future__ import annotations

from portal.jobs import QUEUE_DELIVERIES, QUEUE_MAIL, job


@job("sync.deliver", queue=QUEUE_DELIVERIES, retries=0)
def deliver(delivery_id: str) -> None:
    """First try of a delivery right after filing; later tries come from the sweep
    (``flask deliveries work``). A second run finds the row claimed or delivered."""
    from portal.sync import deliveries

    deliveries.deliver(delivery_id)


@job("sync.notify_events", queue=QUEUE_MAIL, retries=3, retry_intervals=(30, 300, 1800))
def notify_events(source: str, external_ids: list[str]) -> None:
    """E-mail applicants about the applied events of one batch (a partner's event ids); each
    event is claimed before its mail is queued, so a rerun tells nobody twice."""
    import sqlalchemy as sa

    from portal.dossiers import events
    from portal.dossiers.models import DossierEvent
    from portal.extensions import db

    ids = db.session.scalars(
        sa.select(DossierEvent.id)
        .where(DossierEvent.source == source, DossierEvent.external_id.in_(external_ids))
        .order_by(DossierEvent.id)
    ).all()
    db.session.rollback()
    for event_id in ids:
        events.send_status_notice(event_id)
