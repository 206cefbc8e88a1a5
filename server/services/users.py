"""People, passwords and phone tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import string

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import errors
from ..messages import _
from ..models import ApiSession, AppToken, Role, User, UserArea
from . import usernames

# HTTP Digest hashes the realm into the stored HA1, so changing it would lock every phone out.
REALM = "khudan"
# Roles that may download forms to a phone and send submissions.
COLLECTING_ROLES = frozenset({Role.COLLECTOR, Role.SUPERVISOR, Role.ADMIN})

_TOKEN_ALPHABET = string.ascii_letters + string.digits
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105


def password_method(env=os.environ) -> str:
    """werkzeug's method for new password hashes: scrypt, unless ``KHUDAN_PASSWORD_HASH`` names
    another (the test suite uses a fast pbkdf2: scrypt's 0.1 s a hash would add minutes)."""
    return env.get("KHUDAN_PASSWORD_HASH") or "scrypt"


PASSWORD_METHOD = password_method()


def generate_password(length: int = 14) -> str:
    """Easy to read aloud and type on a phone: no 0/O or 1/l/I."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def digest_ha1(username: str, password: str) -> str:
    return hashlib.md5(f"{username}:{REALM}:{password}".encode()).hexdigest()


# HTTP Digest and Basic carry the name in a header (: " \\), pages and the API put it in a URL
# path (/ ? # %), and it is shown in pages and files: no markup characters (< > & ').
NOT_IN_USERNAMES = ":\"\\/?#%<>&'"


def username_allowed(name: str) -> bool:
    return bool(name.strip()) and not any(c in name for c in NOT_IN_USERNAMES)


def username_problem(name: str) -> str | None:
    """Why ``name`` cannot be a username (empty, too long, a reserved, invisible or mixed-script
    character), or None."""
    if not username_allowed(name) or len(name) > 150:
        return _(
            "tên trống, dài hơn 150 ký tự hoặc có một trong các ký tự {chars}",
            chars=NOT_IN_USERNAMES,
        )
    return usernames.problem(name)


def create_user(
    session: Session,
    username: str,
    role: Role | str,
    password: str,
    areas: list[str] = (),
    full_name: str | None = None,
    phone: str | None = None,
) -> User:
    username = username.strip()
    if reason := username_problem(username):
        raise errors.INVALID_INPUT(
            reason=_("tên người dùng {name}: {reason}", name=repr(username), reason=reason)
        )
    if len(password) < 8:
        raise errors.INVALID_INPUT(reason=_("mật khẩu cần ít nhất 8 ký tự"))
    try:
        role = Role(role)
    except ValueError:
        raise errors.INVALID_INPUT(reason=_("không có vai trò {role}", role=repr(role))) from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise errors.USER_EXISTS(username=username)
    if (existing := usernames.lookalike(session, username)) is not None:
        raise errors.USERNAME_LOOKALIKE(username=username, existing=existing)
    user = User(
        username=username,
        role=role,
        password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
        digest_ha1=digest_ha1(username, password),
        areas=[UserArea(area_code=code) for code in dict.fromkeys(areas)],
        full_name=(full_name or "").strip() or None,
        phone=(phone or "").strip() or None,
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
    user.digest_ha1 = digest_ha1(user.username, password)


def check_password(user: User, password: str) -> bool:
    return user.enabled and check_password_hash(user.password_hash, password)


_DUMMY_HASH: str | None = None


def spend_a_password_check(password: str) -> None:
    """Check a password against a throwaway hash of the current method, so that a log-in with an
    unknown name takes as long as one with a wrong password (no listing of usernames by timing)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16), method=PASSWORD_METHOD)
    check_password_hash(_DUMMY_HASH, password)


def get_user(session: Session, username: str) -> User | None:
    """One query, as every authenticated request makes it; areas load when first touched."""
    if "\x00" in username:  # no name has one, and PostgreSQL refuses it in a query (a 500)
        return None
    return session.scalar(_USER_BY_NAME, {"username": username})


# Built once: every request of a phone asks it, and building it costs as much as running it.
_USER_BY_NAME = select(User).where(User.username == bindparam("username"))


def list_users(session: Session, role: Role | str | None = None) -> list[User]:
    query = select(User).options(selectinload(User.areas)).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    return list(session.scalars(query))


