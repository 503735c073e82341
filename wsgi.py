"""The gunicorn entry point: ``gunicorn wsgi:app``."""

from dotenv import load_dotenv

load_dotenv()

from portal import create_app  # noqa: E402

app = create_app()
