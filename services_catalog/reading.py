"""Reading an export: a file into JSON, then a record's JSON values into checked text,
lists and numbers, with a warning for each value that had to be left out or cut short.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from services_catalog.report import ImportFileError, RecordRejected

# Beyond this a number in a record is a typo, and would overflow the columns it feeds.
MAX_QUANTITY = 100_000

_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")


def read_json_file(path: str | Path) -> Any:
    """Parse a JSON (or JSON Lines) file, or raise ImportFileError saying where it breaks.

    :raises ImportFileError: missing, unreadable, empty, not UTF-8, not JSON or truncated.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from exc
    if not text.strip():
        raise ImportFileError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ImportFileError(f"{path}: JSON nested too deeply to be an export") from exc
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _json_lines(path, text)
        where = f"line {exc.lineno}, column {exc.colno}"
        # Cut short, a document ends inside a string or where a value or delimiter is due.
        if not text[exc.pos :].strip() or exc.msg.startswith("Unterminated string"):
            raise ImportFileError(f"{path}: the JSON ends early at {where}; the file is truncated") from exc
        raise ImportFileError(f"{path}: not valid JSON at {where} ({exc.msg})") from exc


def _json_lines(path: Path, text: str) -> list:
    """JSON Lines: one record per line."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise ImportFileError(
                f"{path}: neither one JSON document nor JSON Lines: line {number} is not valid "
                f"JSON ({reason}); the file may be truncated"
            ) from exc
    return records


def procedure_records(data: Any, source: str) -> list:
    """The list of procedure records in an export (a list, or an object holding one).

    :raises ImportFileError: no list of records in it.
    """
    if isinstance(data, dict):
        for key in ("procedures", "data", "items", "result"):
            if isinstance(data.get(key), list):
                return data[key]
        raise ImportFileError(
            f"{source}: a JSON object without a list of procedure records "
            "(expected a list, or an object with a 'procedures' list)"
        )
    if not isinstance(data, list):
        raise ImportFileError(f"{source}: expected a list of procedure records, found {kind_of(data)}")
    return data


def kind_of(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


# ---------------------------------------------------------------------------- record values


class ValueReader:
    """Reads the values of one record, collecting warnings about what it leaves out."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def text(self, value: Any, key: str, limit: int | None = None, *, overflow: str = "reject") -> str | None:
        """Text of a value; ``overflow`` says what a text over ``limit`` does: reject the
        record, be ``truncate``d, or be ``drop``ped (both with a warning).

        :raises RecordRejected: not text (nor a number), or too long with overflow="reject".
        """
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise RecordRejected(f"{key} must be text, found {kind_of(value)}")
        value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (from "\ud800" escapes) cannot be stored by any database.
            value = value.encode("utf-8", "replace").decode("utf-8")
            self.warn(f"{key} held invalid characters, replaced by '?'")
        value = value.strip()
        if limit and len(value) > limit:
            if overflow == "reject":
                raise RecordRejected(f"{key} is longer than {limit} characters")
            self.warn(
                f"{key} is longer than {limit} characters; "
                + ("cut short" if overflow == "truncate" else "left out")
            )
            return value[:limit].rstrip() if overflow == "truncate" else None
        return value or None

    def items(self, container: dict, key: str) -> list[dict]:
        """The objects in the list ``container[key]``; other entries are left out with a warning.

        :raises RecordRejected: the value is neither a list nor missing.
        """
        value = container.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise RecordRejected(f"{key} must be a list, found {kind_of(value)}")
        objects = [item for item in value if isinstance(item, dict)]
        if len(objects) < len(value):
            self.warn(f"{key}: {len(value) - len(objects)} entries that are not objects were left out")
        return objects

    def number(self, value: Any, key: str, maximum: float = MAX_QUANTITY) -> float | None:
        """A non-negative number, or None (with a warning unless the value was simply absent).

        :raises RecordRejected: the value is a list or an object.
        """
        if value is None or value == "":
            return None
        if isinstance(value, (list, dict)):
            raise RecordRejected(f"{key} must be a number, found {kind_of(value)}")
        number: float | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, (int, float)):
            number = value
        elif isinstance(value, str):
            cleaned = value.strip().replace(" ", "")
            # Vietnamese writes 10.000 for ten thousand and 1,5 for one and a half.
            cleaned = cleaned.replace(".", "") if _THOUSANDS.match(cleaned) else cleaned.replace(",", ".")
            try:
                number = float(cleaned)
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            self.warn(f"{key} {str(value)[:40]!r} is not a number; left out")
            return None
        if number < 0:
            self.warn(f"{key} {number:g} is negative; left out")
            return None
        if number > maximum:
            self.warn(f"{key} {number:g} is implausibly large; left out")
            return None
        return number
