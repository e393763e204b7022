"""Single sign-on accounts: which Halley user an OpenID Connect identity signs in as.

The claims handed in here were already checked by the caller (dashboard/sso.py): the ID token's
signature against the provider's keys, its issuer, audience, expiry and nonce.

An identity is the pair (issuer, subject) the provider names a person by; once linked to a user
it signs in as that user, whatever its email claim says later. A first sign-in links to:

- the user whose email equals the claim's, when the provider says it verified the address
  (``email_verified`` true). Linking trusts the provider to have proved the person owns that
  mailbox, as Halley's own password reset by email would; an unverified address could be typed
  by anyone at a provider that lets people edit their email, so it never links or creates;
- else a new user (when the operator allows it), named after ``preferred_username`` or the
  email's local part, made unique, with their default workspace and a random password nobody
  knows (they sign in through the provider).

Every refusal raises ``Refused`` with a reason for the audit log; the person only ever sees one
neutral message, so it can't tell whether an email has an account.
"""
from __future__ import annotations

import re
import secrets

from sqlalchemy import func
from sqlmodel import Session, select

from dashboard.config import OidcSettings
from dashboard.errors import HalleyError
from dashboard.services import accounts, audit, workspaces
from dashboard.services.names import RESERVED, check_workspace_name
from models import User, UserIdentity, utcnow


class Refused(Exception):
    """The identity may not sign in; ``reason`` is for the audit log, never for the person."""

    def __init__(self, reason: str, target: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.target = target


def verified_email(claims: dict) -> str | None:
    """The claim's email address, lower-cased, when the provider says it verified it."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(verified, str):  # some providers send the string "true"
        verified = verified.strip().lower() == "true"
    if not isinstance(email, str) or verified is not True:
        return None
    email = email.strip().lower()
    return email if accounts.EMAIL_RE.match(email) and len(email) <= 254 else None


def is_admin_by_claim(claim: tuple[str, str | None], claims: dict) -> bool:
    """Whether ``claims`` meet HALLEY_OIDC_ADMIN_CLAIM: ``name=value`` when the claim equals the
    value or is a list holding it; a bare ``name`` when the claim is true."""
    name, value = claim
    got = claims.get(name)
    if value is None:
        return got is True or (isinstance(got, str) and got.strip().lower() == "true")
    if isinstance(got, (list, tuple)):
        return any(isinstance(item, str) and item == value for item in got)
    return isinstance(got, str) and got == value


_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def _username_base(claims: dict, email: str) -> str:
    for raw in (claims.get("preferred_username"), email.partition("@")[0]):
        if not isinstance(raw, str):
            continue
        base = _NOT_NAME.sub("-", raw.partition("@")[0]).strip("-_.")[:56]
        if base and base.lower() not in RESERVED:
            return base
    return "user"


def _name_taken(session: Session, name: str) -> bool:
    return (session.exec(select(User.id).where(func.lower(User.username) == name.lower())).first() is not None
            or workspaces.find_by_name(session, name) is not None)


def unique_username(session: Session, claims: dict, email: str) -> str:
    """A valid username (``check_workspace_name``) that no user or workspace has yet."""
    base = _username_base(claims, email)
    candidates = [base] + [f"{base}-{n}" for n in range(2, 20)]
    for name in candidates:
        if not _name_taken(session, name):
            return check_workspace_name(name)
    while True:
        name = f"{base}-{secrets.token_hex(3)}"
        if not _name_taken(session, name):
            return check_workspace_name(name)


def _create_user(session: Session, claims: dict, email: str) -> User:
    username = unique_username(session, claims, email)
    try:
        user = accounts.create_user(session, username, email, secrets.token_urlsafe(32))
    except HalleyError as exc:
        raise Refused(f"the account could not be created: {exc.message}", email) from exc
    display = claims.get("name")
    if isinstance(display, str) and display.strip():
        user.display_name = display.strip()[:128]
        session.add(user)
    return user


def _last_site_admin(session: Session, user: User) -> bool:
    others = session.exec(select(func.count()).select_from(User).where(
        User.is_site_admin == True, User.is_active_user == True, User.id != user.id)).one()  # noqa: E712
    return others == 0


def _sync_site_admin(session: Session, settings: OidcSettings, user: User, claims: dict) -> None:
    """The provider decides who administers the site: the admin claim grants it at each sign-in
    and its absence takes it back, except from the last active site administrator."""
    if settings.admin_claim is None:
        return
    wanted = is_admin_by_claim(settings.admin_claim, claims)
    if wanted == user.is_site_admin or (not wanted and _last_site_admin(session, user)):
        return
    user.is_site_admin = wanted
    session.add(user)
    audit.record(session, "user.site_admin_granted" if wanted else "user.site_admin_revoked",
                 actor_user_id=user.id, target=user.username, detail="by the single sign-on admin claim")


def sign_in(session: Session, settings: OidcSettings, issuer: str, claims: dict) -> User:
    """The user the checked ``claims`` sign in as (linked, or created, on first sign-in), with
    their last sign-in time and site-admin flag brought up to date; raises ``Refused``."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise Refused("the ID token names no subject")
    email = verified_email(claims)
    shown = email or (claims.get("email") if isinstance(claims.get("email"), str) else "") or f"sub {subject}"
    if settings.allowed_domains and (email is None or not settings.domain_allowed(email)):
        raise Refused("the email address is missing, unverified or not in an allowed domain", shown[:300])
    identity = session.exec(select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                       UserIdentity.subject == subject)).first()
    created = False
    if identity is not None:
        user = session.get(User, identity.user_id)
    else:
        if email is None:
            raise Refused("no linked account, and the email address is missing or unverified", shown[:300])
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            if not settings.create_users:
                raise Refused("no account with this email, and accounts are not created at sign-in", email)
            user = _create_user(session, claims, email)
            created = True
        session.add(UserIdentity(issuer=issuer, subject=subject, user_id=user.id))
    if user is None or not user.is_active_user:
        raise Refused("the account is deactivated", shown[:300])
    _sync_site_admin(session, settings, user, claims)
    user.last_sign_in_at = utcnow()
    session.add(user)
    session.flush()
    if created:
        audit.record(session, "user.created_by_oidc", actor_user_id=user.id, target=user.username,
                     detail=f"first sign-in through {issuer}")
    elif identity is None:
        audit.record(session, "user.linked_by_oidc", actor_user_id=user.id, target=user.username,
                     detail=f"linked by verified email to {issuer}")
    audit.record(session, "sign_in.oidc", actor_user_id=user.id, target=user.username, detail=issuer)
    return user
