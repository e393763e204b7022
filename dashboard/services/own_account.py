"""Checks of a signed-in user's current password (to change their email or password), counted
against the sign-in throttle: a stolen session can't be used to guess the password faster
than the sign-in form allows."""
from __future__ import annotations

import math


from dashboard.db import Database
from dashboard.errors import Forbidden, Invalid, NotFound
from dashboard.services import accounts, login_throttle
from models import User

WRONG_PASSWORD = "Your current password is not right"


def _wait_text(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    return f"{seconds} seconds" if seconds < 90 else f"{round(seconds / 60)} minutes"


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
    attempt = login_throttle.begin_in_own_transaction(db, username, address)
    if attempt.refused:
        raise Forbidden(refused_message(attempt))
    with db.session() as s:
        ok = accounts.check_password(s.get(User, user_id), password)
        login_throttle.settle(s, attempt, succeeded=ok)
    if not ok:
        raise Invalid(WRONG_PASSWORD)
