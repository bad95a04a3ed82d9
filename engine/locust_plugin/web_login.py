"""The web UI's login: a username and password from the environment, checked in constant time."""

from __future__ import annotations

import hmac
import os
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `loadrec` reads the variables below without loading Locust
    from locust.env import Environment

USERNAME_ENV, PASSWORD_ENV = "LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"


def login_configured() -> bool:
    return bool(os.environ.get(USERNAME_ENV)) and bool(os.environ.get(PASSWORD_ENV))


def install_login(environment: Environment) -> None:
    from flask import redirect, request, session, url_for
    from flask_login import UserMixin, login_user

    web_ui = environment.web_ui
    assert web_ui is not None and web_ui.app is not None
    username, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    # Flask signs the login session with this; a fresh one per process logs everyone out on restart.
    web_ui.app.secret_key = secrets.token_bytes(32)

    class WebUser(UserMixin):
        def __init__(self, name: str) -> None:
            self.id = name

    @web_ui.login_manager.user_loader
    def load_user(user_id: str) -> WebUser | None:
        return WebUser(user_id) if username and user_id == username else None

    web_ui.auth_args = {"username_password_callback": "/loadrec/login"}

    @web_ui.app.route("/loadrec/login", methods=["POST"])
    def loadrec_login() -> Any:
        given_user, given_password = request.form.get("username", ""), request.form.get("password", "")
        if username and hmac.compare_digest(given_user, username) and hmac.compare_digest(given_password, password):
            login_user(WebUser(username))
            return redirect(url_for("locust.index"))
        session["auth_error"] = "Invalid username or password"
        return redirect(url_for("locust.login"))
