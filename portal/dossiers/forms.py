"""Forms of the filing pages (Flask-WTF: every POST carries a CSRF token).

The draft's own questions are not a WTForms class: they come from the online service's
JSON Schema (``portal.dossiers.form_render``) and are checked by the service.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class FilingForm(FlaskForm):
    """Nothing but its CSRF token: for Start, Save, Submit, Discard and Remove buttons."""


class UploadForm(FlaskForm):
    """One file for one document slot of a draft."""

    document_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to attach."))])
