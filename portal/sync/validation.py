"""The edge of the inbound endpoint: a batch of dossier events, checked whole before anything
is stored (contract/provincial-sync.md).

A body that is not JSON or not ``{"events": [ {...}, ... ]}`` is refused whole (400); more
than MAX_EVENTS events is refused whole (413). Inside a well-formed batch, an event with a
missing or invalid field is rejected on its own (``ValidationError``) and the others go on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portal.errors import PortalError, ValidationFailed
from portal.payments.fees import MAX_AMOUNT, is_amount

MAX_EVENTS = 500
MAX_BODY_BYTES = 1024 * 1024
MAX_NOTE = 2000
# The status that asks the citizen to pay (Yêu cầu thực hiện nghĩa vụ tài chính): the only
# one that may carry an ``amount``.
PAYMENT_REQUIRED = 6
# Events dated further ahead than this are refused: one would pin its dossier (every real
# event after it would be stale).
MAX_FUTURE = timedelta(days=1)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PayloadTooLarge(PortalError):
    status_code = 413
    token = "PayloadTooLarge"


class Invalid(ValueError):
    """One field of one event is not acceptable; the message names it."""


@dataclass
class DossierBlock:
    procedure_code: str
    agency_code: str
    channel: int
    received_at: datetime | None
    applicant_name: str
    applicant_id_number: str | None
    applicant_phone: str | None
    applicant_email: str | None
    summary: str | None


@dataclass
class Incoming:
    """One event of a batch as sent; ``error`` is set when it cannot be stored."""

    index: int
    event_id: str | None
    code: str | None = None
    status: int = 0
    occurred: datetime | None = None
    note: str | None = None
    handler_name: str | None = None
    handler_unit: str | None = None
    due: datetime | None = None
    amount: int | None = None
    raw_dossier: object = None
    error: tuple[str, str] | None = None
    result: str | None = None

    def reject(self, token: str, message: str) -> None:
        self.result, self.error = "rejected", (token, message)

    def answer(self) -> dict:
        out: dict = {"event_id": self.event_id, "result": self.result}
        if self.error:
            out["error"] = {"error": self.error[0], "message": self.error[1]}
        return out


def parse_batch(raw: bytes, *, now: datetime) -> list[Incoming]:
    """The events of a batch body, each checked on its own.

    :raises ValidationFailed: not JSON (``InvalidJson``) or not of the batch's shape.
    :raises PayloadTooLarge: more than MAX_EVENTS events or MAX_BODY_BYTES bytes.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge("request body is larger than allowed")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the body is not JSON", token="InvalidJson") from None
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise ValidationFailed('the body must be an object with an "events" array')
    events = body["events"]
    if not events:
        raise ValidationFailed("events must hold at least one event")
    if len(events) > MAX_EVENTS:
        raise PayloadTooLarge(f"at most {MAX_EVENTS} events per request")
    if not all(isinstance(e, dict) for e in events):
        raise ValidationFailed("every event must be an object")
    return [_event(i, e, now) for i, e in enumerate(events)]


def _event(index: int, unsafe: dict, now: datetime) -> Incoming:
    event_id = unsafe.get("event_id")
    item = Incoming(index=index, event_id=event_id if isinstance(event_id, str) else None)
    try:
        item.event_id = text(unsafe, "event_id", 128, required=True)
        item.code = text(unsafe, "dossier_code", 64, required=True)
        item.status = status(unsafe.get("status"))
        item.occurred = moment(unsafe, "occurred_at", now, required=True)
        item.note = text(unsafe, "note", MAX_NOTE, multiline=True)
        handler = unsafe.get("handler")
        if handler is not None:
            if not isinstance(handler, dict):
                raise Invalid("handler must be an object")
            item.handler_name = text(handler, "name", 200, label="handler.name")
            item.handler_unit = text(handler, "unit", 300, label="handler.unit")
        item.due = moment(unsafe, "due_at", None)
        unsafe_amount = unsafe.get("amount")
        if unsafe_amount is not None:
            item.amount = amount(unsafe_amount, item.status)
        item.raw_dossier = unsafe.get("dossier")
    except Invalid as exc:
        item.reject("ValidationError", str(exc))
    return item


