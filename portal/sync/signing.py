"""Request signatures (contract/provincial-sync.md), secret encryption and signed file links.

    X-Portal-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body bytes>")>[,v1=...]

Secrets are kept encrypted with Fernet under a key derived from SECRET_KEY, because the portal
must compute HMACs with them (to verify, and to sign deliveries). They are read with SECRET_KEY
or any key in SECRET_KEY_FALLBACKS and written with SECRET_KEY alone; after a rotation,
``flask partners reencrypt`` moves them all to the new key, and the old one can be dropped.
File links are accepted when signed with any of those keys too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from itsdangerous import BadSignature, URLSafeSerializer

from portal.security import signing_keys

TOLERANCE_SECONDS = 300
SCHEME = "v1"
MAX_SIGNATURES = 8
HEADER_PARTNER = "X-Portal-Partner"
HEADER_TIMESTAMP = "X-Portal-Timestamp"
HEADER_SIGNATURE = "X-Portal-Signature"
HEADER_DELIVERY = "X-Portal-Delivery"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe text, prefixed so it is recognisable."""
    return "pss_" + secrets.token_urlsafe(32)


def compute(secret: str, timestamp: str | int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], timestamp: str | int, body: bytes) -> str:
    return ",".join(f"{SCHEME}={compute(s, timestamp, body)}" for s in secrets_)


def sign_headers(partner_code: str, secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The three headers that sign ``body`` as ``partner_code`` with ``secret``."""
    timestamp = str(int(now if now is not None else time.time()))
    return {
        HEADER_PARTNER: partner_code,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: signature_header([secret], timestamp, body),
    }


def parse_signatures(unsafe_header: str | None) -> list[str]:
    """The ``v1`` values of a signature header (other schemes are ignored)."""
    found = []
    for part in (unsafe_header or "").split(",")[:MAX_SIGNATURES]:
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and value:
            found.append(value.strip().lower())
    return found


def timestamp_fresh(unsafe_timestamp: str | None, *, now: float | None = None) -> bool:
    """True when the timestamp is whole seconds within TOLERANCE_SECONDS of now (either way)."""
    raw = (unsafe_timestamp or "").strip()
    if not raw.isdigit() or len(raw) > 12:
        return False
    now = now if now is not None else time.time()
    return abs(now - int(raw)) <= TOLERANCE_SECONDS


def matches(candidates: list[str], secrets_: list[str], timestamp: str, body: bytes) -> bool:
    """Whether any ``v1`` value matches any secret; every comparison is constant-time and all
    of them are made, so the time taken does not tell which one matched."""
    ok = False
    for secret in secrets_:
        expected = compute(secret, timestamp, body)
        for candidate in candidates:
            ok |= hmac.compare_digest(expected, candidate)
    return ok


# ------------------------------------------------------------------------ stored secrets


def _fernet_of(key: str) -> Fernet:
    derived = hashlib.sha256(b"opendvc partner secrets\x00" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet() -> MultiFernet:
    """Encrypts with SECRET_KEY's Fernet (MultiFernet's first); decrypts with any key's."""
    return MultiFernet([_fernet_of(k) for k in reversed(signing_keys())])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode("utf-8")).decode("ascii")


_DECRYPTED: dict[tuple[tuple[str, ...], str], str | None] = {}


def decrypt_cached(token: str) -> str | None:
    """:func:`decrypt`, remembered per process and set of keys (a token always decrypts to
    the same secret under the same keys; dropping a fallback must make it unreadable).
    Whether a secret is still active is read from the database on every request."""
    key = (tuple(signing_keys()), token)
    if key not in _DECRYPTED:
        if len(_DECRYPTED) > 1000:
            _DECRYPTED.clear()
        _DECRYPTED[key] = decrypt(token)
    return _DECRYPTED[key]


def decrypt(token: str) -> str | None:
    """The secret, or None when no key reads it (stored under a SECRET_KEY that is neither
    the current one nor in SECRET_KEY_FALLBACKS)."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


def reencrypt(token: str) -> str | None:
    """The same secret encrypted under SECRET_KEY alone, or None when no key reads it."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        return None


# ---------------------------------------------------------------------- signed file links


def _links() -> URLSafeSerializer:
    """Signs with SECRET_KEY; accepts links signed with a key in SECRET_KEY_FALLBACKS, so the
    links in deliveries already sent outlive a rotation."""
    return URLSafeSerializer(signing_keys(), salt="opendvc sync file link")


def file_token(attachment_id: int, expires_at: int) -> str:
    """A token naming one attachment until ``expires_at`` (unix seconds); tamper-evident."""
    return _links().dumps([attachment_id, expires_at])


def read_file_token(unsafe_token: str) -> tuple[int, int] | None:
    """(attachment id, expiry) of a genuine token, or None."""
    if not unsafe_token or len(unsafe_token) > 300:
        return None
    try:
        value = _links().loads(unsafe_token)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return value[0], value[1]
