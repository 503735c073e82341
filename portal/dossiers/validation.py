"""Filing forms: keeping a draft's answers, and checking them against the form's JSON Schema.

A draft keeps whatever the citizen typed, limited to the fields the form has and to a
size; only filing checks it whole (draft 2020-12, with formats). Problems are reported one
per field, in the citizen's language, in words written here for each kind of rule: the raw
text of jsonschema is never shown.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from jsonschema import Draft202012Validator, FormatChecker

from portal.errors import ValidationFailed

DEFAULT_DRAFT_MAX_BYTES = 64 * 1024


def field_error(field: str, message: str) -> dict:
    return {"error": "ValidationError", "field": field, "message": message}


# ------------------------------------------------------------------------------- drafts


def _known_only(schema: dict, value: Any) -> Any:
    """``value`` without the object keys ``schema`` does not describe (at every depth)."""
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties = schema["properties"]
        return {key: _known_only(properties[key], item) for key, item in value.items() if key in properties}
    return value


def clean_draft(schema: dict, unsafe_form_data: Any) -> dict:
    """What a draft keeps of the citizen's answers: the form's fields, as typed.

    :raises ValidationFailed: not an object (``InvalidForm``), or larger than
        DOSSIER_DRAFT_MAX_BYTES once encoded (``DraftTooLarge``).
    """
    if not isinstance(unsafe_form_data, dict):
        raise ValidationFailed(
            _("The form could not be read. Please reload the page and try again."), token="InvalidForm"
        )
    kept = _known_only(schema, unsafe_form_data)
    limit = int(current_app.config.get("DOSSIER_DRAFT_MAX_BYTES", DEFAULT_DRAFT_MAX_BYTES))
    try:
        encoded = json.dumps(kept, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("The form could not be read. Please reload the page and try again."), token="InvalidForm"
        ) from None
    if len(encoded) > limit:
        raise ValidationFailed(
            _("The form is too long to be saved. Shorten the longest answers."), token="DraftTooLarge"
        )
    return kept


def clean_for_filing(value: Any) -> Any:
    """Answers as filed: text trimmed; blank answers left out, as if never given."""
    if isinstance(value, dict):
        cleaned = {key: clean_for_filing(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if item not in ("", None, {})}
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [clean_for_filing(item) for item in value]
    return value


# ----------------------------------------------------------------------------- messages


def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def _title(schema: dict | None, name: str) -> str:
    if not schema:
        return name
    if _english():
        return schema.get("x-title-en") or schema.get("title") or name
    return schema.get("title") or schema.get("x-title-en") or name


def _label(schema: dict, path: list) -> str:
    """The field's title in the citizen's language, its group's title before it."""
    titles, node = [], schema
    for part in path:
        node = (
            ((node or {}).get("properties") or {}).get(part)
            if isinstance(part, str)
            else (node or {}).get("items")
        )
        if isinstance(part, str):
            titles.append(_title(node, part))
    return ": ".join(titles[-2:]) if titles else _("The form")


def _enum_choices(schema: dict) -> str:
    key = "x-enum-titles-en" if _english() else "x-enum-titles"
    titles = schema.get(key) or schema.get("x-enum-titles") or {}
    return ", ".join(str(titles.get(str(v), v)) for v in schema.get("enum", []))


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _type_message(field: str, expected: Any) -> str:
    expected = expected[0] if isinstance(expected, list) and expected else expected
    if expected == "string":
        return _("%(field)s: enter text.", field=field)
    if expected == "integer":
        return _("%(field)s: enter a whole number.", field=field)
    if expected == "number":
        return _("%(field)s: enter a number.", field=field)
    if expected == "boolean":
        return _("%(field)s: choose yes or no.", field=field)
    if expected == "object":
        return _("%(field)s: fill in each part of this group.", field=field)
    if expected == "array":
        return _("%(field)s: choose from the list.", field=field)
    return _("%(field)s: the value is not valid.", field=field)


def _message(error, field: str) -> str:
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        return _("%(field)s: this information is required.", field=field)
    if keyword == "pattern":
        return _("%(field)s: the format is not valid.", field=field)
    if keyword == "format":
        if expected == "date":
            return _("%(field)s: enter a date as YYYY-MM-DD.", field=field)
        if expected in ("email", "idn-email"):
            return _("%(field)s: enter a valid e-mail address.", field=field)
        return _("%(field)s: the format is not valid.", field=field)
    if keyword == "minLength":
        return _("%(field)s: enter at least %(num)d characters.", field=field, num=expected)
    if keyword == "maxLength":
        return _("%(field)s: enter at most %(num)d characters.", field=field, num=expected)
    if keyword in ("enum", "const"):
        return _("%(field)s: choose one of %(choices)s.", field=field, choices=_enum_choices(error.schema))
    if keyword == "type":
        return _type_message(field, expected)
    if keyword == "minimum":
        return _("%(field)s: must be at least %(num)s.", field=field, num=_number(expected))
    if keyword == "maximum":
        return _("%(field)s: must be at most %(num)s.", field=field, num=_number(expected))
    if keyword == "exclusiveMinimum":
        return _("%(field)s: must be more than %(num)s.", field=field, num=_number(expected))
    if keyword == "exclusiveMaximum":
        return _("%(field)s: must be less than %(num)s.", field=field, num=_number(expected))
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return _("%(field)s: contains information this form does not ask for.", field=field)
    return _("%(field)s: the value is not valid.", field=field)


# ---------------------------------------------------------------------------- checking


def form_errors(schema: dict, data: dict) -> list[dict]:
    """One error per field whose answer breaks the form's schema, in the form's field order.

    ``field`` is the path of the field inside the form joined by ``/`` (``applicant_name``,
    ``applicant_address/street``); an error about the form as a whole has ``field`` "".
    """
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    found: dict[str, dict] = {}
    for error in validator.iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                field = "/".join(str(p) for p in [*path, name])
                found.setdefault(field, field_error(field, _message(error, _label(schema, [*path, name]))))
            continue
        field = "/".join(str(p) for p in path)
        found.setdefault(field, field_error(field, _message(error, _label(schema, path))))
    order = {
        name: index for index, name in enumerate(schema.get("x-order") or list(schema.get("properties", {})))
    }
    return sorted(found.values(), key=lambda e: (order.get(e["field"].split("/")[0], len(order)), e["field"]))
