"""What an import tells its caller: the two ways it fails, and the report of a run.

:class:`ImportFileError` stops an import (nothing is changed); :class:`RecordRejected` leaves
one record out and the import goes on; :class:`ImportReport` counts what was written and
lists what was rejected or imported with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The width of a procedure's code column; longer codes are rejected, and quoted cut short.
MAX_CODE_LENGTH = 64


class ImportFileError(Exception):
    """The file cannot be read as an export at all (not JSON, truncated, wrong shape)."""


class RecordRejected(Exception):
    """One record cannot be used; the import goes on without it."""


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    # [{"code", "reason"}]: records left out.
    rejected: list[dict] = field(default_factory=list)
    # [{"code", "message"}]: records imported without something they carried.
    warnings: list[dict] = field(default_factory=list)
    agencies: int = 0
    provinces: int = 0
    online_services: int = 0
    import_id: int | None = None

    def reject(self, code: Any, reason: str) -> None:
        self.rejected.append({"code": _report_code(code), "reason": reason})

    def warn(self, code: Any, message: str) -> None:
        self.warnings.append({"code": _report_code(code), "message": message})


def _report_code(code: Any) -> str | None:
    if isinstance(code, bool) or not isinstance(code, (str, int, float)):
        return None
    # Reports are stored and printed: a lone surrogate would crash the printing.
    text = str(code).replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    # An over-long code is itself the reason for a rejection: quote enough to find it.
    return (text[:MAX_CODE_LENGTH] + "…" if len(text) > MAX_CODE_LENGTH else text) or None
