"""Feedback forms (Flask-WTF: every POST carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

CATEGORY_LABELS = {
    "dossier": _l("About a dossier"),
    "conduct": _l("About an agency or an official's conduct"),
    "regulation": _l("About a regulation"),
    "portal": _l("About the portal"),
}
STATUS_LABELS = {
    "unconfirmed": _l("Not confirmed yet"),
    "new": _l("Received"),
    "open": _l("Being handled"),
    "waiting": _l("Waiting for your information"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
}
CATEGORY_CHOICES = [(k, v) for k, v in CATEGORY_LABELS.items()]


class FeedbackForm(FlaskForm):
    category = SelectField(_l("What is it about?"), choices=CATEGORY_CHOICES, validators=[DataRequired()])
    dossier_code = StringField(_l("Dossier code (if any)"), validators=[Optional(), Length(max=64)])
    procedure_code = StringField(_l("Procedure code (if any)"), validators=[Optional(), Length(max=64)])
    agency_code = StringField(_l("Agency code (if any)"), validators=[Optional(), Length(max=32)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    content = TextAreaField(_l("Content"), validators=[DataRequired(), Length(max=10_000)])
    attachment = FileField(_l("Attachment (PDF, PNG or JPEG, optional)"))
    contact_name = StringField(_l("Full name"), validators=[Optional(), Length(max=100)])
    contact_email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    contact_phone = TelField(_l("Phone number"), validators=[Optional(), Length(max=20)])


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Your message"), validators=[DataRequired(), Length(max=5_000)])


class ActionForm(FlaskForm):
    """Only the CSRF token: for actions behind a button."""


class ReplyForm(FlaskForm):
    # Its own id: the reply and the note share the ticket page, and ids must be unique there.
    body = TextAreaField(
        _l("Reply to the citizen"), validators=[DataRequired(), Length(max=10_000)], id="reply-body"
    )
    then = SelectField(
        _l("Then"),
        choices=[("answered", _l("Mark as answered")), ("waiting", _l("Wait for the citizen"))],
        validators=[DataRequired()],
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Internal note (staff only)"), validators=[DataRequired(), Length(max=10_000)], id="note-body"
    )


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assign to"), coerce=str, validators=[Optional()])


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=[(k, v) for k, v in STATUS_LABELS.items() if k != "unconfirmed"],
        validators=[DataRequired()],
    )


class NumberForm(FlaskForm):
    number = StringField(_l("Ticket number"), validators=[DataRequired(), Length(max=24)])


class ForwardForm(FlaskForm):
    agency_code = StringField(_l("Agency code"), validators=[DataRequired(), Length(max=32)])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=1000)])


class CallForm(FlaskForm):
    caller_name = StringField(_l("Caller's name"), validators=[DataRequired(), Length(max=100)])
    caller_phone = TelField(_l("Phone number"), validators=[Optional(), Length(max=20)])
    category = SelectField(_l("What is it about?"), choices=CATEGORY_CHOICES, validators=[DataRequired()])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=10_000)])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), default=0, validators=[Optional(), NumberRange(0, 600)]
    )
    make_ticket = BooleanField(_l("Turn into a ticket"))
    ticket_number = StringField(_l("Or attach to ticket number"), validators=[Optional(), Length(max=24)])


class CannedForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=10_000)])
    category = SelectField(
        _l("Category"), choices=[("", _l("Any"))] + CATEGORY_CHOICES, validators=[Optional()]
    )
    active = BooleanField(_l("In use"), default=True)


class PublicationForm(FlaskForm):
    question_title = StringField(_l("Question title"), validators=[DataRequired(), Length(max=200)])
    question = TextAreaField(_l("Question"), validators=[DataRequired(), Length(max=10_000)])
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=10_000)])
    note = StringField(_l("Review note"), validators=[Optional(), Length(max=500)])
