"""The Celery side of Reunify: ``celery -A workers worker|beat|flower``."""

from workers.app import app

__all__ = ["app"]
