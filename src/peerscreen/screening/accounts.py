"""Accounts and roles: who may sign in to the server and what they may do in a project.

A user is an *owner* or a *screener* of each project they belong to; an admin (the first
owner, made with `peerscreen users add NAME --role owner`) owns every project. Passwords
are stored as argon2id hashes only; a hash made with older parameters is upgraded at the
next successful sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from peerscreen.screening import schema
from peerscreen.screening.database import Database
from peerscreen.screening.project import ProjectInfo, list_projects
from peerscreen.screening.store import ScreeningError, now

#: The shortest password accepted.
MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    name: str
    is_admin: bool


def _user(row: sa.Row | None) -> User | None:
    return None if row is None else User(row.id, row.name, bool(row.is_admin))


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200 or any(c.isspace() or not c.isprintable() for c in name):
        raise ScreeningError(
            f"'{name}' is not a user name (letters, digits and punctuation, no spaces)"
        )
    return name


def add_user(
    database: Database,
    name: str,
    password: str,
    *,
    role: str | None = None,
    project_id: int | None = None,
    admin: bool = False,
) -> int:
    """Create user `name` (ScreeningError if taken or the password is too short) with
    `role` in `project_id` if given; returns the new user's id."""
    name = _check_name(name)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ScreeningError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if role is not None and role not in schema.ROLES:
        raise ScreeningError(f"unknown role '{role}' (choose from owner, screener)")
    with database.begin() as conn:
        if conn.execute(sa.select(schema.users.c.id).where(schema.users.c.name == name)).first():
            raise ScreeningError(f"a user named '{name}' exists already")
        user_id = conn.execute(
            sa.insert(schema.users).values(
                name=name,
                password_hash=_HASHER.hash(password),
                is_admin=admin,
                created_at=now(),
            )
        ).inserted_primary_key[0]
        if role is not None and project_id is not None:
            _grant(conn, user_id, project_id, role)
    return int(user_id)


def authenticate(database: Database, name: str, password: str) -> User | None:
    """The user if `password` is theirs, else None (the same for an unknown name)."""
    users = schema.users
    with database.read() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.name, users.c.is_admin, users.c.password_hash).where(
                users.c.name == (name or "").strip()
            )
        ).first()
    if row is None:
        _HASHER.hash(password or "")  # as slow as a real check: names cannot be probed
        return None
    try:
        _HASHER.verify(row.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        with database.begin() as conn:
            conn.execute(
                sa.update(users)
                .where(users.c.id == row.id)
                .values(password_hash=_HASHER.hash(password))
            )
    return _user(row)


def get_user(database: Database, user_id: int) -> User | None:
    users = schema.users
    with database.read() as conn:
        return _user(
            conn.execute(
                sa.select(users.c.id, users.c.name, users.c.is_admin).where(users.c.id == user_id)
            ).first()
        )


def find_user(database: Database, name: str) -> User | None:
    users = schema.users
    with database.read() as conn:
        return _user(
            conn.execute(
                sa.select(users.c.id, users.c.name, users.c.is_admin).where(
                    users.c.name == (name or "").strip()
                )
            ).first()
        )


def list_users(database: Database) -> list[User]:
    """Every account, by name."""
    u = schema.users
    with database.read() as conn:
        rows = conn.execute(sa.select(u.c.id, u.c.name, u.c.is_admin).order_by(u.c.name)).all()
    return [User(r.id, r.name, bool(r.is_admin)) for r in rows]


def count_users(database: Database) -> int:
    with database.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.users)).scalar())


def role_in(database: Database, user_id: int, project_id: int) -> str | None:
    """'owner', 'screener' or None (no role: the project is not theirs to see)."""
    m = schema.memberships
    with database.read() as conn:
        admin = conn.execute(
            sa.select(schema.users.c.is_admin).where(schema.users.c.id == user_id)
        ).scalar()
        if admin is None:
            return None
        exists = conn.execute(
            sa.select(schema.projects.c.id).where(schema.projects.c.id == project_id)
        ).first()
        if exists is None:
            return None
        if admin:
            return "owner"
        return conn.execute(
            sa.select(m.c.role).where(m.c.user_id == user_id, m.c.project_id == project_id)
        ).scalar()


def grant(database: Database, user_id: int, project_id: int, role: str) -> None:
    """Give `user_id` `role` in `project_id` (replacing the role they had there)."""
    if role not in schema.ROLES:
        raise ScreeningError(f"unknown role '{role}' (choose from owner, screener)")
    with database.begin() as conn:
        _grant(conn, user_id, project_id, role)


def _grant(conn: sa.Connection, user_id: int, project_id: int, role: str) -> None:
    m = schema.memberships
    conn.execute(sa.delete(m).where(m.c.user_id == user_id, m.c.project_id == project_id))
    conn.execute(sa.insert(m).values(user_id=user_id, project_id=project_id, role=role))


def members(database: Database, project_id: int) -> list[tuple[User, str]]:
    """The project's members and their roles, by name (admins not listed unless members)."""
    u, m = schema.users, schema.memberships
    with database.read() as conn:
        rows = conn.execute(
            sa.select(u.c.id, u.c.name, u.c.is_admin, m.c.role)
            .join(m, m.c.user_id == u.c.id)
            .where(m.c.project_id == project_id)
            .order_by(u.c.name)
        ).all()
    return [(User(r.id, r.name, bool(r.is_admin)), r.role) for r in rows]


def projects_for(database: Database, user_id: int) -> list[ProjectInfo]:
    """The projects `user_id` has a role in (every project for an admin)."""
    user = get_user(database, user_id)
    if user is None:
        return []
    projects = list_projects(database)
    if user.is_admin:
        return projects
    m = schema.memberships
    with database.read() as conn:
        mine = set(conn.execute(sa.select(m.c.project_id).where(m.c.user_id == user_id)).scalars())
    return [p for p in projects if p.id in mine]
