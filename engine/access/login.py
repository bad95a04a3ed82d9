"""Who may use a web UI: a username and password from the environment, checked in constant time, and
at most ``MAX_FAILURES`` wrong guesses per client address in ``WINDOW_S``.

Shared by ``loadrec ui``, the Locust web UI of a stock ``locust -f`` run and the page of
``loadrec serve``; read without loading Flask or Locust (the command line checks it
before anything starts).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import time
from collections import deque
from collections.abc import Callable

USERNAME_ENV, PASSWORD_ENV = "LOADREC_WEB_USERNAME", "LOADREC_WEB_PASSWORD"
BAD_LOGIN = "Invalid username or password"
MAX_FAILURES, WINDOW_S = 10, 300.0  # a password cannot be guessed at network speed
MAX_ADDRESSES = 10_000  # addresses remembered at once: a flood of them cannot fill the memory


def too_many_logins(wait_s: float) -> str:
    return f"Too many failed logins from your address: try again in {math.ceil(wait_s)} s"


class LoginThrottle:
    """Failed logins per client address: after ``MAX_FAILURES`` within ``WINDOW_S``, that address is refused,
    without its guess being checked, until its oldest failure leaves the window. A success forgets the
    address. (Behind a proxy every client shares its address: they share the budget too.)"""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def wait_s(self, address: str) -> float:
        """Seconds until ``address`` may try again (0: now)."""
        address = client_of(address)
        failures = self._failures.get(address)
        if failures is None:
            return 0.0
        now = self.clock()
        while failures and failures[0] <= now - WINDOW_S:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return 0.0
        return failures[0] + WINDOW_S - now if len(failures) >= MAX_FAILURES else 0.0

    def failed(self, address: str) -> None:
        address = client_of(address)
        if address not in self._failures and len(self._failures) >= MAX_ADDRESSES:
            del self._failures[next(iter(self._failures))]  # the address remembered longest
        self._failures.setdefault(address, deque(maxlen=MAX_FAILURES)).append(self.clock())

    def succeeded(self, address: str) -> None:
        self._failures.pop(client_of(address), None)

    def attempt(self, address: str, accepted: Callable[[], bool]) -> float | None:
        """One login from ``address``: None when ``accepted()`` says it is good; else the seconds the address
        must wait before a guess counts again (0: a wrong guess, the next may come now). A throttled address's
        guess is not even checked."""
        if (wait_s := self.wait_s(address)) > 0:
            return wait_s
        if accepted():
            self.succeeded(address)
            return None
        self.failed(address)
        return 0.0


def client_of(address: str) -> str:
    """Who sent a request, for counting its guesses: an IPv4 address (also when written IPv4-mapped), or the
    /64 an IPv6 address lies in (one host is given a whole /64 and could guess from each of its addresses)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


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


def form_login(throttle: LoginThrottle, address: str, username: str, password: str) -> str | None:
    """A login form's POST from ``address``: None when it logs in, else the error to show."""
    wait_s = throttle.attempt(address, lambda: credentials_match(username, password))
    if wait_s is None:
        return None
    return too_many_logins(wait_s) if wait_s > 0 else BAD_LOGIN
