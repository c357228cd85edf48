"""Flask-SQLAlchemy: ``db = XRayFlaskSqlAlchemy(app)`` records the ORM calls as the SQLAlchemy helpers do.

Works with Flask-SQLAlchemy 3 (upstream's needs Flask-SQLAlchemy <= 2.5 and SQLAlchemy < 2).
"""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.query import Query as FlaskQuery
from flask_sqlalchemy.session import Session as FlaskSession

from ..sqlalchemy.query import XRayQuery, XRaySession


class XRayBaseQuery(FlaskQuery, XRayQuery):
    """Flask-SQLAlchemy's query (``paginate``, ``first_or_404``...) with recorded database calls."""


class XRaySignallingSession(FlaskSession, XRaySession):
    """Flask-SQLAlchemy's session (bind keys per model) with recorded database calls."""


class XRayFlaskSqlAlchemy(SQLAlchemy):
    """``SQLAlchemy`` whose sessions and queries are recorded."""

    def __init__(self, app=None, *, session_options=None, query_class=XRayBaseQuery, **kwargs):  # type: ignore[no-untyped-def]
        options = dict(session_options or {})
        options.setdefault("class_", XRaySignallingSession)
        super().__init__(app, session_options=options, query_class=query_class, **kwargs)
