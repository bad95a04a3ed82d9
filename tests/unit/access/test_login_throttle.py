"""The web logins' throttle (engine/access/login.py) with an injected clock: at most MAX_FAILURES wrong guesses
per address in WINDOW_S, then that address waits, its guesses unchecked; other addresses are not slowed."""

from __future__ import annotations

import pytest

from loadrec.engine.access import login
from loadrec.engine.access.login import (
    BAD_LOGIN,
    MAX_FAILURES,
    PASSWORD_ENV,
    USERNAME_ENV,
    WINDOW_S,
    LoginThrottle,
    client_of,
    form_login,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USERNAME_ENV, "ops")
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")


def test_wrong_guesses_up_to_the_budget_cost_nothing_then_the_address_waits_out_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for guess in range(MAX_FAILURES):
        assert throttle.wait_s("203.0.113.9") == 0.0, guess
        throttle.failed("203.0.113.9")
        clock.now += 1.0
    # the first failure was at 1000 s, the budget spent at 1009 s: free again once it is WINDOW_S old
    assert throttle.wait_s("203.0.113.9") == 1000.0 + WINDOW_S - clock.now
    assert throttle.wait_s("198.51.100.7") == 0.0  # another address is not slowed
    clock.now = 1000.0 + WINDOW_S
    assert throttle.wait_s("203.0.113.9") == 0.0  # one guess again: the oldest failure left the window
    throttle.failed("203.0.113.9")
    assert throttle.wait_s("203.0.113.9") == pytest.approx(1.0)  # the next oldest (1001 s) leaves 1 s later


def test_a_success_forgets_the_address_s_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(MAX_FAILURES - 1):
        throttle.failed("203.0.113.9")
    throttle.succeeded("203.0.113.9")
    throttle.failed("203.0.113.9")
    assert throttle.wait_s("203.0.113.9") == 0.0


def test_a_flood_of_addresses_is_bounded_by_forgetting_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login, "MAX_ADDRESSES", 3)
    throttle = LoginThrottle(Clock())
    for address in ("a", "b", "c", "d"):
        for _ in range(MAX_FAILURES):
            throttle.failed(address)
    assert [throttle.wait_s(a) > 0 for a in ("a", "b", "c", "d")] == [False, True, True, True]
    assert len(throttle._failures) == 3


def test_a_form_login_says_why_and_once_throttled_refuses_even_the_right_password() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    assert form_login(throttle, "203.0.113.9", "ops", "s3cret-pass") is None
    for _ in range(MAX_FAILURES):
        assert form_login(throttle, "203.0.113.9", "ops", "guess") == BAD_LOGIN
    clock.now += 10.0
    refused = form_login(throttle, "203.0.113.9", "ops", "s3cret-pass")
    assert refused == f"Too many failed logins from your address: try again in {int(WINDOW_S - 10)} s"
    assert form_login(throttle, "198.51.100.7", "ops", "s3cret-pass") is None
    clock.now += WINDOW_S
    assert form_login(throttle, "203.0.113.9", "ops", "s3cret-pass") is None


def test_a_client_is_its_ipv4_address_or_its_ipv6_slash_64() -> None:
    throttle = LoginThrottle(Clock())
    for index in range(MAX_FAILURES):  # a new address of the same /64 for each guess
        throttle.failed(f"2001:db8:1:2::{index + 1:x}")
    assert throttle.wait_s("2001:db8:1:2:ffff::1") > 0
    assert throttle.wait_s("2001:db8:1:3::1") == 0.0  # the next /64 is another client
    for _ in range(MAX_FAILURES):
        throttle.failed("::ffff:203.0.113.9")  # IPv4-mapped, as a dual-stack socket reports it
    assert throttle.wait_s("203.0.113.9") > 0
    assert client_of("not an address") == "not an address"
