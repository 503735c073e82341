"""What a dossier owes: fee lines frozen at submission, or asked for by the partner.

:func:`freeze_fee_lines` runs inside the dossier's submission (portal.dossiers.service);
:func:`record_amounts_due` inside partner sync (portal.sync.ingest) for the status 6 events
of a batch that carry an ``amount``. Both are part of the caller's transaction.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.payments.models import FEE_KINDS, PAID_STATES, FeeLine, Payment

# Beyond this an amount is a typo (the catalog caps fees at the same figure).
MAX_AMOUNT = 10**13
# The fee line of an amount a partner asks for with status 6 (shown on the dossier page
# and the receipt).
PARTNER_DESCRIPTION = "Nghĩa vụ tài chính theo yêu cầu của cơ quan giải quyết"


def is_amount(value) -> bool:
    """A whole positive number of đồng no larger than MAX_AMOUNT: an ``int``, never a bool
    or a float (``1e5`` or ``100000.0`` in JSON is refused, not rounded)."""
    return type(value) is int and 0 < value <= MAX_AMOUNT


# Below this a stated amount is taken for the source's thousands and never charged as đồng
# (the crawls hold 45 for 45.000 đồng in 1.013217, 25 for 25.000 đồng in 1.012680).
MIN_PLAUSIBLE = 1_000
# A figure in a fee's description: 1.000 and more with dots between the thousands, or any
# number followed by đồng (đ, VNĐ). Dates and legal references (25/2021/TT-BTC) are not.
_FIGURE = re.compile(
    r"(?<![\d./])(\d{1,3}(?:\.\d{3})+|\d+(?=\s*(?:đồng|vnđ|vnd|đ\b)))(?![\d/])", re.IGNORECASE
)
# Words that make a fee depend on who asks or when: an exemption (miễn), a percentage, a
# rate bounded by dates (mức thu áp dụng đến hết ngày 31/12/2026), an amount a provincial
# council sets.
_CONDITION = re.compile(
    r"miễn|%|hội đồng nhân dân|(?:từ|đến)(?: hết)?(?: ngày)? \d{1,2}/\d{1,2}/\d{4}", re.IGNORECASE
)


def _unconditional(fee: dict) -> bool:
    """The fee is one amount for everyone: a stated amount in đồng whose description neither
    states another figure nor a condition (see module constants)."""
    amount = fee.get("amount")
    if fee.get("currency") != "VND" or type(amount) is not int or amount < 0:
        return False
    if 0 < amount < MIN_PLAUSIBLE:
        return False
    text = unicodedata.normalize("NFC", fee.get("description") or "")
    if _CONDITION.search(text):
        return False
    return all(int(figure.replace(".", "")) == amount for figure in _FIGURE.findall(text))


def _fee_set(fees: list[dict]) -> tuple | None:
    """The lines of one timing, if they are meant together: one line, or one phí and one
    lệ phí. Two lines of one kind (or an unspecified one beside another) are alternatives:
    None."""
    kinds = sorted(str(fee.get("kind")) for fee in fees)
    if len(fees) > 1 and kinds != ["le_phi", "phi"]:
        return None
    if not all(_unconditional(fee) for fee in fees):
        return None
    return tuple(sorted((str(fee.get("kind")), fee["amount"]) for fee in fees))


def online_fees(procedure) -> list[dict]:
    """What filing online costs, in đồng, when the catalog states it beyond doubt:
    [{"kind", "description", "amount"}], else [] (nothing is charged at filing).

    Never charge more than is owed: the catalog's fee entries are often alternatives, not
    lines to add up, so they are charged only when they cannot mean anything else:

    - The online channel's timings (and a second online channel) are alternative paths for
      different cases: those with fees must all state the same fees.
    - Within a timing, one line, or one phí and one lệ phí (added up). Two lines of one
      kind are alternatives (1.004594: 1.500.000 đồng for 1-2 stars *or* 2.000.000 đồng
      for 3 stars), and so is an unspecified line beside another.
    - Each line is one amount for everyone: no exemption, percentage, dated rate,
      council-set amount, or other figure in its description (1.000688 states 800.000
      đồng, "áp dụng mức phí 400.000 đồng ... đến hết ngày 31/12/2026"), and at least
      MIN_PLAUSIBLE.

    Otherwise the dossier owes nothing when it is filed, and the agency asks for the amount
    it decides with status 6 (``amount`` in partner sync, :func:`record_amounts_due`),
    which the citizen then pays online.
    """
    chosen: list[dict] | None = None
    sets = set()
    for channel in procedure.channels or []:
        if channel.get("channel") != 2:
            continue
        for timing in channel.get("timings") or []:
            fees = timing.get("fees") or []
            if not fees:
                continue
            fee_set = _fee_set(fees)
            if fee_set is None:
                return []
            sets.add(fee_set)
            if chosen is None:
                chosen = fees
    if chosen is None or len(sets) != 1:
        return []
    return [
        {
            "kind": fee.get("kind") if fee.get("kind") in FEE_KINDS else "unspecified",
            "description": (fee.get("description") or "Lệ phí")[:500],
            "amount": fee["amount"],
        }
        for fee in chosen
        if fee["amount"] > 0
    ]


def freeze_fee_lines(dossier, procedure, online_service) -> list[FeeLine]:
    """Copy what the dossier owes from the catalog onto the dossier, for services paid
    online (``pays_online``). Later catalog changes do not change it."""
    if online_service is None or not online_service.pays_online:
        return []
    lines = [
        FeeLine(
            dossier_id=dossier.id,
            kind=fee["kind"],
            description=fee["description"],
            amount=fee["amount"],
            currency="VND",
            source="catalog",
            created_at=utcnow(),
        )
        for fee in online_fees(procedure)
    ]
    db.session.add_all(lines)
    return lines


def record_amount_due(
    dossier_id: int,
    amount,
    *,
    source: str,
    external_id: str | None = None,
    description: str = PARTNER_DESCRIPTION,
    kind: str = "unspecified",
) -> FeeLine | None:
    """Add what a partner asks for with status 6 (an optional integer ``amount`` in đồng)
    to what the dossier owes. A repeat of the same (source, external_id) adds nothing.

    :raises ValidationFailed: the amount is not a whole positive number of đồng.
    """
    if not is_amount(amount):
        raise ValidationFailed("amount must be a whole positive number of đồng", token="ValidationError")
    if external_id is not None:
        known = db.session.scalar(
            sa.select(FeeLine.id).where(FeeLine.source == source[:48], FeeLine.external_id == external_id)
        )
        if known is not None:
            return None
    line = FeeLine(
        dossier_id=dossier_id,
        kind=kind if kind in FEE_KINDS else "unspecified",
        description=description[:500],
        amount=amount,
        currency="VND",
        source=source[:48],
        external_id=external_id,
        created_at=utcnow(),
    )
    db.session.add(line)
    db.session.flush()
    return line


def record_amounts_due(source: str, requests: list[tuple[int, int, str]], *, now) -> None:
    """Add what a partner asked for with the status 6 events of one batch, as
    ``(dossier id, amount, event id)``: one statement for the whole batch. An event id of
    ``source`` already recorded adds nothing (partner sync answers such an event
    ``duplicate`` before it gets here; this is the database's word on it).

    :raises ValueError: an amount that is not :func:`is_amount` (partner sync refuses them
        first, per event).
    """
    if not requests:
        return
    if not all(is_amount(amount) for _, amount, _ in requests):
        raise ValueError("amounts due must be whole positive numbers of đồng")
    source = source[:48]
    db.session.execute(
        _insert_ignoring_repeats(),
        [
            {
                "dossier_id": dossier_id,
                "kind": "unspecified",
                "description": PARTNER_DESCRIPTION,
                "amount": amount,
                "currency": "VND",
                "source": source,
                "external_id": external_id,
                "created_at": now,
            }
            for dossier_id, amount, external_id in requests
        ],
    )


_INSERTS: dict[str, sa.Insert] = {}


def _insert_ignoring_repeats() -> sa.Insert:
    """INSERT INTO fee_lines ... ON CONFLICT (source, external_id) DO NOTHING, built once
    per dialect (a plain multi-row statement: the driver's executemany)."""
    dialect = db.session.get_bind().dialect.name
    statement = _INSERTS.get(dialect)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = _INSERTS[dialect] = insert(FeeLine.__table__).on_conflict_do_nothing(
            index_elements=["source", "external_id"]
        )
    return statement


def fee_lines(dossier_id: int) -> list[FeeLine]:
    return list(
        db.session.scalars(sa.select(FeeLine).where(FeeLine.dossier_id == dossier_id).order_by(FeeLine.id))
    )


def amounts(dossier_id: int) -> dict:
    """{"total": fees, "paid": what payments brought in, "owed": what is left}, in đồng.

    Refunds do not make a dossier owe again: money given back was not due.
    """
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(FeeLine.amount), 0)).where(FeeLine.dossier_id == dossier_id)
    )
    paid = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
            Payment.dossier_id == dossier_id, Payment.state.in_(PAID_STATES)
        )
    )
    total, paid = int(total or 0), int(paid or 0)
    return {"total": total, "paid": paid, "owed": max(0, total - paid)}
