"""Render the screening page in Debian's chromium and save it as docs/screening.png (the
README shows it). The project: the example records (data/examples/new_records.ris), with
a few decisions made and the model retrained, so p_include and its band show.

    .venv/bin/python tools/screenshot.py [--output docs/screening.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.browser import chromium, running_server, sign_in  # noqa: E402

from peerscreen.screening import accounts  # noqa: E402
from peerscreen.screening.creation import create_project_in  # noqa: E402
from peerscreen.screening.database import open_database  # noqa: E402
from peerscreen.screening.service import ScreeningService  # noqa: E402
from peerscreen.web import create_app  # noqa: E402

PASSWORD = "screenshot-only"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "screening.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(Path(folder) / "team.db", create=True)
        accounts.add_user(database, "maria", PASSWORD, admin=True)
        records = ROOT / "data" / "examples" / "new_records.ris"
        project, _ = create_project_in(database, "peer-support-2026", [records])
        service = ScreeningService(project, background=False)
        for i in range(10):  # a few decisions of both kinds, so p_include shows
            record = service.next_for("maria")
            action = "exclude" if record.flags or i % 2 else "include"
            service.decide("maria", record.record_id, action)
        service.retrain_now()
        service.release("maria")
        app = create_app(database)
        with running_server(app) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1320, "height": 900})
            sign_in(page, base, "maria", PASSWORD)
            page.goto(f"{base}/projects/{project.id}/screen")
            page.wait_for_selector("#record article")
            args.output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.output), full_page=False)
        database.dispose()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
