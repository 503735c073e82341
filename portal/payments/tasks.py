"""Background jobs of payments. They take ids, reload what they need and are safe to run twice."""

from __future__ import annotations

from portal.jobs import QUEUE_DEFAULT, QUEUE_MAIL, job


@job("payments.effects", queue=QUEUE_DEFAULT, retries=5, retry_intervals=(10, 60, 300, 900, 1800))
def effects(payment_id: int) -> None:
    """A succeeded payment's receipt, dossier history, partner delivery and e-mail, once."""
    from portal.payments import service

    service.apply_effects(payment_id)


@job("payments.email_receipt", queue=QUEUE_MAIL, retries=3, retry_intervals=(30, 300, 1800))
def email_receipt(receipt_id: int) -> None:
    """E-mail the payer the receipt (PDF attached); a second run finds it already sent."""
    from portal.payments import mailing

    mailing.send_receipt(receipt_id)


@job("payments.mop_up", queue=QUEUE_DEFAULT, retries=0)
def mop_up() -> None:
    """Every 30 minutes: apply the gateway's word on open payments, then expire old ones."""
    from portal.payments import service

    service.mop_up()


@job("payments.expire", queue=QUEUE_DEFAULT, retries=0)
def expire() -> None:
    from portal.payments import service

    service.expire_payments()


@job("payments.reconcile_day", queue=QUEUE_DEFAULT, retries=2, retry_intervals=(60, 600))
def reconcile_day(day: str) -> None:
    """Compare one day's gateway charges with the portal's payments (started from the back
    office). A second run records a second run of the same day; the newest one counts."""
    from datetime import date

    from portal.payments.reconcile import reconcile

    reconcile(date.fromisoformat(day))
