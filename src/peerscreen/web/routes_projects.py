"""The projects list, creating a project from an upload, and a project's members."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse

from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.screening import accounts
from peerscreen.screening.creation import create_project_in
from peerscreen.web.state import (
    WebError,
    check_csrf,
    current_user,
    owner_access,
    project_access,
    render,
    web_state,
)

router = APIRouter()
_CHUNK = 1024 * 1024


def _configs() -> dict[str, Path]:
    """The protocol configs a project can be created with: the default review and the
    examples beside it (name -> path)."""
    found = {"default review (configs/review.toml)": DEFAULT_CONFIG}
    for path in sorted((DEFAULT_CONFIG.parent / "examples").glob("*.toml")):
        found[f"examples/{path.name}"] = path
    return found


@router.get("/")
def projects_page(request: Request):
    user = current_user(request)
    projects = accounts.projects_for(web_state(request).database, user.id)
    return render(request, "projects.html", projects=projects, configs=list(_configs()))


def _check_length(request: Request) -> None:
    """Refuse an upload larger than the limit before reading it (413)."""
    limit = web_state(request).max_upload_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise WebError(413, f"The upload is larger than {limit // (1024 * 1024)} MB.")


def _save(upload: UploadFile, folder: Path, limit: int, used: int) -> tuple[Path, int]:
    """Copy an upload to `folder` under its own base name (the suffix tells the reader the
    format), counting bytes against `limit`."""
    name = Path(upload.filename or "upload").name or "upload"
    target = folder / name
    with target.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            used += len(chunk)
            if used > limit:
                raise WebError(413, f"The upload is larger than {limit // (1024 * 1024)} MB.")
            out.write(chunk)
    return target, used


@router.post("/projects", dependencies=[Depends(_check_length), Depends(check_csrf)])
def create_project(
    request: Request,
    name: str = Form(...),
    mode: str = Form("single"),
    config: str = Form(""),
    files: list[UploadFile] = File(...),
    config_file: UploadFile | None = File(None),
):
    user = current_user(request)
    state = web_state(request)
    folder = Path(tempfile.mkdtemp(prefix="peerscreen-upload-"))
    try:
        used = 0
        saved = []
        for upload in files:
            if upload.filename:
                path, used = _save(upload, folder, state.max_upload_bytes, used)
                saved.append(path)
        if not saved:
            raise WebError(400, "Choose at least one file of records to import.")
        config_path = _configs().get(config, DEFAULT_CONFIG)
        if config_file is not None and config_file.filename:
            own = folder / "protocol"
            own.mkdir()
            config_path, used = _save(config_file, own, state.max_upload_bytes, used)
        project, result = create_project_in(
            state.database, name, saved, config=config_path, mode=mode
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not user.is_admin:
        accounts.grant(state.database, user.id, project.id, "owner")
    return render(request, "imported.html", project=project, result=result)


@router.get("/projects/{project_id}")
def project_home(request: Request, project_id: int):
    project_access(request, project_id)
    return RedirectResponse(f"/projects/{project_id}/screen", status_code=303)


@router.get("/projects/{project_id}/members")
def members_page(request: Request, project_id: int):
    access = project_access(request, project_id)
    members = accounts.members(web_state(request).database, project_id)
    return render(request, "members.html", access=access, project=access.project, members=members)


@router.post("/projects/{project_id}/members", dependencies=[Depends(check_csrf)])
def add_member(
    request: Request,
    project_id: int,
    name: str = Form(...),
    role: str = Form("screener"),
    password: str = Form(""),
):
    """An owner adds a user to the project: an existing account, or a new one when a
    password is given."""
    access = owner_access(request, project_id)
    database = web_state(request).database
    user = accounts.find_user(database, name)
    if user is None:
        if not password:
            raise WebError(400, f"No user named '{name}': give a password to create one.")
        accounts.add_user(database, name, password, role=role, project_id=access.project.id)
    else:
        accounts.grant(database, user.id, access.project.id, role)
    return RedirectResponse(f"/projects/{project_id}/members", status_code=303)
