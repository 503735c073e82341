"""Account forms (Flask-WTF: every POST carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = TelField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    id_number = StringField(
        _l("Personal ID number (CCCD, 12 digits)"), validators=[Optional(), Length(max=12)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    accept = BooleanField(
        _l("I agree to the terms of use and the processing of my personal data"), validators=[DataRequired()]
    )


class SignInForm(FlaskForm):
    identifier = StringField(
        _l("E-mail, mobile number or ID number"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class EmailForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[Optional(), Length(max=1024)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token: for actions behind a button."""
