"""Flask-WTF forms of payments: the citizen's one button (CSRF only)."""

from flask_wtf import FlaskForm


class PayForm(FlaskForm):
    """Start paying what a dossier owes."""
