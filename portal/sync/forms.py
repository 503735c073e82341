"""Back-office forms of partner sync (Flask-WTF: every POST carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.sync.partners import CODE_PATTERN


class ActionForm(FlaskForm):
    """Only the CSRF token: for actions behind a button."""


class RetrySelectedForm(FlaskForm):
    # Choices are the ids on the page; the service checks each against the staff's scope.
    ids = SelectMultipleField(_l("Deliveries"), validate_choice=False)

    def validate_ids(self, field):
        if not [i for i in field.data or [] if i]:
            raise ValidationError(_l("Select at least one delivery to retry."))


class PartnerCreateForm(FlaskForm):
    code = StringField(
        _l("Partner code (its agency code)"),
        validators=[
            DataRequired(_l("Enter the partner's agency code.")),
            Regexp(CODE_PATTERN, message=_l("Enter an agency code such as H56 or 000.00.00.G17.")),
        ],
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=300)])
    base_url = StringField(
        _l("Outbound address (deliveries go to <address>/dossiers; empty: the partner reads the feed)"),
        validators=[
            Optional(),
            Length(max=500),
            Regexp(
                r"^https?://[^\s?#]+$",
                message=_l("Enter an http(s) address without a query or fragment."),
            ),
        ],
    )


class SwitchForm(FlaskForm):
    active = HiddenField(validators=[DataRequired(), Regexp(r"^(on|off)$")])
