"""Who may use a web UI: a username and password from the environment, checked in constant time.

Shared by ``loadrec ui`` and the Locust web UI of a stock ``locust -f`` run; read without
loading Flask or Locust (the command line checks it before anything starts).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

USERNAME_ENV, PASSWORD_ENV = "LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"
BAD_LOGIN = "Invalid username or password"


def login_configured() -> bool:
    return bool(os.environ.get(USERNAME_ENV)) and bool(os.environ.get(PASSWORD_ENV))


def configured_username() -> str:
    return os.environ.get(USERNAME_ENV, "")


def credentials_match(username: str, password: str) -> bool:
    """Both match the environment's (compared in constant time, so timing tells nothing)."""
    wanted_user, wanted_password = configured_username(), os.environ.get(PASSWORD_ENV, "")
    if not wanted_user or not wanted_password:
        return False
    same_user = hmac.compare_digest(username.encode(), wanted_user.encode())
    same_password = hmac.compare_digest(password.encode(), wanted_password.encode())
    return same_user and same_password


def is_loopback(host: str) -> bool:
    """``host`` (a name or an address, IPv6 with or without brackets) is this machine's loopback."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
