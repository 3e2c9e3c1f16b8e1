"""Security of the web app (issue 13 item 4), on SQLite and PostgreSQL."""

from __future__ import annotations

import inspect

import sqlalchemy as sa

from peerscreen.cli.serve import serve_command
from peerscreen.screening import schema
from peerscreen.screening.creation import create_project_in
from peerscreen.web import create_app
from peerscreen.web.app import ROUTERS
from peerscreen.web.security import COOKIE
from tests.web.conftest import PASSWORD, csrf_of, sign_in, write_records


def _project_paths(team, project_id: int) -> list[str]:
    """Every GET route of the app with the project id filled in (record id r0)."""
    paths = []
    for route in (r for router in ROUTERS for r in router.routes):
        methods = getattr(route, "methods", set())
        path = getattr(route, "path", "")
        if "GET" in methods and "{project_id}" in path:
            paths.append(path.replace("{project_id}", str(project_id)).replace("{record_id}", "r0"))
    return paths


def _post_paths(team, project_id: int) -> list[str]:
    paths = []
    for route in (r for router in ROUTERS for r in router.routes):
        if "POST" in getattr(route, "methods", set()):
            path = route.path.replace("{project_id}", str(project_id))
            paths.append(path.replace("{record_id}", "r0"))
    return paths


def test_every_page_and_api_route_needs_a_signed_in_user(team):
    client = team.client()
    paths = ["/", *_project_paths(team, team.single.id)]
    assert len(paths) >= 7
    for path in paths:
        response = client.get(path, follow_redirects=False)
        if path.startswith("/api/"):
            assert response.status_code == 401, path
            assert response.json() == {"error": "sign in first"}
        else:
            assert response.status_code == 303 and response.headers["location"] == "/signin", path


