"""The screening page and its JSON API: the next record for the signed-in screener,
decide, undo. A decision is committed before the answer goes back, and the answer carries
the next record, so it shows at once; the model retrains in the project's background
worker, never in the request."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from peerscreen.screening.labels import LabelState
from peerscreen.screening.store import Decision, ScreeningRecord
from peerscreen.web.render import band, flag_rows, marked_record, tags_of
from peerscreen.web.state import (
    Access,
    WebError,
    check_csrf,
    project_access,
    render,
    web_state,
)

router = APIRouter()


def _own_latest(access: Access, record: ScreeningRecord, state: LabelState) -> Decision | None:
    """The record's current decision as this screener may see it: in dual mode only their
    own (blind screening). In single mode it is the label state's latest, so no second
    read of the log (a decide+next answer reads the store as little as it can)."""
    if access.project.mode != "dual":
        return state.latest.get(record.position)
    mine = [
        d
        for d in access.project.decisions()
        if d.record_id == record.record_id
        and d.screener == access.user.name
        and d.mode != "resolution"
    ]
    return mine[-1] if mine else None


def _progress(access: Access, state: LabelState) -> dict:
    return {"screened": len(state.order), "records": access.project.n_records}


def _card_context(access: Access, record: ScreeningRecord | None) -> dict:
    project = access.project
    state = project.label_state()
    context = {"project": project, "record": record, "progress": _progress(access, state)}
    if record is None:
        return context
    scores = project.scores()
    p_include = scores.p_include(record.position)
    context.update(
        marked=marked_record(record),
        details=record.details(),
        p_include=p_include,
        band=band(p_include),
        model_kind=scores.kind,
        model_version=scores.version,
        flags=flag_rows(record.flags),
        tags=tags_of(record),
        currently=_own_latest(access, record, state),
    )
    return context


def _next_payload(request: Request, access: Access) -> dict:
    record = access.service.next_for(access.user.name)
    context = _card_context(access, record)
    template = web_state(request).templates.get_template("_record.html")
    return {
        "record_id": None if record is None else record.record_id,
        "html": template.render(request=request, **context),
        "progress": context["progress"],
    }


def _decision_json(decision: Decision) -> dict:
    return {
        "seq": decision.seq,
        "record_id": decision.record_id,
        "action": decision.action,
        "reason": decision.reason,
        "mode": decision.mode,
        "screener": decision.screener,
        "decided_at": decision.decided_at,
    }


@router.get("/projects/{project_id}/screen")
def screen_page(request: Request, project_id: int):
    access = project_access(request, project_id)
    record = access.service.next_for(access.user.name)
    protocol = access.project.protocol
    return render(
        request,
        "screen.html",
        access=access,
        project=access.project,
        inclusion=protocol.inclusion,
        exclusion=protocol.exclusion,
        **{k: v for k, v in _card_context(access, record).items() if k != "project"},
    )


@router.post("/projects/{project_id}/screen", dependencies=[Depends(check_csrf)])
def screen_form(
    request: Request,
    project_id: int,
    record_id: str = Form(""),
    action: str = Form(...),
    reason: str = Form(""),
    note: str = Form(""),
):
    """The page's plain-form fallback (no script): decide or undo, then the next record."""
    access = project_access(request, project_id)
    if action == "undo":
        access.service.undo(access.user.name)
    else:
        access.service.decide(
            access.user.name,
            record_id,
            action,
            reason=reason or None,
            note=note,
            source="web",
        )
    return RedirectResponse(f"/projects/{project_id}/screen", status_code=303)


@router.get("/api/projects/{project_id}/next")
def api_next(request: Request, project_id: int):
    access = project_access(request, project_id)
    return JSONResponse(_next_payload(request, access))


@router.post("/api/projects/{project_id}/decisions", dependencies=[Depends(check_csrf)])
def api_decide(request: Request, project_id: int, body: dict = Body(...)):
    access = project_access(request, project_id)
    action = body.get("action")
    if not isinstance(body.get("record_id"), str) or not isinstance(action, str):
        raise WebError(400, "A decision needs record_id and action.")
    decision = access.service.decide(
        access.user.name,
        body["record_id"],
        action,
        reason=body.get("reason") or None,
        note=body.get("note") or None,
        source="web",
    )
    return JSONResponse({"saved": _decision_json(decision), **_next_payload(request, access)})


@router.post("/api/projects/{project_id}/undo", dependencies=[Depends(check_csrf)])
def api_undo(request: Request, project_id: int):
    access = project_access(request, project_id)
    undone = access.service.undo(access.user.name)
    return JSONResponse(
        {
            "undone": None if undone is None else _decision_json(undone),
            **_next_payload(request, access),
        }
    )
