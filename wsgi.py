"""WSGI entry point: `gunicorn wsgi:app`."""

from bulletin import create_app

app = create_app()
