"""Sign-in throttling: growing waits, then a lockout, per account and per address, without a
server thread ever sleeping and without locking the real user out.

Each attempt is counted against subjects, each with a limit (``Limit``): after ``free``
recent failures the next attempt must wait 1 minute, then 2, 4, 8 ... (doubling with every
failure, at most ``WINDOW``); at ``lock`` failures the subject is locked for ``WINDOW``.
Failures older than ``WINDOW`` are forgotten. A refused attempt is answered at once, its
password unchecked.

- A browser that has signed in to the account before carries a signed "known device" cookie
  (the OWASP device-cookie approach); its attempts count against that device alone, so
  guessing from elsewhere never locks the account's owner out of their own browsers.
- Any other attempt counts against the account from this address, the address (across
  accounts) and the account (across addresses; this is the cap a distributed guesser meets).

The account is the user's id when it exists, whether typed as a username or as an email, and
the normalised typed name otherwise: an account that doesn't exist is throttled exactly like
one that does. The counts live in the database, so every server process shares them.

An attempt is counted before its password is checked (``begin``), under a lock on its rows,
so parallel guesses can't slip past a limit together; a correct password takes its count back
(``settle``).
"""
from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from dashboard.db import insert_skipping_duplicates
from models import LoginThrottle, User, utcnow

WINDOW = timedelta(minutes=15)
FIRST_WAIT = timedelta(minutes=1)


@dataclass(frozen=True)
class Limit:
    scope: str
    free: int  # failures that cost nothing
    lock: int  # failures that lock the subject for WINDOW


ACCOUNT_AT_ADDRESS = Limit("account-address", 5, 10)
KNOWN_DEVICE = Limit("device", 5, 10)
ADDRESS = Limit("address", 25, 30)
ACCOUNT = Limit("account", 25, 30)
# Password-reset links tried from one address (opening or using an unknown, used or expired
# link is a failure). The links are 256-bit random, so this only keeps guessing from one place slow.
RESET_ADDRESS = Limit("reset-address", 10, 20)
# Sign-up and invitation forms, per address: failed account creations (a taken name or email,
# say) and links that can't be used count like failed sign-ins.
SIGN_UP = Limit("sign-up", 5, 10)
INVITE = Limit("invite", 5, 10)
LIMITS = {limit.scope: limit
          for limit in (ACCOUNT_AT_ADDRESS, KNOWN_DEVICE, ADDRESS, ACCOUNT, RESET_ADDRESS, SIGN_UP, INVITE)}
# Rows that tell an account is throttled (for the unlock button): the ones of its own guessers.
ACCOUNT_SCOPES = (ACCOUNT_AT_ADDRESS.scope, ACCOUNT.scope)

DEVICE_COOKIE = "halley_device"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
DEVICES_PER_BROWSER = 5  # accounts one browser remembers
_DEVICE_SALT = "halley-known-device"

_T = LoginThrottle.__table__.c


