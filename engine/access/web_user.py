"""The one user a web UI knows, as Flask-Login wants it: the name in LOADREC_WEB_USERNAME.

Shared by ``loadrec ui`` and stock Locust's web UI (both log in through Flask-Login).
"""

from __future__ import annotations

from flask_login import UserMixin

from loadrec.engine.access.login import configured_username


class WebUser(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


def load_user(user_id: str) -> WebUser | None:
    """The user a session names, while that name is still the configured one."""
    username = configured_username()
    return WebUser(user_id) if username and user_id == username else None