def dossier_block(unsafe: object, *, now: datetime) -> DossierBlock:
    """The ``dossier`` object of an event about a dossier the portal does not know yet.

    :raises Invalid: a missing or invalid field.
    """
    if not isinstance(unsafe, dict):
        raise Invalid("dossier must be an object")
    applicant = unsafe.get("applicant")
    if not isinstance(applicant, dict):
        raise Invalid("dossier.applicant must be an object")
    channel = unsafe.get("channel", 1)
    if isinstance(channel, bool) or channel not in (1, 2, 3):
        raise Invalid("dossier.channel must be 1 (counter), 2 (online) or 3 (post)")
    id_number = text(applicant, "id_number", 20, label="dossier.applicant.id_number")
    if id_number is not None and not id_number.isdigit():
        raise Invalid("dossier.applicant.id_number must be digits")
    email = text(applicant, "email", 254, label="dossier.applicant.email")
    if email is not None and ("@" not in email or any(c.isspace() for c in email)):
        raise Invalid("dossier.applicant.email is not an e-mail address")
    return DossierBlock(
        procedure_code=text(unsafe, "procedure_code", 64, required=True, label="dossier.procedure_code"),
        agency_code=text(unsafe, "agency_code", 32, required=True, label="dossier.agency_code"),
        channel=channel,
        received_at=moment(unsafe, "received_at", now, label="dossier.received_at"),
        applicant_name=text(applicant, "name", 100, required=True, label="dossier.applicant.name"),
        applicant_id_number=id_number,
        applicant_phone=text(applicant, "phone", 16, label="dossier.applicant.phone"),
        applicant_email=email.lower() if email else None,
        summary=text(unsafe, "summary", 500, label="dossier.summary", multiline=True),
    )


def text(
    unsafe: dict,
    key: str,
    limit: int,
    *,
    required: bool = False,
    label: str | None = None,
    multiline: bool = False,
) -> str | None:
    label = label or key
    value = unsafe.get(key)
    if value is None:
        if required:
            raise Invalid(f"{label} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{label} must be a string")
    value = value.strip()
    if required and not value:
        raise Invalid(f"{label} is required")
    if len(value) > limit:
        raise Invalid(f"{label} may have at most {limit} characters")
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        raise Invalid(f"{label} contains control characters")
    return value or None


def status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise Invalid("status must be a national status code 1-10")
    return value


def amount(value: object, status_code: int) -> int:
    """What a status 6 event asks the citizen to pay: a whole positive number of đồng."""
    if status_code != PAYMENT_REQUIRED:
        raise Invalid(f"amount is only accepted with status {PAYMENT_REQUIRED} (payment required)")
    if not is_amount(value):
        raise Invalid(f"amount must be a whole number of đồng from 1 to {MAX_AMOUNT}")
    return value


def moment(
    unsafe: dict, key: str, now: datetime | None, *, required: bool = False, label: str | None = None
) -> datetime | None:
    """An ISO 8601 time with its offset, in UTC; not after ``now`` + MAX_FUTURE when given."""
    label = label or key
    value = unsafe.get(key)
    if value is None:
        if required:
            raise Invalid(f"{label} is required")
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Invalid(f"{label} must be an ISO 8601 time with its offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{label} must be an ISO 8601 time with its offset") from None
    if parsed.tzinfo is None:
        raise Invalid(f"{label} must carry its offset (e.g. +07:00)")
    parsed = parsed.astimezone(UTC)
    if parsed < EARLIEST or (now is not None and parsed > now + MAX_FUTURE):
        raise Invalid(f"{label} is out of range")
    return parsed