def _aware(value: datetime) -> datetime:
    """Datetimes come back naive from SQLite; they are stored in UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def wait_seconds(limit: Limit, failures: int, last_failure_at: datetime | None, now: datetime) -> float:
    """How long a subject with ``failures`` recent failures must wait before its next attempt."""
    if not failures or last_failure_at is None or failures < limit.free:
        return 0.0
    last = _aware(last_failure_at)
    if now - last > WINDOW:
        return 0.0
    pause = WINDOW if failures >= limit.lock else min(FIRST_WAIT * 2 ** (failures - limit.free), WINDOW)
    return max(0.0, (last + pause - now).total_seconds())


def address_subject(address: str) -> str:
    """An IPv4 address as is; IPv6 by its /64 (what one host or site is normally given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def account_subject(session: Session, ident: str) -> tuple[str, int | None]:
    """("u:<id>", id) for an existing account however it is named, else ("n:<name>", None)."""
    from dashboard.services.accounts import find_user

    user = find_user(session, ident)
    if user is not None:
        return f"u:{user.id}", user.id
    return "n:" + (ident or "").strip().lower()[:200], None


# --- known devices ------------------------------------------------------------------------

def read_devices(secret_key: str, raw: str | None) -> dict[int, str]:
    """The accounts (user id -> device token) a browser's signed cookie says it signed in to."""
    if not raw:
        return {}
    try:
        entries = URLSafeSerializer(secret_key, salt=_DEVICE_SALT).loads(raw)
    except BadSignature:
        return {}
    if not isinstance(entries, list):
        return {}
    return {uid: token for uid, token in (e for e in entries if isinstance(e, list) and len(e) == 2)
            if isinstance(uid, int) and isinstance(token, str) and 16 <= len(token) <= 64}


def remember_device(secret_key: str, devices: dict[int, str], user_id: int) -> str:
    """The cookie value after ``user_id`` signed in on this browser (its newest account first)."""
    token = devices.get(user_id) or secrets.token_urlsafe(24)
    entries = [[user_id, token]] + [[uid, t] for uid, t in devices.items() if uid != user_id]
    return URLSafeSerializer(secret_key, salt=_DEVICE_SALT).dumps(entries[:DEVICES_PER_BROWSER])


# --- attempts -----------------------------------------------------------------------------

Subject = tuple[Limit, str, int | None]  # the limit, the row's subject, the account's user id


@dataclass
class Attempt:
    """A sign-in attempt: the subjects it counts against, and how long to wait when refused."""

    subjects: list[Subject] = field(default_factory=list)
    wait: float = 0.0
    at: datetime | None = None  # when it was counted
    before: dict[str, datetime] = field(default_factory=dict)  # each subject's last failure until then

    @property
    def refused(self) -> bool:
        return self.wait > 0


def subjects_for(session: Session, ident: str, address: str, devices: dict[int, str]) -> list[Subject]:
    account, user_id = account_subject(session, ident)
    if user_id is not None and user_id in devices:
        return [(KNOWN_DEVICE, f"device|{devices[user_id]}", user_id)]
    where = address_subject(address)
    return [(ACCOUNT_AT_ADDRESS, f"account-address|{account}|{where}", user_id),
            (ADDRESS, f"address|{where}", None),
            (ACCOUNT, f"account|{account}", user_id)]


def _lock_rows(session: Session, subjects: list[Subject], now: datetime) -> dict[str, LoginThrottle]:
    """The subjects' rows (created when missing), locked until the transaction ends: on SQLite
    by the write lock the first statement takes, on PostgreSQL row by row in a fixed order, so
    two attempts never wait for each other crosswise."""
    ordered = sorted(subjects, key=lambda s: s[1])
    rows = [{"subject": subject, "scope": limit.scope, "user_id": user_id, "failures": 0, "last_failure_at": now}
            for limit, subject, user_id in ordered]
    insert = insert_skipping_duplicates(session, LoginThrottle.__table__)
    if insert is not None:
        session.execute(insert, rows)
    else:
        have = set(session.execute(select(_T.subject).where(_T.subject.in_([r["subject"] for r in rows]))).scalars())
        missing = [r for r in rows if r["subject"] not in have]
        if missing:
            session.execute(LoginThrottle.__table__.insert(), missing)
    for _, subject, _ in ordered:
        session.execute(update(LoginThrottle.__table__).where(_T.subject == subject).values(failures=_T.failures))
    found = session.execute(select(LoginThrottle).where(_T.subject.in_([s for _, s, _ in ordered]))).scalars()
    return {row.subject: row for row in found}


def begin(session: Session, ident: str, address: str, devices: dict[int, str]) -> Attempt:
    """Decide whether an attempt may check its password; if it may, count it as a failure now
    (``settle`` takes the count back when the password was right)."""
    return _count(session, subjects_for(session, ident, address, devices))


def begin_from_address(session: Session, address: str) -> Attempt:
    """An attempt that names no account before it is checked (a single sign-on callback): it
    counts against its address alone, in the same budget as password sign-ins from there."""
    return _count(session, [(ADDRESS, f"address|{address_subject(address)}", None)])


def begin_at_address(session: Session, limit: Limit, address: str) -> Attempt:
    """Like ``begin``, for a form throttled by address alone (``SIGN_UP``, ``INVITE``, ``RESET_ADDRESS``)."""
    return _count(session, [(limit, f"{limit.scope}|{address_subject(address)}", None)])


def begin_in_own_transaction(database, limit_or_ident, address: str) -> Attempt:
    """A throttled attempt in its own transaction (so a refused or failed one stays counted
    whatever the caller's transaction does); once more if it collided with another attempt.
    ``limit_or_ident``: a ``Limit`` for a form throttled by address alone, else the account."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for tries in (1, 2):
        try:
            with database.session() as s:
                if isinstance(limit_or_ident, Limit):
                    return begin_at_address(s, limit_or_ident, address)
                return begin(s, limit_or_ident, address, {})
        except (IntegrityError, OperationalError):
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def _count(session: Session, subjects: list[Subject]) -> Attempt:
    now = utcnow()
    # Rows whose failures are all forgotten mean nothing: keep the table to the last WINDOW.
    session.execute(delete(LoginThrottle.__table__).where(_T.last_failure_at < now - WINDOW))
    attempt = Attempt(subjects)
    rows = _lock_rows(session, attempt.subjects, now)
    attempt.wait = max(wait_seconds(limit, rows[subject].failures, rows[subject].last_failure_at, now)
                       for limit, subject, _ in attempt.subjects)
    if attempt.refused:
        return attempt
    attempt.at = now
    for _, subject, _ in attempt.subjects:
        row = rows[subject]
        fresh = row.failures and now - _aware(row.last_failure_at) <= WINDOW
        attempt.before[subject] = row.last_failure_at
        row.failures = row.failures + 1 if fresh else 1
        row.last_failure_at = now
        session.add(row)
    session.flush()
    return attempt


def settle(session: Session, attempt: Attempt, succeeded: bool) -> None:
    """After the password check: a failure stays counted; a success forgets this account's
    failures from this address or browser and takes its count back from the others."""
    if attempt.refused or not succeeded:
        return
    for limit, subject, _ in attempt.subjects:
        if limit in (ACCOUNT_AT_ADDRESS, KNOWN_DEVICE):
            session.execute(delete(LoginThrottle.__table__).where(_T.subject == subject))
            continue
        session.execute(update(LoginThrottle.__table__).where(_T.subject == subject, _T.failures > 0)
                        .values(failures=_T.failures - 1))
        # Unless a failure came since, the last one is again the one before: sign-ins that
        # succeed keep no failure of an address or account from wearing off.
        session.execute(update(LoginThrottle.__table__).where(_T.subject == subject, _T.last_failure_at == attempt.at)
                        .values(last_failure_at=attempt.before[subject]))


# --- administration -------------------------------------------------------------------------

def throttled_user_ids(session: Session, user_ids: list[int]) -> set[int]:
    """Those of ``user_ids`` whose account has had too many recent failed sign-ins: unknown
    browsers (everywhere, or from some address) wait or are locked out until it wears off."""
    if not user_ids:
        return set()
    now = utcnow()
    rows = session.execute(select(LoginThrottle).where(_T.user_id.in_(user_ids), _T.scope.in_(ACCOUNT_SCOPES),
                                                       _T.last_failure_at >= now - WINDOW)).scalars()
    return {row.user_id for row in rows if row.failures >= LIMITS[row.scope].free}


def unlock(session: Session, user: User) -> int:
    """Forget every failure counted against the account (from any address or browser); returns
    how many of its subjects had failures."""
    counted = session.execute(select(func.count()).select_from(LoginThrottle.__table__)
                              .where(_T.user_id == user.id, _T.failures > 0)).scalar_one()
    session.execute(delete(LoginThrottle.__table__).where(_T.user_id == user.id))
    return counted
