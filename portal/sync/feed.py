"""The pull feed: dossiers filed on the portal in a partner's jurisdiction, in filing order.

Pages by ``Dossier.filed_seq``, handed out in commit order at filing
(:func:`next_value`), so a dossier committed after a reader passed its neighbours still
comes after them: the cursor never skips one. The cursor is opaque to partners.
"""

from __future__ import annotations

import base64
import binascii

import sqlalchemy as sa

from portal.dossiers.models import Dossier
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.sync import partners as partner_service
from portal.sync.deliveries import delivery_body
from portal.sync.models import Sequence

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
FILING = "filing"


def next_value(name: str = FILING) -> int:
    """The next value of a named sequence; part of the caller's transaction, whose row lock
    makes values commit in order."""
    table = Sequence.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(table).values(name=name, last_value=0).on_conflict_do_nothing())
    return db.session.execute(
        sa.update(table)
        .where(table.c.name == name)
        .values(last_value=table.c.last_value + 1)
        .returning(table.c.last_value)
    ).scalar_one()


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(unsafe_cursor: str | None) -> int:
    """:raises ValidationFailed: not a cursor this feed made (``InvalidCursor``)."""
    if not unsafe_cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(unsafe_cursor + "=" * (-len(unsafe_cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    scheme, _, value = raw.partition(":")
    if scheme != "v1" or not value.isdigit() or len(value) > 18 or len(unsafe_cursor) > 40:
        raise ValidationFailed("after is not a cursor of this feed", token="InvalidCursor")
    return int(value)


def parse_limit(unsafe_limit: str | None) -> int:
    """:raises ValidationFailed: not a whole number from 1 to MAX_LIMIT."""
    if unsafe_limit is None or unsafe_limit == "":
        return DEFAULT_LIMIT
    if not unsafe_limit.isdigit() or not 1 <= int(unsafe_limit) <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}")
    return int(unsafe_limit)


def page(partner_code: str, unsafe_after: str | None, unsafe_limit: str | None) -> dict:
    """``{"items": [...], "next": cursor}``: up to ``limit`` dossiers after the cursor.

    ``next`` is always given: the cursor to ask with next time (the same one when nothing
    new was filed).

    :raises ValidationFailed: a bad cursor or limit.
    """
    after = decode_cursor(unsafe_after)
    limit = parse_limit(unsafe_limit)
    dossiers = db.session.scalars(
        sa.select(Dossier)
        .where(
            Dossier.filed_seq > after,
            partner_service.jurisdiction_clause(partner_code, Dossier.agency_code),
        )
        .order_by(Dossier.filed_seq)
        .limit(limit)
    ).all()
    last = dossiers[-1].filed_seq if dossiers else after
    return {"items": [delivery_body(d) for d in dossiers], "next": encode_cursor(last)}
