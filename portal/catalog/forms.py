"""Back-office forms of the catalog (Flask-WTF: every POST carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class StartImportForm(FlaskForm):
    confirm = BooleanField(
        _l("Import the bundled catalog now (518 procedures, agencies, provinces)"),
        validators=[DataRequired(_l("Tick the box to confirm the import."))],
    )
