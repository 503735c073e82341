"""Background jobs of dossiers. They take ids, reload what they need and are safe to run twice."""

from __future__ import annotations

from portal.jobs import QUEUE_MAIL, job


@job("dossiers.notify_status", queue=QUEUE_MAIL, retries=3, retry_intervals=(30, 300, 1800))
def notify_status(event_id: int) -> None:
    """E-mail the applicant about a status event; a second run finds it already told."""
    from portal.dossiers import events

    events.send_status_notice(event_id)
