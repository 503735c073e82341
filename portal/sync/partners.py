"""Partners: credentials (create, rotate, revoke, re-encrypt, list), who a request comes
from, and where a partner's jurisdiction ends.

Revoking takes effect on the next request: nothing about a partner or its secrets is cached
between requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import g, has_request_context, request
from sqlalchemy.orm import selectinload

from portal.audit.service import record as _audit
from portal.db import Raw, transactional, utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.sync import signing
from portal.sync.models import MAX_ACTIVE_SECRETS, Partner, PartnerSecret

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
LEVEL1_PREFIX = "000.00.00."

# Who changes credentials from the command line (the back office passes the staff member).
CLI_ACTOR = "flask partners"


def record(actor, action: str, partner: Partner, changes: dict) -> None:
    """Audit a credentials change (with the staff member's address when from the back
    office). ``changes`` names secrets by id only: a secret itself is never recorded."""
    _audit(actor, action, partner, changes, request if has_request_context() else None)


def _clean_url(unsafe_url: str | None) -> str | None:
    if not unsafe_url:
        return None
    parts = urlsplit(unsafe_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValidationFailed("the base URL must be an http(s) URL without query or fragment")
    return unsafe_url.strip().rstrip("/")[:500]


def _get(code: str) -> Partner:
    partner = db.session.scalar(
        sa.select(Partner).where(Partner.code == code).options(selectinload(Partner.secrets))
    )
    if partner is None:
        raise NotFound(f"no partner {code!r}")
    return partner


@transactional
def create_partner(
    code: str, *, base_url: str | None = None, name: str | None = None, actor=CLI_ACTOR
) -> str:
    """Create a partner with one secret and return the secret (shown once, never again).

    :raises ValidationFailed: a code that is not an agency code, a bad URL.
    :raises Conflict: the partner exists (``PartnerExists``).
    """
    if not CODE_PATTERN.match(code or ""):
        raise ValidationFailed("the partner code must be an agency code such as H56 or 000.00.00.G17")
    if db.session.scalar(sa.select(Partner.id).where(Partner.code == code)) is not None:
        raise Conflict(f"partner {code!r} already exists", token="PartnerExists")
    secret = signing.new_secret()
    partner = Partner(code=code, name=(name or None) and name[:300], base_url=_clean_url(base_url))
    partner.secrets.append(PartnerSecret(encrypted=signing.encrypt(secret), created_at=utcnow()))
    db.session.add(partner)
    db.session.flush()
    record(
        actor,
        "partner.create",
        partner,
        {"code": code, "base_url": partner.base_url, "secret_id": partner.secrets[0].id},
    )
    return secret


@transactional
def rotate_secret(code: str, *, actor=CLI_ACTOR) -> str:
    """Add a second active secret and return it (shown once); the old one stays valid until
    revoked.

    :raises NotFound: no such partner.
    :raises Conflict: two secrets are already active (``TooManySecrets``): revoke one first.
    """
    partner = _get(code)
    if len(partner.active_secrets()) >= MAX_ACTIVE_SECRETS:
        raise Conflict(
            f"partner {code!r} already has {MAX_ACTIVE_SECRETS} active secrets: revoke one first",
            token="TooManySecrets",
        )
    secret = signing.new_secret()
    added = PartnerSecret(encrypted=signing.encrypt(secret), created_at=utcnow())
    partner.secrets.append(added)
    db.session.flush()
    record(
        actor,
        "partner.rotate",
        partner,
        {"code": code, "secret_id": added.id, "active_secrets": len(partner.active_secrets())},
    )
    return secret


@transactional
def revoke(code: str, *, secret_id: int | None = None, actor=CLI_ACTOR) -> None:
    """Revoke one secret (``secret_id``), or turn the whole partner off.

    :raises NotFound: no such partner, or no such active secret of it.
    """
    partner = _get(code)
    now = utcnow()
    if secret_id is None:
        partner.active = False
        partner.disabled_at = now
        record(actor, "partner.revoke", partner, {"code": code, "active": [True, False]})
        return
    for secret in partner.active_secrets():
        if secret.id == secret_id:
            secret.revoked_at = now
            record(actor, "partner.revoke_secret", partner, {"code": code, "secret_id": secret_id})
            return
    raise NotFound(f"partner {code!r} has no active secret {secret_id}")


@transactional
def set_partner(
    code: str, *, base_url: str | None = None, active: bool | None = None, actor=CLI_ACTOR
) -> None:
    """Change a partner's outbound URL or turn it back on.

    :raises NotFound: no such partner.
    :raises ValidationFailed: a bad URL.
    """
    partner = _get(code)
    changes: dict = {}
    if base_url is not None:
        new_url = _clean_url(base_url) if base_url else None
        changes["base_url"] = [partner.base_url, new_url]
        partner.base_url = new_url
    if active is not None:
        changes["active"] = [partner.active, active]
        partner.active = active
        partner.disabled_at = None if active else utcnow()
    record(actor, "partner.update", partner, {"code": code, **changes})


@dataclass(frozen=True)
class Reencrypted:
    """What ``reencrypt_secrets`` did: how many secrets it moved to the current key, and
    which it could not read with any key, as (partner code, secret id, revoked)."""

    reencrypted: int
    unreadable: tuple[tuple[str, int, bool], ...]


@transactional
def reencrypt_secrets(*, actor=CLI_ACTOR) -> Reencrypted:
    """Encrypt every stored secret (revoked ones too) under the current SECRET_KEY, in one
    transaction, so the keys in SECRET_KEY_FALLBACKS can then be dropped. A secret no key
    reads is left as it is and reported: its partner needs a new one (``rotate``). Each
    partner touched gets one audit entry naming its secrets by id.

    :raises: nothing of its own; a database error rolls every change back.
    """
    partners = db.session.scalars(
        sa.select(Partner).order_by(Partner.code).options(selectinload(Partner.secrets))
    ).all()
    count, unreadable = 0, []
    for partner in partners:
        done, failed = [], []
        for secret in sorted(partner.secrets, key=lambda s: s.id):
            token = signing.reencrypt(secret.encrypted)
            if token is None:
                failed.append(secret.id)
                unreadable.append((partner.code, secret.id, secret.revoked_at is not None))
            else:
                secret.encrypted = token
                done.append(secret.id)
        count += len(done)
        if done or failed:
            changes = {"code": partner.code, "reencrypted": done, "unreadable": failed}
            record(actor, "partner.reencrypt", partner, changes)
    return Reencrypted(reencrypted=count, unreadable=tuple(unreadable))


def list_partners() -> list[dict]:
    partners = db.session.scalars(
        sa.select(Partner).order_by(Partner.code).options(selectinload(Partner.secrets))
    ).all()
    return [p.serialize() for p in partners]


@dataclass(frozen=True)
class Caller:
    """Who signed a request: an active partner and its active secrets, in clear."""

    code: str
    secrets: tuple[str, ...]

    @property
    def source(self) -> str:
        return f"partner:{self.code}"


_CALLER = Raw(
    "SELECT p.code, s.encrypted FROM partners p "
    "LEFT OUTER JOIN partner_secrets s ON s.partner_id = p.id AND s.revoked_at IS NULL "
    "WHERE p.code = :code AND p.active = :active ORDER BY s.id DESC"
)


def find_caller(code: str | None) -> Caller | None:
    """The active partner with this code and its active secrets (newest first), read afresh
    on every request so that a revocation takes effect on the next one."""
    if not code or len(code) > 32:
        return None
    rows = _CALLER.rows({"code": code, "active": True})
    if not rows:
        return None
    found = [signing.decrypt_cached(encrypted) for _, encrypted in rows if encrypted]
    return Caller(code=rows[0][0], secrets=tuple(s for s in found if s))


def find_active(code: str | None) -> Partner | None:
    """The partner with this code if it is on, with its secrets loaded."""
    if not code or len(code) > 32:
        return None
    return db.session.scalar(
        sa.select(Partner)
        .where(Partner.code == code, Partner.active.is_(True))
        .options(selectinload(Partner.secrets))
    )


def readable_secrets(partner: Partner) -> list[str]:
    """The active secrets in clear, newest first (unreadable ones are skipped)."""
    found = [signing.decrypt(s.encrypted) for s in reversed(partner.active_secrets())]
    return [s for s in found if s]


# --------------------------------------------------------------------------- jurisdiction


def level1_code(partner_code: str) -> str | None:
    """The level-1 code (``H56``, ``G17``) of a partner named by it or by its level-1 agency."""
    if "." not in partner_code:
        return partner_code
    if partner_code.startswith(LEVEL1_PREFIX):
        return partner_code[len(LEVEL1_PREFIX) :]
    return None


def jurisdiction(partner_code: str) -> frozenset[str]:
    """The agency codes under a partner: its agency and every agency below it in the tree.

    Computed once per request (``g``): the tree changes only when the catalog is imported.
    """
    cache = g.setdefault("sync_jurisdictions", {})
    if partner_code in cache:
        return cache[partner_code]
    level1 = level1_code(partner_code)
    rows = db.session.execute(
        sa.text(
            "WITH RECURSIVE tree(id) AS ("
            " SELECT id FROM agencies WHERE code = :code OR portal_code = :code OR code = :level1_agency"
            " UNION SELECT a.id FROM agencies a JOIN tree t ON a.parent_id = t.id)"
            " SELECT code, portal_code FROM agencies WHERE id IN (SELECT id FROM tree)"
        ),
        {"code": partner_code, "level1_agency": LEVEL1_PREFIX + level1 if level1 else partner_code},
    ).all()
    codes = {partner_code}
    for code, portal_code in rows:
        codes.update(c for c in (code, portal_code) if c)
    cache[partner_code] = frozenset(codes)
    return cache[partner_code]


def in_jurisdiction(partner_code: str, agency_code: str | None) -> bool:
    """Whether a partner may report (and receives) the dossiers of ``agency_code``.

    Its agency tree, and any agency code whose last segment is the partner's level-1 code
    (``000.00.15.H56`` is a unit of H56 even before the catalog lists it).
    """
    if not agency_code:
        return False
    level1 = level1_code(partner_code)
    if agency_code == partner_code or (level1 and agency_code.endswith("." + level1)):
        return True  # without a query: the common case
    return agency_code in jurisdiction(partner_code)


def jurisdiction_clause(partner_code: str, column):
    """SQL condition on an agency-code column: inside the partner's jurisdiction."""
    clauses = [column.in_(sorted(jurisdiction(partner_code)))]
    level1 = level1_code(partner_code)
    if level1:
        clauses.append(column.like("%." + level1.replace("%", "").replace("_", r"\_"), escape="\\"))
    return sa.or_(*clauses)


