"""The records page: every record with its decisions, filtered and searched, and
corrections (a correction is a new decision in the log, never an edit).

In dual mode a screener sees only their own decisions (blind screening); owners see all,
and an owner's correction there is a resolution: the record's final label."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from peerscreen.screening.store import Decision
from peerscreen.web.state import Access, check_csrf, project_access, render

router = APIRouter()
PAGE_SIZE = 50
STATUSES = ("all", "unscreened", "include", "exclude", "skip", "conflict")


def _visible(access: Access, decisions: list[Decision]) -> list[Decision]:
    if access.project.mode != "dual" or access.is_owner:
        return decisions
    return [d for d in decisions if d.screener == access.user.name]


def _rows(access: Access) -> list[dict]:
    project = access.project
    log = _visible(access, project.decisions(include_undone=True))
    by_record: dict[str, list[Decision]] = {}
    for decision in log:
        by_record.setdefault(decision.record_id, []).append(decision)
    state = project.label_state()
    blind = project.mode == "dual" and not access.is_owner
    rows = []
    for position, (record_id, title, abstract, year, _lang, _fields) in enumerate(
        project.record_rows()
    ):
        decisions = by_record.get(record_id, [])
        active = [d for d in decisions if not d.undone]
        status = (active[-1].action if active else None) if blind else state.status[position]
        labels = {d.action for d in _latest_per_screener(active)} & {"include", "exclude"}
        conflict = (
            project.mode == "dual"
            and not blind
            and len(labels) == 2
            and not any(d.mode == "resolution" for d in active)
        )
        rows.append(
            {
                "record_id": record_id,
                "title": title,
                "abstract": abstract or "",
                "year": year,
                "status": status,
                "conflict": conflict,
                "decisions": decisions,
            }
        )
    return rows


def _latest_per_screener(active: list[Decision]) -> list[Decision]:
    latest: dict[str, Decision] = {}
    for decision in active:
        if decision.mode != "resolution":
            latest[decision.screener or ""] = decision
    return list(latest.values())


def _matches(row: dict, status: str, query: str) -> bool:
    if status == "unscreened" and row["status"] not in (None, "skip"):
        return False
    if status in ("include", "exclude", "skip") and row["status"] != status:
        return False
    if status == "conflict" and not row["conflict"]:
        return False
    if query:
        haystack = f"{row['record_id']} {row['title'] or ''} {row['abstract']}".lower()
        return all(word in haystack for word in query.lower().split())
    return True


@router.get("/projects/{project_id}/records")
def records_page(
    request: Request, project_id: int, status: str = "all", q: str = "", page: int = 1
):
    access = project_access(request, project_id)
    status = status if status in STATUSES else "all"
    rows = [r for r in _rows(access) if _matches(r, status, q.strip())]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return render(
        request,
        "records.html",
        access=access,
        project=access.project,
        rows=shown,
        n_matching=len(rows),
        status=status,
        statuses=STATUSES,
        q=q,
        page=page,
        pages=pages,
        codes=access.project.protocol.exclusion_codes,
    )


@router.post(
    "/projects/{project_id}/records/{record_id}/decisions", dependencies=[Depends(check_csrf)]
)
def correct(
    request: Request,
    project_id: int,
    record_id: str,
    action: str = Form(...),
    reason: str = Form(""),
    note: str = Form(""),
    back: str = Form(""),
):
    access = project_access(request, project_id)
    resolves = (
        access.project.mode == "dual" and access.is_owner and action in ("include", "exclude")
    )
    record = access.service.resolve if resolves else access.service.decide
    record(
        access.user.name,
        record_id,
        action,
        reason=reason or None,
        note=note,
        source="web correction",
    )
    target = (
        back if back.startswith(f"/projects/{project_id}/") else (f"/projects/{project_id}/records")
    )
    return RedirectResponse(target, status_code=303)
