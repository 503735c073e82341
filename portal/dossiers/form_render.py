"""The filing form: an online service's JSON Schema as fields for the draft page, and the
posted HTML form back into the JSON that schema describes.

Input names are the fields' paths joined by ``/`` (``applicant_address/street``): the paths
the service's validation errors name (``portal.dossiers.validation``), so an error finds
its field without a lookup table. Document slots are ``documents/<key>`` in the same way.

Parsing keeps what was typed: a number that is not one stays text, so the draft keeps it
and filing reports it next to its field; a blank answer is kept blank (``""``), which
filing reads as not given. Nothing here reads the database: the provinces of the address
picker are passed in.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from services_catalog.normalize import fold

SEP = "/"
DOCUMENTS = "documents"
MAX_NUMBER_CHARS = 15  # longer digit strings are not a count anyone types; kept as text

# Browsers can fill these in for the applicant (not for a child or a spouse).
AUTOCOMPLETE = {
    "applicant_name": "name",
    "applicant_birth_date": "bday",
    "applicant_phone": "tel",
    "applicant_email": "email",
    "applicant_address/province": "address-level1",
    "applicant_address/commune": "address-level2",
    "applicant_address/street": "street-address",
}

_DIGITS = re.compile(r"\^\[0-9\]\{(\d+)(?:,(\d+))?\}\$")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


# ------------------------------------------------------------------------------ naming


def field_id(path: str) -> str:
    """The HTML id of a field's input: ``f-applicant_address-street``."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def document_path(key: str) -> str:
    return f"{DOCUMENTS}{SEP}{key}"


def document_id(key: str) -> str:
    return "doc-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)


def _english(lang: str | None) -> bool:
    if lang is None:
        locale = get_locale()
        return locale is not None and locale.language == "en"
    return lang == "en"


def title(schema: dict, name: str, lang: str | None = None) -> str:
    """A field's label in the page's language (the other language, then its name, if missing)."""
    if _english(lang):
        return schema.get("x-title-en") or schema.get("title") or name
    return schema.get("title") or schema.get("x-title-en") or name


def _enum_title(schema: dict, value: Any, lang: str | None) -> str:
    primary, other = (
        ("x-enum-titles-en", "x-enum-titles") if _english(lang) else ("x-enum-titles", "x-enum-titles-en")
    )
    for key in (primary, other):
        titles = schema.get(key) or {}
        if str(value) in titles:
            return str(titles[str(value)])
    return str(value)


def _ordered(schema: dict) -> list[str]:
    properties = schema.get("properties") or {}
    order = [name for name in schema.get("x-order") or [] if name in properties]
    return order + [name for name in properties if name not in order]


# ------------------------------------------------------------------------------- hints


def pattern_hint(pattern: str | None) -> str | None:
    """Words for a field's pattern, or None when it has none worth saying.

    A regular expression is never shown to people: patterns the forms use have words
    here, and any other one gets no hint (its error message says the format is wrong).
    """
    if not pattern:
        return None
    known = {
        "^(\\+84|0)[0-9]{9,10}$": _("Starts with 0 or +84, for example 0912345678."),
        "^[0-9]{10}([0-9]{3})?$": _("10 or 13 digits."),
        "^[A-Za-z0-9]{6,20}$": _("6 to 20 letters or digits, no spaces."),
    }
    if pattern in known:
        return known[pattern]
    digits = _DIGITS.fullmatch(pattern)
    if digits:
        low, high = digits.group(1), digits.group(2)
        if high is None or high == low:
            return _("%(num)s digits.", num=low)
        return _("%(low)s to %(high)s digits.", low=low, high=high)
    return None


def _hint(schema: dict, kind: str) -> str | None:
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if kind == "integer" and low is not None and high is not None:
            return _("A whole number from %(low)s to %(high)s.", low=low, high=high)
        if kind == "integer":
            return _("A whole number.")
        return None
    hint = pattern_hint(schema.get("pattern"))
    if hint:
        return hint
    if schema.get("x-widget") == "textarea" and schema.get("minLength"):
        return _("At least %(num)d characters.", num=schema["minLength"])
    return None


# ----------------------------------------------------------------------------- describe


def _kind(schema: dict) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in schema:
        return "enum"
    return kind or "string"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if not isinstance(value, (dict, list)) else ""


