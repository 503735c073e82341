"""Back-office forms (Flask-WTF: every POST carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.staff.roles import ROLE_LABELS, ROLES


class StaffSignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField(
        _l("Six-digit code from your authenticator app"), validators=[DataRequired(), Length(max=12)]
    )


class StaffCreateForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[(r, ROLE_LABELS[r]) for r in ROLES], validators=[DataRequired()])
    agencies = StringField(
        _l("Agency codes (agency officers; separate with commas)"), validators=[Optional(), Length(max=1000)]
    )
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=1024)])


class StaffEditForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[(r, ROLE_LABELS[r]) for r in ROLES], validators=[DataRequired()])
    agencies = StringField(
        _l("Agency codes (agency officers; separate with commas)"), validators=[Optional(), Length(max=1000)]
    )
    is_active = BooleanField(_l("May sign in"))


class PasswordChangeForm(FlaskForm):
    """A staff member changes their own password (the policy is checked by the service)."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            Length(max=1024),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )


class ActionForm(FlaskForm):
    """Only the CSRF token: for actions behind a button."""
