"""Accounts and roles on SQLite and PostgreSQL: argon2 hashes, roles per project, admins."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from peerscreen.screening import accounts, schema
from peerscreen.screening.creation import create_project_in
from peerscreen.screening.database import open_database
from peerscreen.screening.store import ScreeningError
from tests.screening.test_service import write_records

PASSWORD = "correct horse battery"


@pytest.fixture
def team(database_url, tmp_path):
    database = open_database(database_url, create=True)
    records = write_records(tmp_path / "records.csv", 6)
    a, _ = create_project_in(database, "alpha", [records])
    b, _ = create_project_in(database, "beta", [records], mode="dual")
    yield database, a.id, b.id
    database.dispose()


def test_passwords_are_stored_as_argon2_hashes_only(team):
    database, alpha, _ = team
    accounts.add_user(database, "ann", PASSWORD, role="screener", project_id=alpha)
    with database.read() as conn:
        stored = conn.execute(sa.select(schema.users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.authenticate(database, "ann", PASSWORD).name == "ann"
    assert accounts.authenticate(database, "ann", PASSWORD + "x") is None
    assert accounts.authenticate(database, "nobody", PASSWORD) is None


def test_roles_are_per_project_and_admins_own_every_project(team):
    database, alpha, beta = team
    ann = accounts.add_user(database, "ann", PASSWORD, role="screener", project_id=alpha)
    root = accounts.add_user(database, "root", PASSWORD, admin=True)
    assert accounts.role_in(database, ann, alpha) == "screener"
    assert accounts.role_in(database, ann, beta) is None
    assert accounts.role_in(database, root, beta) == "owner"
    assert accounts.role_in(database, ann, 9999) is None
    assert [p.name for p in accounts.projects_for(database, ann)] == ["alpha"]
    assert [p.name for p in accounts.projects_for(database, root)] == ["alpha", "beta"]
    accounts.grant(database, ann, beta, "owner")
    assert accounts.role_in(database, ann, beta) == "owner"
    assert [(u.name, r) for u, r in accounts.members(database, beta)] == [("ann", "owner")]
    assert accounts.count_users(database) == 2


def test_bad_accounts_are_refused_readably(team):
    database, alpha, _ = team
    accounts.add_user(database, "ann", PASSWORD)
    with pytest.raises(ScreeningError, match="exists already"):
        accounts.add_user(database, "ann", PASSWORD)
    with pytest.raises(ScreeningError, match="at least 8"):
        accounts.add_user(database, "bob", "short")
    with pytest.raises(ScreeningError, match="not a user name"):
        accounts.add_user(database, "two words", PASSWORD)
    with pytest.raises(ScreeningError, match="unknown role"):
        accounts.add_user(database, "cy", PASSWORD, role="boss", project_id=alpha)