def _province_sort_key(province: dict) -> tuple[str, str]:
    # "Thành phố Hà Nội" is looked for under H, with "Tỉnh Hà Tĩnh", not after every city.
    name = province["name"]
    kind = (province.get("kind") or "").strip()
    bare = name[len(kind) :].strip() if kind and fold(name).startswith(fold(kind) + " ") else name
    return fold(bare), name


def province_options(provinces: list[dict]) -> list[dict]:
    """The provinces as choices (value: the province code), in alphabetical order of their
    names without "Tỉnh" or "Thành phố"."""
    return [{"value": p["code"], "label": p["name"]} for p in sorted(provinces, key=_province_sort_key)]


class _Describer:
    def __init__(self, errors: dict[str, list[str]], provinces: list[dict], lang: str | None) -> None:
        self.errors = errors
        self.provinces = provinces
        self.lang = lang
        self.anchors: dict[str, str] = {}

    def fields(self, schema: dict, data: Any, prefix: str = "", required_here: bool = True) -> list[dict]:
        data = data if isinstance(data, dict) else {}
        required = set(schema.get("required") or []) if required_here else set()
        described = []
        for name in _ordered(schema):
            sub = (schema.get("properties") or {})[name]
            if not isinstance(sub, dict) or _kind(sub) == "array":
                continue  # no form uses lists; an unknown shape is left out rather than guessed
            path = f"{prefix}{name}"
            described.append(
                self.field(
                    sub, name, path, data, name in required, address=schema.get("x-widget") == "address"
                )
            )
        return described

    def field(self, schema: dict, name: str, path: str, data: dict, required: bool, *, address: bool) -> dict:
        kind = _kind(schema)
        field = {
            "name": path,
            "id": field_id(path),
            "label": title(schema, name, self.lang),
            "required": required,
            "errors": list(self.errors.get(path, [])),
            "hint": None,
            "attrs": {},
        }
        self.anchors[path] = field["id"]
        if kind == "object":
            children = self.fields(schema, data.get(name), prefix=path + SEP, required_here=required)
            if children:
                self.anchors[path] = children[0]["id"]
            return {**field, "widget": "group", "children": children}
        present = name in data
        value = data.get(name) if present else schema.get("default")
        if address and name == "province" and self.provinces:
            options = province_options(self.provinces)
            known = {o["value"] for o in options}
            if value not in (None, "") and _text(value) not in known:  # a code no longer in use
                options.append({"value": _text(value), "label": _text(value)})
            return {
                **field,
                "widget": "select",
                "value": _text(value),
                "options": options,
                "attrs": {"autocomplete": AUTOCOMPLETE.get(path)},
            }
        if kind == "enum":
            options = [
                {"value": _text(v), "label": _enum_title(schema, v, self.lang)} for v in schema["enum"]
            ]
            return {**field, "widget": "select", "value": _text(value), "options": options}
        if kind == "boolean":
            return {**field, "widget": "checkbox", "checked": value is True, "required": False}
        attrs: dict[str, Any] = {"autocomplete": AUTOCOMPLETE.get(path)}
        if schema.get("maxLength"):
            attrs["maxlength"] = schema["maxLength"]
        widget, input_type = "input", "text"
        if kind == "integer":
            attrs["inputmode"] = "numeric"
        elif kind == "number":
            attrs["inputmode"] = "decimal"
        elif schema.get("format") == "date":
            # A date picker shows an answer that is not a date as empty: show it as typed.
            input_type = "date" if not present or _ISO_DATE.fullmatch(_text(value)) or value == "" else "text"
        elif schema.get("format") in ("email", "idn-email"):
            input_type, attrs["spellcheck"] = "email", "false"
        elif name.endswith("_phone"):
            input_type = "tel"
        elif schema.get("x-widget") == "textarea":
            widget = "textarea"
        if _DIGITS.fullmatch(schema.get("pattern") or ""):
            attrs["inputmode"] = "numeric"
        hint = (
            _("Year, month and day, for example 1990-05-17.")
            if input_type == "text" and schema.get("format") == "date"
            else _hint(schema, kind)
        )
        return {
            **field,
            "widget": widget,
            "type": input_type,
            "value": _text(value),
            "hint": hint,
            "attrs": {k: v for k, v in attrs.items() if v},
        }


def errors_by_field(details: list[dict]) -> dict[str, list[str]]:
    """A service's validation details as {field path: [messages]} (``""``: the whole form)."""
    found: dict[str, list[str]] = {}
    for item in details:
        found.setdefault(item.get("field") or "", []).append(item.get("message") or "")
    return found


