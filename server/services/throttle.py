"""Password guessing, slowed down for everyone who checks a password: the API and page log-ins,
HTTP Basic for scripts, and ODK Collect's Digest.

Per (client address, username) a few failures are free, then each further try must wait a delay
that doubles (1 s, 2 s, 4 s … up to 5 minutes); a pair that stays quiet for the window starts
over. The name itself is never locked: a colleague's typos, or an attacker elsewhere, never keep
a supervisor out. Each address also has a ceiling of failures per window over all names, so one
address cannot walk through a list of usernames.

The per-pair state is one row changed by compare-and-set (``UPDATE … WHERE failures = seen``), and
a try is counted *before* its password is checked and forgiven after a success, so forty guesses
sent at once get no more through than forty sent one after another, on every app server.
Every failure is also logged (``login_failures``) for the address ceiling and for admins.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import errors
from ..models import LoginFailure, LoginThrottle, User
from ..models.base import utcnow

FREE_FAILURES = 5
MAX_DELAY = dt.timedelta(minutes=5)
WINDOW = dt.timedelta(minutes=15)
ADDRESS_CEILING = 50  # failures per window from one address, over all names
_RETRIES = 8


def delay_after(failures: int) -> dt.timedelta:
    """How long a pair waits after this many failures in a row."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def claim(session: Session, address: str, username: str) -> None:
    """Take the right to check one password for this pair, or raise 429 (with the wait).

    Commits: the try must be visible to concurrent requests before the password is checked."""
    address, username = address[:64], username[:150]
    _check_address_ceiling(session, address)
    for _ in range(_RETRIES):
        now = utcnow()
        row = _read(session, address, username)
        if row is None:
            _create(session, address, username, now)
            continue
        failures, next_allowed, last = row
        if _aware(next_allowed) > now:
            raise _wait(_aware(next_allowed) - now)
        counted = failures if last is not None and _aware(last) > now - WINDOW else 0
        won = session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.address == address,
                LoginThrottle.username == username,
                LoginThrottle.failures == failures,
            )
            .values(
                failures=counted + 1,
                next_allowed_at=now + delay_after(counted + 1),
                last_failure_at=now,
            )
        ).rowcount
        session.commit()
        if won == 1:
            return
    raise _wait(dt.timedelta(seconds=1))  # lost every race: others are guessing right now


def succeeded(session: Session, address: str, username: str) -> None:
    """Forgive the try claimed for a password that was right (not committed here)."""
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.address == address[:64], LoginThrottle.username == username[:150])
        .values(failures=0, next_allowed_at=utcnow(), last_failure_at=None)
    )


def failed(session: Session, address: str, username: str) -> None:
    """Log a wrong password (the try was already counted by ``claim``); commits."""
    session.add(LoginFailure(username=username[:150], address=address[:64]))
    session.commit()


def has_recent_failures(session: Session, address: str, username: str) -> bool:
    """One primary-key read: whether this pair must ``claim`` before its password is checked.
    Digest answers for every request a phone makes, so a pair with a clean record skips the
    write; its first wrong password is claimed afterwards (``claim`` then ``failed``)."""
    row = _read(session, address[:64], username[:150])
    return row is not None and row[0] > 0


def user_and_record(session: Session, address: str, username: str) -> tuple[User | None, bool]:
    """The user called ``username`` (None when there is none) and :func:`has_recent_failures` of
    the pair, in one read when the user exists: Digest checks a password on every request a
    phone makes, and on PostgreSQL each read is a round trip."""
    params = {"address": address[:64], "pair_name": username[:150], "username": username}
    row = session.execute(_USER_AND_RECORD, params).first()
    if row is None:
        return None, has_recent_failures(session, address, username)
    user, failures = row
    return user, failures is not None and failures > 0


def recent_failures(session: Session, limit: int = 200) -> list[dict]:
    """Wrong passwords in the window per (address, name), newest first, with when the pair may
    try again: what an admin reads to see guessing (and whom it targets)."""
    now = utcnow()
    last = func.max(LoginFailure.failed_at)
    rows = session.execute(
        select(LoginFailure.address, LoginFailure.username, func.count(), last)
        .where(LoginFailure.failed_at >= now - WINDOW)
        .group_by(LoginFailure.address, LoginFailure.username)
        .order_by(last.desc())
        .limit(limit)
    ).all()
    waits = {
        (address, username): at
        for address, username, at in session.execute(
            select(
                LoginThrottle.address, LoginThrottle.username, LoginThrottle.next_allowed_at
            ).where(LoginThrottle.next_allowed_at > now)
        )
    }
    return [
        {
            "address": address,
            "username": username,
            "failures": count,
            "last_failed_at": _aware(at),
            "wait_until": _aware(w) if (w := waits.get((address, username))) else None,
        }
        for address, username, count, at in rows
    ]


def _check_address_ceiling(session: Session, address: str) -> None:
    since = utcnow() - WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.failed_at)).where(
            LoginFailure.address == address, LoginFailure.failed_at >= since
        )
    ).one()
    if count >= ADDRESS_CEILING:
        raise _wait(_aware(oldest) + WINDOW - utcnow())


def _read(session: Session, address: str, username: str):
    # On the connection: the ORM's way of running it took twice as long as the read itself.
    params = {"address": address, "username": username}
    return session.connection().execute(_READ, params).first()


# Built once: every Digest request reads it, and building it cost more than running it.
_READ = select(
    LoginThrottle.failures, LoginThrottle.next_allowed_at, LoginThrottle.last_failure_at
).where(
    LoginThrottle.address == bindparam("address"), LoginThrottle.username == bindparam("username")
)


def _create(session: Session, address: str, username: str, now: dt.datetime) -> None:
    try:
        session.execute(
            insert(LoginThrottle).values(
                address=address, username=username, failures=0, next_allowed_at=now
            )
        )
        session.commit()
    except IntegrityError:  # another request created it first: read theirs
        session.rollback()


def _wait(left: dt.timedelta) -> errors.Problem:
    return errors.LOGIN_WAIT(seconds=max(1, math.ceil(left.total_seconds())))


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; ours are all UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


_USER_AND_RECORD = select(
    User,
    select(LoginThrottle.failures)
    .where(
        LoginThrottle.address == bindparam("address"),
        LoginThrottle.username == bindparam("pair_name"),
    )
    .scalar_subquery(),
).where(User.username == bindparam("username"))
