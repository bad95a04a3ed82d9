"""The login of Locust's own web UI (a stock ``locust -f`` run with ``--web-login``), from the environment."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from loadrec.engine.access.login import LoginThrottle, form_login

if TYPE_CHECKING:
    from locust.env import Environment


def install_login(environment: Environment) -> None:
    from flask import redirect, request, session, url_for
    from flask_login import login_user

    from loadrec.engine.access.web_user import WebUser, load_user

    web_ui = environment.web_ui
    assert web_ui is not None and web_ui.app is not None
    # Flask signs the login session with this; a fresh one per process logs everyone out on restart.
    web_ui.app.secret_key = secrets.token_bytes(32)

    web_ui.login_manager.user_loader(load_user)
    web_ui.auth_args = {"username_password_callback": "/loadrec/login"}
    throttle = LoginThrottle()

    @web_ui.app.route("/loadrec/login", methods=["POST"])
    def loadrec_login() -> Any:
        given_user, given_password = request.form.get("username", ""), request.form.get("password", "")
        error = form_login(throttle, request.remote_addr or "", given_user, given_password)
        if error is None:
            login_user(WebUser(given_user))
            return redirect(url_for("locust.index"))
        session["auth_error"] = error
        return redirect(url_for("locust.login"))
