"""The web app's pages and API doing their work (issue 13 item 2), on SQLite and
PostgreSQL: the screening page (evidence marked, band, tags, form fallback), the records
page (pagination, filters, corrections logged as new decisions), progress, members,
export in every writer format, and the `serve` command's start-up."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa
from typer.testing import CliRunner

from peerscreen.review.criteria import Flag
from peerscreen.screening import accounts
from peerscreen.screening.creation import create_project_in
from peerscreen.screening.store import ScreeningRecord
from peerscreen.web.render import band, marked_record, recall_curve_svg
from peerscreen.web.routes_progress import EXPORT_FORMATS
from tests.web.conftest import PASSWORD, csrf_of, write_records


def _decide(client, project_id: int, record_id: str, action: str, **extra):
    token = csrf_of(client.get("/").text)
    response = client.post(
        f"/api/projects/{project_id}/decisions",
        json={"record_id": record_id, "action": action, **extra},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_evidence_is_marked_on_the_escaped_text_by_the_flags_offsets():
    title = "<b>Online</b> forum & chat for teens"
    abstract = 'Teenagers "aged 12-17" used an app.'
    start = len(title) + 2  # flags index title + blank line + abstract
    flags = [
        Flag("online_or_phone_only", "Online", 3, 9, 0.9, "title"),
        Flag("youth_only", "Teenagers", start, start + 9, 0.8, "abstract"),
        Flag("youth_only", "aged 12-17", start + 11, start + 21, 0.7, "abstract"),
    ]
    record = ScreeningRecord(0, "r0", title, abstract, 2010, "en", {}, flags)
    marked = marked_record(record)
    assert str(marked.title) == (
        '&lt;b&gt;<mark title="online_or_phone_only">Online</mark>&lt;/b&gt; forum &amp; '
        "chat for teens"
    )
    assert str(marked.abstract) == (
        '<mark title="youth_only">Teenagers</mark> &#34;'
        '<mark title="youth_only">aged 12-17</mark>&#34; used an app.'
    )
    assert band(None) is None and band(0.7) == "include" and band(0.2) == "check"
    assert band(0.01) == "exclude"


def test_screening_page_shows_the_record_band_tags_criteria_and_keys(team, tmp_path):
    path = tmp_path / "tagged.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "abstract", "category", "outcomes"])
        for i in range(4):
            writer.writerow(
                [
                    f"t{i}",
                    f"Internet forum {i} for adolescents with asthma",
                    "Peer specialists helped adults with schizophrenia.",
                    "online_peer_support",
                    "quality_of_life; recovery",
                ]
            )
    project, _ = create_project_in(team.database, "tagged", [path])
    html = team.client("olga").get(f"/projects/{project.id}/screen").text
    assert '<mark title="online_or_phone_only">Internet</mark>' in html
    assert 'class="tag tag-category">online_peer_support' in html
    assert 'class="tag tag-outcomes">quality_of_life' in html
    assert "Inclusion criteria" in html and "not_peer_support" in html
    assert 'data-codes="not_peer_support,' in html  # the 1-9 keys' exclusion codes
    assert "cold start" in html  # no model yet: the page says how records are ranked
    assert 'src="/static/screen.js"' in html
    script = team.client().get("/static/screen.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text


def test_a_decision_answers_with_the_next_record_and_the_form_fallback_works(team):
    ann = team.client("ann")
    project = team.single
    first = ann.get(f"/api/projects/{project.id}/next").json()["record_id"]
    answer = _decide(ann, project.id, first, "exclude", reason="youth_only", note="teens")
    assert answer["saved"]["reason"] == "youth_only" and answer["saved"]["screener"] == "ann"
    assert answer["record_id"] not in (None, first)
    assert f'data-record-id="{answer["record_id"]}"' in answer["html"]
    assert answer["progress"]["screened"] == 1
    token = csrf_of(ann.get("/").text)
    form = ann.post(
        f"/projects/{project.id}/screen",
        data={"csrf_token": token, "record_id": answer["record_id"], "action": "include"},
        follow_redirects=False,
    )
    assert form.status_code == 303 and form.headers["location"].endswith("/screen")
    undo = ann.post(
        f"/projects/{project.id}/screen",
        data={"csrf_token": token, "action": "undo"},
        follow_redirects=False,
    )
    assert undo.status_code == 303
    log = project.decisions(include_undone=True)
    assert [(d.action, d.undone, d.note) for d in log] == [
        ("exclude", False, "teens"),
        ("include", True, None),
    ]
    bad = ann.post(
        f"/api/projects/{project.id}/decisions",
        json={"action": "include"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 400 and "record_id" in bad.json()["error"]


def test_records_page_paginates_filters_searches_and_logs_corrections(team, tmp_path):
    project, _ = create_project_in(team.database, "big", [write_records(tmp_path / "big.csv", 120)])
    olga = team.client("olga")
    _decide(olga, project.id, "r3", "exclude")
    base = f"/projects/{project.id}/records"
    first = olga.get(base)
    assert first.status_code == 200 and "120 records · page 1 of 3" in first.text
    second = olga.get(f"{base}?page=2")
    assert second.status_code == 200 and "page 2 of 3" in second.text
    assert "← previous" in second.text and "next →" in second.text
    assert ">r50<" in second.text and ">r49<" not in second.text
    assert olga.get(f"{base}?page=999").status_code == 200  # clamped to the last page
    excluded = olga.get(f"{base}?status=exclude").text
    assert "1 records" in excluded and ">r3<" in excluded
    search = olga.get(f"{base}?q=asthma+r11").text
    assert ">r11<" in search and ">r10<" not in search
    token = csrf_of(first.text)
    corrected = olga.post(
        f"{base}/r3/decisions",
        data={"csrf_token": token, "action": "include", "note": "misread", "back": base},
        follow_redirects=False,
    )
    assert corrected.status_code == 303 and corrected.headers["location"] == base
    log = [d for d in project.decisions(include_undone=True) if d.record_id == "r3"]
    assert [(d.action, d.source) for d in log] == [
        ("exclude", "web"),
        ("include", "web correction"),
    ]
    assert project.label_state().status[project.position("r3")] == "include"
    row = olga.get(f"{base}?q=r3").text
    assert row.count("· olga ·") == 2 and "misread" in row
    escape = olga.post(
        f"{base}/r4/decisions",
        data={"csrf_token": token, "action": "include", "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert escape.headers["location"] == base  # never redirected off the project


def test_an_owners_correction_in_dual_mode_is_a_resolution(team):
    ann, bob = team.client("ann"), team.client("bob")
    _decide(ann, team.dual.id, "r0", "include")
    _decide(bob, team.dual.id, "r0", "exclude")
    olga = team.client("olga")
    assert "conflict" in olga.get(f"/projects/{team.dual.id}/records?status=conflict").text
    token = csrf_of(olga.get("/").text)
    olga.post(
        f"/projects/{team.dual.id}/records/r0/decisions",
        data={"csrf_token": token, "action": "exclude"},
    )
    modes = [d.mode for d in team.dual.decisions() if d.record_id == "r0"]
    assert modes == ["first", "second", "resolution"]
    assert team.dual.label_state().status[team.dual.position("r0")] == "exclude"


def test_progress_page_shows_counts_curve_rules_and_contributions(team):
    ann = team.client("ann")
    for record_id, action in (("r0", "include"), ("r1", "exclude"), ("r2", "include")):
        _decide(ann, team.single.id, record_id, action)
    html = ann.get(f"/projects/{team.single.id}/progress").text
    assert "<strong>3</strong> screened" in html and "<strong>2</strong> included" in html
    assert '<svg class="curve"' in html and "3 screened</text>" in html
    assert "Stopping rule" in html
    assert re.search(r"<td>ann</td><td class=\"num\">3</td>", html)
    assert "Agreement" not in html  # single mode
    empty = recall_curve_svg(team.dual.label_state())
    assert "0 screened" in str(empty)


def test_agreement_and_conflicts_for_the_owner(team):
    ann, bob = team.client("ann"), team.client("bob")
    for record_id, (a, b) in {"r0": ("include", "exclude"), "r2": ("include", "include")}.items():
        _decide(ann, team.dual.id, record_id, a)
        _decide(bob, team.dual.id, record_id, b)
    html = team.client("olga").get(f"/projects/{team.dual.id}/progress").text
    assert "ann · bob" in html and "95% CI" in html and "Gwet" in html
    assert "Conflicts (1)" in html and "/conflicts/r0/resolve" in html


def test_export_in_every_writer_format(team):
    ann = team.client("ann")
    _decide(ann, team.single.id, "r0", "include")
    magic = {"xlsx": b"PK", "parquet": b"PAR1", "ris": b"TY  -"}
    for fmt in EXPORT_FORMATS:
        response = ann.get(f"/projects/{team.single.id}/export?format={fmt}")
        assert response.status_code == 200, fmt
        disposition = response.headers["content-disposition"]
        assert f'filename="single-review-decisions.{fmt}"' in disposition
        body = response.content
        if fmt in magic:
            assert body.startswith(magic[fmt]), fmt
        elif fmt in ("csv", "tsv"):
            sep = "," if fmt == "csv" else "\t"
            rows = list(csv.reader(io.StringIO(body.decode()), delimiter=sep))
            assert len(rows) == 31 and "r0" in {r[0] for r in rows}
        else:
            assert body.count(b"\n") == 30 and b'"r0"' in body, fmt
    assert set(EXPORT_FORMATS) >= {"csv", "tsv", "jsonl", "xlsx", "parquet", "ris"}
    assert ann.get(f"/projects/{team.single.id}/export?format=exe").status_code == 400


def test_owners_add_members_and_screeners_cannot(team):
    olga, ann = team.client("olga"), team.client("ann")
    token = csrf_of(olga.get("/").text)
    added = olga.post(
        f"/projects/{team.single.id}/members",
        data={"csrf_token": token, "name": "bob", "role": "screener"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert accounts.role_in(team.database, team.bob, team.single.id) == "screener"
    new = olga.post(
        f"/projects/{team.single.id}/members",
        data={"csrf_token": token, "name": "cem", "role": "screener", "password": PASSWORD},
    )
    assert new.status_code == 200 and "cem" in new.text
    assert team.client("cem").get(f"/projects/{team.single.id}/screen").status_code == 200
    missing = olga.post(
        f"/projects/{team.single.id}/members",
        data={"csrf_token": token, "name": "nobody"},
    )
    assert missing.status_code == 400 and "give a password" in missing.text
    token = csrf_of(ann.get("/").text)
    refused = ann.post(
        f"/projects/{team.single.id}/members",
        data={"csrf_token": token, "name": "bob", "role": "owner"},
    )
    assert refused.status_code == 403


def test_creating_a_project_by_upload_makes_the_user_its_owner(team, tmp_path):
    ann = team.client("ann")
    token = csrf_of(ann.get("/").text)
    upload = write_records(tmp_path / "export.csv", 12).read_bytes()
    response = ann.post(
        "/projects",
        data={"name": "ann's review", "csrf_token": token, "mode": "dual"},
        files={"files": ("my-search.csv", upload, "text/csv")},
    )
    assert response.status_code == 200
    assert "Created ann&#39;s review" in response.text and "my-search.csv" in response.text
    assert "/tmp" not in response.text  # the server's temporary folder never shows
    assert "Records missing a field: authors 12 · journal 12" in response.text
    with team.database.read() as conn:
        from peerscreen.screening import schema

        project_id = conn.execute(
            sa.select(schema.projects.c.id).where(schema.projects.c.name == "ann's review")
        ).scalar_one()
    assert accounts.role_in(team.database, team.ann, project_id) == "owner"
    assert "ann&#39;s review" in ann.get("/").text
    assert "ann&#39;s review" not in team.client("bob").get("/").text


def test_serve_prints_the_url_and_the_first_owner_hint_without_secrets(database_url, monkeypatch):
    import uvicorn

    from peerscreen.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda the_app, **kwargs: calls.append(kwargs))
    url = database_url
    if url.startswith("postgresql"):
        url = url.replace("postgres@", "postgres:sekrit-password@")  # trust auth ignores it
    result = CliRunner().invoke(app, ["serve", "--database", url, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert "peerscreen users add NAME --role owner" in result.output
    assert "sekrit-password" not in result.output
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["proxy_headers"] is False
    result = CliRunner().invoke(
        app, ["serve", "--database", url, "--behind-proxy", "--host", "0.0.0.0"]
    )
    assert result.exit_code == 0, result.output
    assert calls[-1]["proxy_headers"] is True and calls[-1]["host"] == "0.0.0.0"
    assert "plain HTTP" not in result.output  # behind a proxy: no warning
    result = CliRunner().invoke(app, ["serve", "--database", url, "--host", "0.0.0.0"])
    assert "plain HTTP" in result.output
