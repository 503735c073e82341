"""The receipt e-mail: claimed once per receipt, the PDF attached."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.accounts.models import User
from portal.db import transactional, utcnow
from portal.extensions import db
from portal.mail import queue_mail
from portal.payments import receipts
from portal.payments.models import Payment, Receipt


@transactional
def send_receipt(receipt_id: int) -> bool:
    """Queue the receipt e-mail once: the receipt is claimed (``emailed_at``) in the same
    transaction that queues the message, so a job run twice sends one e-mail. Returns
    whether this run sent it."""
    claimed = db.session.execute(
        sa.update(Receipt)
        .where(Receipt.id == receipt_id, Receipt.emailed_at.is_(None))
        .values(emailed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return False
    receipt = db.session.get(Receipt, receipt_id)
    payment = db.session.get(Payment, receipt.payment_id)
    from portal.dossiers.models import Dossier

    email = db.session.scalar(sa.select(Dossier.applicant_email).where(Dossier.id == receipt.dossier_id))
    user = db.session.get(User, payment.user_id) if payment.user_id else None
    to = (user.email if user and user.email else None) or email
    if not to:
        return False
    with force_locale((user.locale if user else None) or "vi"):
        text = render_template(
            "payments/mail/receipt.txt",
            name=receipt.payer_name,
            code=receipt.dossier_code,
            series=receipt.series,
            number=receipts.receipt_number(receipt),
            amount=receipts.money(receipt.total),
            url=current_app.config.get("PUBLIC_URL", ""),
        )
        subject = _("Receipt for dossier %(code)s", code=receipt.dossier_code)
    queue_mail(
        to,
        subject,
        text,
        attachments=[
            {
                "filename": receipts.file_name(receipt),
                "content_type": "application/pdf",
                "data": receipts.render_pdf(receipt),
            }
        ],
    )
    return True
