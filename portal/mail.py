"""Outgoing e-mail: SMTP in production, a local outbox folder under the embedded default.

Mail is always sent by the ``mail.send`` job, queued with :func:`queue_mail` inside the
transaction that decided to send it: a rolled-back operation sends nothing, and the web
request never waits for an SMTP server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from flask import current_app

from portal.jobs import QUEUE_MAIL, enqueue, job

log = logging.getLogger(__name__)

MAX_SUBJECT = 200


def build_message(
    to: str, subject: str, text: str, html: str | None = None, attachments: list[dict] | None = None
) -> EmailMessage:
    """An RFC 5322 message. Header injection is impossible: newlines in headers are refused.

    :raises ValueError: a header value contains a line break.
    """
    config = current_app.config
    for value in (to, subject):
        if "\n" in value or "\r" in value:
            raise ValueError("line breaks are not allowed in mail headers")
    message = EmailMessage()
    message["From"] = formataddr((config["MAIL_FROM_NAME"], config["MAIL_FROM"]))
    message["To"] = to
    message["Subject"] = subject[:MAX_SUBJECT]
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rsplit("@", 1)[-1])
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for item in attachments or []:
        maintype, subtype = item["content_type"].split("/", 1)
        message.add_attachment(item["data"], maintype=maintype, subtype=subtype, filename=item["filename"])
    return message


def deliver(message: EmailMessage) -> None:
    """Hand a message to SMTP (MAIL_SERVER set) or write it to the outbox folder."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        host, _, port = config["MAIL_SERVER"].partition(":")
        port_number = int(port or 25)
        if config.get("MAIL_USE_SSL"):
            client = smtplib.SMTP_SSL(host, port_number, timeout=10, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port_number, timeout=10)
        with client:
            if config.get("MAIL_USE_TLS"):
                client.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            client.send_message(message)
        return
    outbox = Path(config["MAIL_OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_bytes(bytes(message))


@job("mail.send", queue=QUEUE_MAIL, retries=5, retry_intervals=(30, 120, 600, 1800, 3600))
def send_mail_job(
    to: str, subject: str, text: str, html: str | None = None, attachments: list[dict] | None = None
) -> None:
    deliver(build_message(to, subject, text, html, attachments))
    log.info("mail sent", extra={"subject": subject[:60]})


def queue_mail(
    to: str | None, subject: str, text: str, html: str | None = None, attachments: list[dict] | None = None
) -> None:
    """Send after the current transaction commits. No address: nothing to send."""
    if not to:
        return
    enqueue("mail.send", to, subject, text, html, attachments)
