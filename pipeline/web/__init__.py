"""The console: the reconciliation in a browser, behind logins, roles and an audit trail.

``reunify web`` serves :func:`pipeline.web.app.create_app` under uvicorn. Pages are rendered on
the server (Jinja2, autoescaped) beside a JSON API; the one script is shipped in ``static/``
under a Content Security Policy without inline scripts.
"""