def search_users(
    session: Session,
    *,
    role: Role | str | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[User], int]:
    """One page of users (oldest first) with their areas, and how many match in all; ``q`` is a
    part of the username, in any case."""
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    if q:
        query = query.where(User.username.icontains(q, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(
        query.options(selectinload(User.areas))
        .order_by(User.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(items), total


def check_area_codes(session: Session, codes: list[str]) -> None:
    """422 naming each area code the registry does not know (unchecked while it is empty), so a
    typing mistake does not leave a collector scoped to nothing."""
    from .areas import unknown_codes

    unknown = set(unknown_codes(session, codes))
    if unknown:
        raise errors.FIELDS_INVALID(
            fields="areas",
            errors={
                "areas": {
                    i: [f"Unknown area code {code!r}."]
                    for i, code in enumerate(codes)
                    if code in unknown
                }
            },
        )


def update_user(
    session: Session,
    user: User,
    *,
    role: Role | str | None = None,
    areas: list[str] | None = None,
    enabled: bool | None = None,
    full_name: str | None = None,
    phone: str | None = None,
) -> dict[str, list]:
    """Change what is given (``areas`` replaces the list); return ``{field: [old, new]}`` for what
    changed. Refuses (409) to disable or demote the last enabled admin, who could not be replaced."""
    changes: dict[str, list] = {}
    if role is not None and Role(role) != user.role:
        changes["role"] = [str(user.role), str(Role(role))]
    if enabled is not None and enabled != user.enabled:
        changes["enabled"] = [user.enabled, enabled]
    if areas is not None and sorted(set(areas)) != sorted(user.area_codes):
        changes["areas"] = [sorted(user.area_codes), sorted(set(areas))]
    for name, value in (("full_name", full_name), ("phone", phone)):
        if value is not None and (value.strip() or None) != getattr(user, name):
            changes[name] = [getattr(user, name), value.strip() or None]
            setattr(user, name, value.strip() or None)
    stays_admin = Role(role or user.role) == Role.ADMIN and (enabled is not False)
    if user.role == Role.ADMIN and user.enabled and not stays_admin:
        others = session.scalar(
            select(User.id)
            .where(User.role == Role.ADMIN, User.enabled.is_(True), User.id != user.id)
            .limit(1)
        )
        if others is None:
            raise errors.LAST_ADMIN(username=user.username)
    if "role" in changes:
        user.role = Role(role)
    if "enabled" in changes:
        user.enabled = enabled
        if not enabled:  # re-enabling must not revive what the disabled user held
            revoke_tokens(session, user)
            _end_api_sessions(session, user)
    if "areas" in changes:
        keep = {a.area_code: a for a in user.areas}
        user.areas = [keep.get(c) or UserArea(area_code=c) for c in changes["areas"][1]]
    session.flush()
    return changes


def ensure_admin(session: Session) -> str | None:
    """Create ``admin`` with a random password if no admin exists; return that password once."""
    if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    password = generate_password()
    create_user(session, "admin", Role.ADMIN, password)
    return password


def issue_token(session: Session, user: User) -> str:
    """A new 64-character token for a phone's server URL; only its hash is stored."""
    token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(64))
    session.add(AppToken(user_id=user.id, token_sha256=_sha256(token)))
    session.flush()
    return token


def revoke_tokens(session: Session, user: User) -> int:
    now = dt.datetime.now(dt.UTC)
    tokens = session.scalars(
        select(AppToken).where(AppToken.user_id == user.id, AppToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def _end_api_sessions(session: Session, user: User) -> int:
    """API tokens and page sessions (both are ``ApiSession`` rows) end now."""
    return session.execute(
        update(ApiSession)
        .where(ApiSession.user_id == user.id, ApiSession.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    ).rowcount


def user_for_token(session: Session, token: str) -> User | None:
    """The enabled user a live token belongs to, or None."""
    if len(token) != 64 or not token.isalnum():
        return None
    row = session.scalar(
        select(AppToken)
        .where(AppToken.token_sha256 == _sha256(token), AppToken.revoked_at.is_(None))
        .options(selectinload(AppToken.user))
    )
    if row is None or not row.user.enabled:
        return None
    return row.user


def may_collect(user: User) -> bool:
    return user.enabled and user.role in COLLECTING_ROLES


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
