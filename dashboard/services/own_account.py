"""Checks of a signed-in user's current password (to change their email or password), counted
against the sign-in throttle: a stolen session can't be used to guess the password faster
than the sign-in form allows."""
from __future__ import annotations

import math

from sqlalchemy.exc import IntegrityError, OperationalError

from dashboard.db import Database
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import accounts, login_throttle
from models import User

WRONG_PASSWORD = "Your current password is not right"


def _wait_text(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    return f"{seconds} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"


def begin_throttled(db: Database, limit_or_ident, address: str) -> login_throttle.Attempt:
    """A throttled attempt in its own transaction (so a refused or failed one stays counted
    whatever the caller's transaction does); once more if it collided with another attempt.
    ``limit_or_ident``: a ``login_throttle.Limit`` for a per-address form, else the account."""
    for tries in (1, 2):
        try:
            with db.session() as s:
                if isinstance(limit_or_ident, login_throttle.Limit):
                    return login_throttle.begin_at_address(s, limit_or_ident, address)
                return login_throttle.begin(s, limit_or_ident, address, {})
        except (IntegrityError, OperationalError):
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def settle(db: Database, attempt: login_throttle.Attempt, succeeded: bool) -> None:
    with db.session() as s:
        login_throttle.settle(s, attempt, succeeded)


def refused_message(attempt: login_throttle.Attempt) -> str:
    return f"Too many failed attempts. Try again in {_wait_text(attempt.wait)}."


def verify_current_password(db: Database, user_id: int, password: str, address: str) -> None:
    """Nothing when ``password`` is the user's; Invalid when wrong, Forbidden while throttled."""
    with db.session() as s:
        user = s.get(User, user_id)
        if user is None or not user.is_active_user:
            raise NotFound("Account not found")
        username = user.username
    attempt = begin_throttled(db, username, address)
    if attempt.refused:
        raise Forbidden(refused_message(attempt))
    with db.session() as s:
        ok = accounts.check_password(s.get(User, user_id), password)
        login_throttle.settle(s, attempt, succeeded=ok)
    if not ok:
        raise Invalid(WRONG_PASSWORD)