def responsible_partner(agency_code: str) -> Partner | None:
    """The partner that receives the dossiers of an agency: the one closest to it in the
    tree (the agency's own system, then its parents', then its level-1 unit's)."""
    candidates: list[str] = []
    agency = db.session.execute(
        sa.text(
            "SELECT id, code, portal_code, parent_id, level1_code FROM agencies WHERE code = :c OR portal_code = :c"
        ),
        {"c": agency_code},
    ).first()
    seen: set[int] = set()
    level1 = None
    while agency is not None and agency.id not in seen:
        seen.add(agency.id)
        candidates += [c for c in (agency.code, agency.portal_code) if c]
        if agency.level1_code:
            level1 = agency.level1_code
        agency = (
            db.session.execute(
                sa.text("SELECT id, code, portal_code, parent_id, level1_code FROM agencies WHERE id = :i"),
                {"i": agency.parent_id},
            ).first()
            if agency.parent_id
            else None
        )
    candidates.append(agency_code)
    suffix = agency_code.rsplit(".", 1)[-1] if "." in agency_code else None
    for extra in (level1, suffix):
        if extra:
            candidates += [LEVEL1_PREFIX + extra, extra]
    partners = {
        p.code: p
        for p in db.session.scalars(
            sa.select(Partner).where(Partner.code.in_(candidates), Partner.active.is_(True))
        )
    }
    for code in candidates:
        if code in partners:
            return partners[code]
    return None
