"""``wirewatch ui``: a small read-only web application over the embedded SQLite store.

Server-rendered pages (Starlette + Jinja2, autoescaped), htmx vendored under
``static/`` for the live list, and a timeline drawn as SVG on the server, so search
and reading work without JavaScript. The store is opened read-only (``mode=ro``) for
each request: the UI can run beside ``wirewatch run`` and never writes.
"""
