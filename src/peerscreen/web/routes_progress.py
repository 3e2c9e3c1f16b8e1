"""The progress page (counts, the recall curve, each stopping rule, who screened what; in
dual mode the conflicts and the agreement per pair of screeners, for owners), resolving a
conflict, and exporting the decisions in every writer format."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask

from peerscreen.io.writers import WRITERS
from peerscreen.screening.advice import describe_rule
from peerscreen.web.render import recall_curve_svg
from peerscreen.web.state import WebError, check_csrf, owner_access, project_access, render

router = APIRouter()
EXPORT_FORMATS = tuple(suffix.lstrip(".") for suffix in WRITERS if suffix != ".ndjson")


@router.get("/projects/{project_id}/progress")
def progress_page(request: Request, project_id: int):
    access = project_access(request, project_id)
    project, service = access.project, access.service
    status = project.status()
    advice = status.advice
    rules = []
    if advice is not None:
        for name, estimate in advice.rules.items():
            words = describe_rule(
                estimate,
                advice.n_screened,
                target_recall=advice.target_recall,
                confidence=advice.confidence,
            )
            rules.append({"name": name, "stop": estimate.stop, "words": words})
    dual = project.mode == "dual"
    show_team = not dual or access.is_owner  # blind: screeners do not see the others' votes
    return render(
        request,
        "progress.html",
        access=access,
        project=project,
        status=status,
        sentences=advice.sentences() if advice is not None else [],
        rules=rules,
        curve=recall_curve_svg(project.label_state()),
        contributions=service.contributions() if show_team else {},
        conflicts=service.conflicts() if dual and access.is_owner else [],
        agreement=service.agreement() if dual and access.is_owner else [],
        formats=EXPORT_FORMATS,
        retrain_error=service.worker.last_error,
    )


@router.post(
    "/projects/{project_id}/conflicts/{record_id}/resolve", dependencies=[Depends(check_csrf)]
)
def resolve(
    request: Request,
    project_id: int,
    record_id: str,
    action: str = Form(...),
    reason: str = Form(""),
    note: str = Form(""),
):
    access = owner_access(request, project_id)
    access.service.resolve(
        access.user.name, record_id, action, reason=reason or None, note=note, source="web"
    )
    return RedirectResponse(f"/projects/{project_id}/progress#conflicts", status_code=303)


@router.get("/projects/{project_id}/export")
def export(request: Request, project_id: int, format: str = "csv"):
    access = project_access(request, project_id)
    if format not in EXPORT_FORMATS:
        raise WebError(
            400, f"Unknown export format '{format}' (choose from {', '.join(EXPORT_FORMATS)})."
        )
    project = access.project
    if project.mode == "dual" and not access.is_owner:
        raise WebError(403, "In dual screening only an owner exports the decisions.")
    folder = Path(tempfile.mkdtemp(prefix="peerscreen-export-"))
    filename = f"{_safe(project.name)}-decisions.{format}"
    target = project.export(folder / filename)
    return FileResponse(
        target,
        filename=filename,
        background=BackgroundTask(_remove, folder),
    )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "project"


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
