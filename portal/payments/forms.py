"""Flask-WTF forms of payments: the citizen's one button (CSRF only), and the back
office's search, refund and reconciliation forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from portal.payments.models import STATES


class PayForm(FlaskForm):
    """Start paying what a dossier owes."""


STATE_LABELS = {
    "created": _l("Started"),
    "processing": _l("Being processed"),
    "succeeded": _l("Paid"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "partially_refunded": _l("Partly refunded"),
    "refunded": _l("Refunded"),
}


class PaymentSearchForm(FlaskForm):
    """A search (GET): nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    dossier_code = StringField(_l("Dossier code"), validators=[Optional(), Length(max=64)])
    payment_id = IntegerField(
        _l("Payment number"),
        validators=[Optional(), NumberRange(min=1, max=2**62, message=_l("Enter a payment number."))],
    )
    gateway_ref = StringField(_l("Gateway reference"), validators=[Optional(), Length(max=128)])
    state = SelectField(
        _l("State"), choices=[("", _l("Any state"))] + [(s, STATE_LABELS[s]) for s in STATES], default=""
    )
    day_from = DateField(_l("Created from"), validators=[Optional()])
    day_to = DateField(_l("Created until"), validators=[Optional()])

    def validate_day_to(self, field):
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError(_l("The last day comes before the first."))


class RefundForm(FlaskForm):
    scope = RadioField(
        _l("What to refund"),
        choices=[("full", _l("All that is left")), ("partial", _l("Part of it"))],
        validators=[InputRequired(_l("Choose a full or a partial refund."))],
    )
    amount = IntegerField(
        _l("Amount to refund (đồng), for a partial refund"),
        validators=[Optional(), NumberRange(min=1, message=_l("Enter a whole positive number of đồng."))],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(_l("Say why the money is given back.")),
            Length(max=1000, message=_l("At most 1000 characters.")),
        ],
    )
    # What was left to refund when the form was shown: a replay finds it changed.
    expected = HiddenField(validators=[DataRequired()])

    def validate_amount(self, field):
        if self.scope.data == "partial" and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the amount to refund, a whole positive number of đồng."))

    def validate_expected(self, field):
        if not (field.data or "").isdigit() or len(field.data) > 18:
            raise ValidationError(_l("The form is damaged. Please reload the page."))


class ReconcileForm(FlaskForm):
    day_from = DateField(_l("First day"), validators=[InputRequired(_l("Enter the first day."))])
    day_to = DateField(_l("Last day"), validators=[InputRequired(_l("Enter the last day."))])
