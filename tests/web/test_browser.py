"""The web app in a real browser (Debian's chromium, Playwright): sign in, create a project
from an upload, screen 15 records by keyboard, undo; two screeners in two browser contexts
in dual mode, a conflict appears and an owner resolves it, agreement shown, export."""

from __future__ import annotations

import pytest

from peerscreen.screening import accounts
from peerscreen.screening.database import open_database
from peerscreen.screening.project import list_projects, open_project
from peerscreen.screening.retrain_process import shutdown_all
from peerscreen.web import create_app
from tests.web.browser import browser_missing, chromium, running_server, sign_in
from tests.web.conftest import PASSWORD, write_records

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))


@pytest.fixture
def served(tmp_path):
    database = open_database(tmp_path / "team.db", create=True)
    accounts.add_user(database, "olga", PASSWORD, admin=True)
    app = create_app(database)
    with running_server(app) as base, chromium() as browser:
        yield base, browser, database, tmp_path
    for service in app.state.web._services.values():
        service.worker.wait_idle(30)
    shutdown_all()
    database.dispose()


def _create(page, base: str, name: str, upload, mode: str = "single", start=True) -> int:
    page.goto(f"{base}/")
    page.fill("input[name=name]", name)
    page.set_input_files("input[name=files]", str(upload))
    page.check(f"input[name=mode][value={mode}]")
    page.click("text=Import and create")
    page.wait_for_selector("text=Files read")
    assert page.is_visible(f"text=Created {name}")
    link = page.get_attribute("text=Start screening", "href")
    if start:  # (opening the screening page leases its record to this user)
        page.click("text=Start screening")
        page.wait_for_selector("#record article")
    return int(link.split("/projects/")[1].split("/")[0])


def _current(page) -> str:
    return page.get_attribute("#record article", "data-record-id")


def _press(page, key: str) -> str:
    """Press `key` on the screening page and wait for the answer; returns the status."""
    before = page.text_content("#status") or ""
    page.keyboard.press(key)
    page.wait_for_function(
        "([before]) => { const s = document.getElementById('status').textContent;"
        " return s && s !== before; }",
        arg=[before],
    )
    return page.text_content("#status")


def test_screen_fifteen_records_by_keyboard_then_undo(served):
    base, browser, database, tmp_path = served
    page = browser.new_page()
    sign_in(page, base, "olga", PASSWORD)
    upload = write_records(tmp_path / "search-export.csv", 30)
    project_id = _create(page, base, "browser-review", upload)
    seen = []
    for i in range(15):
        record = _current(page)
        seen.append(record)
        key = ("i", "e", "2")[i % 3]
        status = _press(page, key)
        assert status.startswith("saved:") and record in status, status
        assert _current(page) != record  # the next record is already there
    assert len(set(seen)) == 15
    status = _press(page, "u")
    assert status == f"undid: exclude {seen[-1]}"  # the 15th key was "2": exclude
    assert _current(page) == seen[-1]  # the undone record comes back
    with open_project(database, "browser-review") as project:
        log = project.decisions(include_undone=True)
        assert len(log) == 15 and sum(d.undone for d in log) == 1
        assert {d.screener for d in log} == {"olga"} and {d.source for d in log} == {"web"}
        coded = [d for d in log if d.reason is not None]
        assert len(coded) == 5  # the "2" key: exclude with the second exclusion code
        assert project.id == project_id
    page.screenshot(path=str(tmp_path / "screening.png"), full_page=True)


def test_dual_screening_conflict_resolution_agreement_and_export(served):
    base, browser, database, tmp_path = served
    owner = browser.new_page()
    sign_in(owner, base, "olga", PASSWORD)
    project_id = _create(
        owner,
        base,
        "dual-review",
        write_records(tmp_path / "dual.csv", 20),
        mode="dual",
        start=False,
    )
    for name in ("ann", "bob"):
        owner.goto(f"{base}/projects/{project_id}/members")
        owner.fill("input[name=name]", name)
        owner.fill("input[name=password]", PASSWORD)
        owner.click("button:has-text('Add')")
        owner.wait_for_selector(f"td:has-text('{name}')")
    ann = browser.new_context().new_page()
    bob = browser.new_context().new_page()
    for page, name in ((ann, "ann"), (bob, "bob")):
        sign_in(page, base, name, PASSWORD)
        page.goto(f"{base}/projects/{project_id}/screen")
        page.wait_for_selector("#record article")
    first = _current(ann)
    assert _current(bob) == first  # dual: both screen the same record, independently
    assert "saved: include" in _press(ann, "i")
    assert "saved: exclude" in _press(bob, "e")
    for _ in range(4):  # agreeing votes, for the agreement figures
        assert _current(ann) == _current(bob)
        _press(ann, "i")
        _press(bob, "i")
    bob.goto(f"{base}/projects/{project_id}/records?q={first}")
    assert "ann" not in bob.inner_text("table.records")  # blind: bob never sees ann's vote
    owner.goto(f"{base}/projects/{project_id}/progress")
    assert owner.is_visible("text=Conflicts (1)")
    agreement = owner.inner_text("#agreement")
    assert "ann · bob" in agreement and "95% CI" in agreement
    assert "0.80" in agreement  # 4 of 5 records agreed
    owner.click("#conflicts button.include")
    owner.wait_for_selector("text=Conflicts (0)")
    with owner.expect_download() as download:
        owner.click("a.button:text-is('csv')")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("record_id") and first in text
    assert len(text.splitlines()) == 21
    projects = {p.name: p for p in list_projects(database)}
    with open_project(database, "dual-review") as project:
        modes = [d.mode for d in project.decisions() if d.record_id == first]
        assert modes == ["first", "second", "resolution"]
        assert project.label_state().status[project.position(first)] == "include"
    assert projects["dual-review"].mode == "dual"
