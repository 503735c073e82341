"""Removing personal data from text before it is published on the Q&A page.

Removed: e-mail addresses, phone numbers, ID numbers (CCCD 12 digits, CMND 9), dossier and
ticket codes, and the ticket's own contact name, e-mail and phone wherever they appear
(with or without Vietnamese marks). What is removed becomes ``[…]``.
"""

from __future__ import annotations

import re
import unicodedata

MASK = "[…]"

_PATTERNS = {
    "email": re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[A-Za-z]{2,}"),
    "dossier_code": re.compile(r"\b[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}-\d{6}-\d{4}\b"),
    "ticket_number": re.compile(r"\bPA-\d{6}-\d+\b"),
    "phone": re.compile(r"(?<!\d)(?:\+84|84|0)(?:[\s.-]?\d){8,10}(?!\d)"),
    "id_number": re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)"),
}


def _name_pattern(name: str, *, ignore_case: bool = True) -> re.Pattern | None:
    """The name, matched with or without its marks (each letter either way)."""
    words = [w for w in re.split(r"\s+", name.strip()) if len(w) >= 2]
    if not words:
        return None

    def letter(ch: str) -> str:
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        base = "d" if ch in "đĐ" else base
        return f"[{re.escape(ch)}{re.escape(base)}]" if base and base.lower() != ch.lower() else re.escape(ch)

    full = r"\s+".join("".join(letter(c) for c in w) for w in words)
    return re.compile(rf"(?<!\w){full}(?!\w)", re.IGNORECASE if ignore_case else 0)


def _personal(ticket: dict) -> list[re.Pattern]:
    patterns = []
    for value in (ticket.get("contact_name"), ticket.get("user_name")):
        if value:
            pattern = _name_pattern(value)
            if pattern:
                patterns.append(pattern)
            # The given name alone ("bà Hoà"), when written as a name: capitalised.
            given = value.split()[-1] if len(value.split()) > 1 else None
            pattern = _name_pattern(given, ignore_case=False) if given else None
            if pattern:
                patterns.append(pattern)
    for value in (ticket.get("contact_email"), ticket.get("contact_phone"), ticket.get("number")):
        if value:
            patterns.append(re.compile(re.escape(value), re.IGNORECASE))
    return patterns


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def find_personal_data(text: str, ticket: dict) -> list[str]:
    """The kinds of personal data still in ``text`` (empty when it is clean)."""
    text = _normal(text)
    found = [kind for kind, pattern in _PATTERNS.items() if pattern.search(text)]
    if any(p.search(text) for p in _personal(ticket)):
        found.append("contact")
    return found


def strip_personal_data(text: str, ticket: dict) -> str:
    text = _normal(text)
    for pattern in _personal(ticket):
        text = pattern.sub(MASK, text)
    for pattern in _PATTERNS.values():
        text = pattern.sub(MASK, text)
    return text
