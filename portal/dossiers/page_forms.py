"""Forms of the pages that follow dossiers and of the public lookup (Flask-WTF: every POST
carries a CSRF token; the list's filters are a GET form without one).

Limits mirror the service's (reason 1000, comment 2000 characters, codes 64) so a person
sees the problem next to the field before the service is asked. Text that reaches the
database is refused when it carries control characters: PostgreSQL cannot store NUL, and
nobody types the others.
"""

from __future__ import annotations

import re
import unicodedata

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from portal.dossiers.statuses import STATUS_NAMES

MAX_REASON = 1000
MAX_COMMENT = 2000
MAX_CODE = 64
MAX_SECRET = 32
MAX_PAGE = 100_000
SUPPLEMENT_PREFIX = "doc-"
_DOCUMENT_KEY = re.compile(r"[0-9a-z]{1,32}")


class PlainText:
    """Refuse control characters (NUL above all); line breaks and tabs pass when ``multiline``."""

    def __init__(self, *, multiline: bool = False):
        self.allowed = {"\n", "\r", "\t"} if multiline else set()

    def __call__(self, form, field):
        value = field.data or ""
        kept = "".join(
            ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cs") or ch in self.allowed
        )
        if kept != value:
            field.data = kept  # what is shown back beside the error carries none of them
            raise ValidationError(_l("This contains characters that cannot be used."))


class DossierFilterForm(FlaskForm):
    """The filters of "My dossiers", read from the query string."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()], validate_choice=True)
    q = StringField(_l("Dossier code"), validators=[Optional(), Length(max=MAX_CODE), PlainText()])
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])

    def __init__(self, lang: str):
        super().__init__(formdata=request.args)
        self.status.choices = [SelectChoice("", _l("All statuses"))] + [
            SelectChoice(str(code), names.get(lang) or names["vi"]) for code, names in STATUS_NAMES.items()
        ]

    def params(self) -> dict:
        """The cleaned filters: {"status": int | None, "q": str, "page": int}."""
        return {
            "status": int(self.status.data) if self.status.data else None,
            "q": (self.q.data or "").strip(),
            "page": self.page.data or 1,
        }


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you want to withdraw this dossier?"),
        validators=[DataRequired(), Length(max=MAX_REASON), PlainText(multiline=True)],
    )
    confirm = BooleanField(
        _l("I understand that a withdrawn dossier is closed and cannot be reopened."),
        validators=[DataRequired(_l("Tick the box to confirm the withdrawal."))],
    )


class SupplementForm(FlaskForm):
    """The requested documents: one file input per document slot, named ``doc-<key>``.

    The slots are the procedure's, so the inputs are written by the template from the
    dossier's documents; the service refuses a key the procedure does not ask for.
    """

    def document_files(self) -> list[tuple[str, object]]:
        """(document key, file) for every input that carries a file."""
        files = []
        for name, storage in request.files.items(multi=True):
            key = name[len(SUPPLEMENT_PREFIX) :] if name.startswith(SUPPLEMENT_PREFIX) else ""
            if _DOCUMENT_KEY.fullmatch(key) and storage and storage.filename:
                files.append((key, storage))
        return files


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token: for an action behind a button."""


class RatingForm(FlaskForm):
    value = RadioField(
        _l("How satisfied are you with how this dossier was handled?"),
        choices=[
            SelectChoice("very_satisfied", _l("Very satisfied")),
            SelectChoice("satisfied", _l("Satisfied")),
            SelectChoice("not_satisfied", _l("Not satisfied")),
        ],
        validators=[InputRequired(_l("Choose how satisfied you are."))],
    )
    comment = TextAreaField(
        _l("Comment (optional)"), validators=[Optional(), Length(max=MAX_COMMENT), PlainText(multiline=True)]
    )


class LookupForm(FlaskForm):
    code = StringField(_l("Dossier code"), validators=[DataRequired(), Length(max=MAX_CODE), PlainText()])
    secret = StringField(
        _l("Applicant's mobile number or ID number"),
        validators=[DataRequired(), Length(max=MAX_SECRET), PlainText()],
    )
