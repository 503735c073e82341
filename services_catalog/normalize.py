"""Text normalisation for diacritic-insensitive Vietnamese search.

``fold("ĐĂNG KÝ Khai sinh")`` gives ``"dang ky khai sinh"``: lower case, đ as d, tone and
vowel marks removed, runs of white space and punctuation as one space. The same function
folds stored text and queries, so matching is a plain substring test that SQLite and
PostgreSQL evaluate alike.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\W_]+", re.UNICODE)


def fold(text: str | None) -> str:
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()


def slug(text: str) -> str:
    return fold(text).replace(" ", "-")[:64] or "x"