def test_a_screener_of_one_project_gets_404_for_another(team):
    bob = team.client("bob")  # a screener of the dual project only
    for path in _project_paths(team, team.single.id):
        response = bob.get(path, follow_redirects=False)
        assert response.status_code == 404, path
    token = csrf_of(bob.get("/").text)
    response = bob.post(
        f"/api/projects/{team.single.id}/decisions",
        json={"record_id": "r0", "action": "include"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 404
    assert team.single.decisions() == []
    missing = bob.get("/projects/99999/screen")
    assert missing.status_code == 404 and "No such project" in missing.text
    assert "single-review" not in bob.get("/").text


def test_every_state_changing_request_needs_the_csrf_token(team):
    ann = team.client("ann")
    posts = _post_paths(team, team.single.id)
    assert len(posts) >= 8
    for path in posts:
        refused = ann.post(path, data={"action": "include", "name": "x"}, follow_redirects=False)
        assert refused.status_code == 403, path
        assert "CSRF" in refused.text
    wrong = ann.post(
        f"/api/projects/{team.single.id}/decisions",
        json={"record_id": "r0", "action": "include"},
        headers={"X-CSRF-Token": "0" * 64},
    )
    assert wrong.status_code == 403 and "CSRF" in wrong.json()["error"]
    assert team.single.decisions() == []
    token = csrf_of(ann.get("/").text)
    ok = ann.post(
        f"/api/projects/{team.single.id}/decisions",
        json={"record_id": "r0", "action": "include"},
        headers={"X-CSRF-Token": token},
    )
    assert ok.status_code == 200 and ok.json()["saved"]["screener"] == "ann"


def test_session_cookie_is_signed_httponly_samesite_lax_and_secure_behind_a_proxy(team):
    client = team.client()
    response = sign_in(client, "ann")
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    forged = team.client()
    forged.cookies.set(COOKIE, client.cookies.get(COOKIE)[:-3] + "abc")
    assert forged.get("/", follow_redirects=False).status_code == 303  # not signed in
    proxied = create_app(team.database, behind_proxy=True)
    from fastapi.testclient import TestClient

    behind = TestClient(proxied, base_url="https://testserver")
    assert "Secure" in sign_in(behind, "ann").headers["set-cookie"]


def test_passwords_are_hashed_with_argon2_and_never_stored(team):
    with team.database.read() as conn:
        hashes = conn.execute(sa.select(schema.users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)


def test_sign_in_is_rate_limited(team):
    client = team.client()
    for _ in range(5):
        assert sign_in(client, "ann", "wrong password").status_code == 401
    blocked = sign_in(client, "ann", PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert sign_in(team.client(), "bob").status_code == 303  # others are not blocked


def test_record_text_is_escaped_everywhere(team, tmp_path):
    hostile = "<script>alert(1)</script> peer support <img src=x onerror=alert(2)>"
    records = write_records(tmp_path / "hostile.csv", 4, extra={0: hostile, 1: hostile})
    project, _ = create_project_in(team.database, "hostile", [records])
    olga = team.client("olga")
    token = csrf_of(olga.get("/").text)
    pages = [
        olga.get(f"/projects/{project.id}/screen").text,
        olga.get(f"/projects/{project.id}/records").text,
        olga.get(f"/api/projects/{project.id}/next").json()["html"],
    ]
    decided = olga.post(
        f"/api/projects/{project.id}/decisions",
        json={"record_id": "r0", "action": "include", "note": "<b>bold</b>"},
        headers={"X-CSRF-Token": token},
    )
    pages.append(decided.json()["html"])
    pages.append(olga.get(f"/projects/{project.id}/records").text)
    for html in pages:
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x" not in html
        assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert "&lt;b&gt;bold&lt;/b&gt;" in pages[-1]


def test_uploads_are_size_limited_and_read_with_the_readers_errors(team, tmp_path):
    olga = team.client("olga")
    token = csrf_of(olga.get("/").text)
    big = b"id,title\n" + b"x,y\n" * 100_000  # 400 kB > the test app's 200 kB
    response = olga.post(
        "/projects",
        data={"name": "big", "csrf_token": token},
        files={"files": ("big.csv", big, "text/csv")},
    )
    assert response.status_code == 413 and "larger than" in response.text
    broken = olga.post(
        "/projects",
        data={"name": "broken", "csrf_token": token},
        files={"files": ("broken.csv", b"foo,bar\n1,2\n", "text/csv")},
    )
    assert broken.status_code == 400
    assert "Traceback" not in broken.text
    assert "broken.csv: no title or abstract column" in broken.text  # the reader's message
    assert "broken" not in [p.name for p in _projects(team)]


def _projects(team):
    from peerscreen.screening.project import list_projects

    return list_projects(team.database)


def test_errors_show_a_page_never_a_stack_trace(team, monkeypatch):
    olga = team.client("olga")
    from peerscreen.screening.project import ScreeningProject

    def explode(self, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(ScreeningProject, "status", explode)
    response = olga.get(f"/projects/{team.single.id}/progress")
    assert response.status_code == 500
    assert "Traceback" not in response.text and "secret internal detail" not in response.text
    assert "Something went wrong" in response.text
    api = olga.get("/api/projects/abc/next")
    assert api.status_code == 400 and "error" in api.json()


def test_screeners_cannot_resolve_and_dual_mode_is_blind(team):
    ann, bob = team.client("ann"), team.client("bob")
    for client, action in ((ann, "include"), (bob, "exclude")):
        token = csrf_of(client.get("/").text)
        record = client.get(f"/api/projects/{team.dual.id}/next").json()["record_id"]
        assert record is not None
        client.post(
            f"/api/projects/{team.dual.id}/decisions",
            json={"record_id": "r0", "action": action},
            headers={"X-CSRF-Token": token},
        )
    records = bob.get(f"/projects/{team.dual.id}/records?q=r0").text
    assert "ann" not in records  # bob never sees ann's vote
    progress = bob.get(f"/projects/{team.dual.id}/progress").text
    assert "Conflicts" not in progress and "Agreement" not in progress
    token = csrf_of(bob.get("/").text)
    refused = bob.post(
        f"/projects/{team.dual.id}/conflicts/r0/resolve",
        data={"action": "include", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert "Conflicts (1)" in team.client("olga").get(f"/projects/{team.dual.id}/progress").text


def test_the_server_binds_localhost_by_default_and_sends_safe_headers(team):
    host = inspect.signature(serve_command).parameters["host"].default
    assert host.default == "127.0.0.1"
    response = team.client().get("/signin")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