def describe(
    schema: dict,
    data: dict,
    *,
    errors: list[dict] | None = None,
    provinces: list[dict] | None = None,
    lang: str | None = None,
) -> dict:
    """The form as fields for the template, with the error summary.

    Returns {"fields": [...], "summary": [{"message", "href"}]}. A field is {"name",
    "id", "label", "required", "errors", "hint", "attrs", "widget"} and by widget:
    ``input`` ("type", "value"), ``textarea`` ("value"), ``select`` ("value",
    "options": [{"value", "label"}]), ``checkbox`` ("checked"), ``group`` ("children").
    The summary keeps the errors' order and links each to its field or document slot
    (``href`` None for an error about the whole form).
    """
    errors = errors or []
    describer = _Describer(errors_by_field(errors), provinces or [], lang)
    fields = describer.fields(schema or {}, data or {})
    summary = []
    for item in errors:
        path = item.get("field") or ""
        if path.startswith(DOCUMENTS + SEP):
            href = "#" + document_id(path[len(DOCUMENTS + SEP) :])
        else:
            href = "#" + describer.anchors[path] if path in describer.anchors else None
        summary.append({"message": item.get("message") or "", "href": href})
    return {"fields": fields, "summary": summary}


def document_slots(
    documents: list[dict], catalog_documents: list[dict], errors: list[dict] | None = None
) -> list[dict]:
    """The draft's documents (``queries.get_draft``) with what the catalog says of each
    (originals, copies, templates), their anchors and their errors, grouped by case.

    Returns [{"case", "items": [slot]}]: consecutive documents of one case together, in the
    catalog's order; notes stay in place, as notes.
    """
    by_key = {d.get("key"): d for d in catalog_documents or []}
    messages = errors_by_field(errors or [])
    groups: list[dict] = []
    for document in documents:
        listed = by_key.get(document["key"], {})
        slot = {
            **document,
            "id": document_id(document["key"]),
            "originals": listed.get("originals") or 0,
            "copies": listed.get("copies") or 0,
            "templates": listed.get("templates") or [],
            "errors": messages.get(document_path(document["key"]), []),
        }
        case = (document.get("case") or "").strip()
        if not groups or groups[-1]["case"] != case:
            groups.append({"case": case, "items": []})
        groups[-1]["items"].append(slot)
    return groups


# -------------------------------------------------------------------------------- parse


def _number(unsafe: str, kind: str) -> Any:
    text = unsafe.strip()
    if not text or len(text) > MAX_NUMBER_CHARS:
        return unsafe
    if _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _DECIMAL.fullmatch(text):
        value = float(text.replace(",", "."))
        return value if math.isfinite(value) else unsafe
    return unsafe


def _enum_value(schema: dict, unsafe: str) -> Any:
    for option in schema.get("enum") or []:
        if _text(option) == unsafe:
            return option
    return unsafe


def parse(schema: dict, unsafe_form) -> dict:
    """The answers of a posted draft form (a MultiDict), shaped as ``schema`` describes.

    Only the schema's fields are read. Text is kept as typed; whole numbers and decimals
    become numbers when they are numbers (``1,5`` too), else stay text; a checkbox is True
    when sent and False when not; a choice becomes the schema's own value. The result
    still has to pass ``service.save_draft``.
    """
    return _parse_object(schema or {}, unsafe_form, "")


def _parse_object(schema: dict, unsafe_form, prefix: str) -> dict:
    answers: dict[str, Any] = {}
    for name in _ordered(schema):
        sub = (schema.get("properties") or {})[name]
        if not isinstance(sub, dict):
            continue
        path = f"{prefix}{name}"
        kind = _kind(sub)
        if kind == "object":
            answers[name] = _parse_object(sub, unsafe_form, path + SEP)
        elif kind == "boolean":
            answers[name] = path in unsafe_form
        elif kind == "array":
            continue
        else:
            unsafe = unsafe_form.get(path, "")
            unsafe = unsafe.replace("\r\n", "\n") if isinstance(unsafe, str) else ""
            if kind in ("integer", "number"):
                answers[name] = _number(unsafe, kind)
            elif kind == "enum":
                answers[name] = _enum_value(sub, unsafe)
            else:
                answers[name] = unsafe
    return answers
