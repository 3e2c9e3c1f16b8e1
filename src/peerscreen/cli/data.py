"""`peerscreen import`: read exports, clean, deduplicate, write one file, report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from peerscreen.cli._util import (
    FORMAT_OPTION,
    NO_DEDUP_OPTION,
    console,
    err_console,
    user_errors,
)
from peerscreen.io.ingest import ImportResult, import_records, write_duplicates_report
from peerscreen.io.writers import write_records


def import_command(
    files: list[Path] = typer.Argument(
        ..., help="Export files (or OpenAlex folders) to read.", show_default=False
    ),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="Output file; format from its extension (.csv .tsv .jsonl .xlsx .parquet .ris).",
    ),
    fmt: str | None = FORMAT_OPTION,
    no_dedup: bool = NO_DEDUP_OPTION,
    duplicates_report: Path | None = typer.Option(
        None,
        "--duplicates-report",
        help="Also write every merged group (kept record, merged ones, the rule that matched, "
        "label conflicts) to this table (.csv .tsv .xlsx).",
    ),
) -> None:
    """Read, clean and deduplicate records from any supported export; write them to one file."""
    with user_errors():
        result = import_records(files, fmt=fmt, dedup=not no_dedup)
        if duplicates_report is not None:
            write_duplicates_report(result, duplicates_report)
        write_records(result.records, output)
    print_import_report(result)
    console.print(f"wrote [bold]{result.n_records}[/] records to {output}")
    if duplicates_report is not None and result.dedup is not None:
        merged, groups = len(result.dedup.merges), len({m.kept for m in result.dedup.merges})
        console.print(
            f"duplicates report: {merged} merged record{'s' * (merged != 1)} in {groups} "
            f"group{'s' * (groups != 1)}, written to {duplicates_report}"
        )


def print_import_report(result: ImportResult) -> None:
    files = Table(title="Files read", title_justify="left")
    files.add_column("file", overflow="fold", ratio=1)
    for name in ("format", "records", "no text", "labelled", "included"):
        files.add_column(name, justify="left" if name == "format" else "right", no_wrap=True)
    for report in result.files:
        files.add_row(
            report.path,
            report.format,
            str(report.n_records),
            str(report.n_without_text),
            str(report.n_labelled),
            str(report.n_included),
        )
    console.print(files)
    for report in result.files:
        if not report.n_records:
            err_console.print(
                f"[yellow]warning:[/] {report.path}: {_no_records(report.format)}",
                highlight=False,
                soft_wrap=True,
            )
        for warning in report.warnings:
            err_console.print(f"[yellow]warning:[/] {report.path}: {warning}", highlight=False)
    if result.dedup is not None:
        dedup = result.dedup
        reasons = (
            ", ".join(f"{n} by {r}" for r, n in sorted(dedup.by_reason.items())) or "none found"
        )
        console.print(f"duplicates merged: [bold]{dedup.n_removed}[/] ({reasons})")
        for conflict in dedup.label_conflicts:
            err_console.print(f"[yellow]warning:[/] label conflict: {conflict}", highlight=False)
    missing = Table(title="Missing fields", title_justify="left")
    missing.add_column("field")
    missing.add_column("missing", justify="right")
    missing.add_column("share", justify="right")
    for name, count in result.missing.items():
        share = count / result.n_records if result.n_records else 0
        missing.add_row(name, str(count), f"{share:.0%}")
    console.print(missing)
    if result.without_text:
        shown = ", ".join(result.without_text[:5]) + (
            " ..." if len(result.without_text) > 5 else ""
        )
        console.print(
            f"[yellow]{len(result.without_text)}[/] records have neither title nor abstract "
            f"(kept): {shown}"
        )
    labelled = (
        f"{result.n_labelled} labelled, {result.n_included} included"
        if result.n_labelled
        else "unlabelled"
    )
    console.print(f"[bold]{result.n_records}[/] records ({labelled})")


def _no_records(fmt: str) -> str:
    """The warning for a file that read cleanly but holds nothing (often an export gone
    wrong, e.g. a search saved before its results loaded)."""
    if fmt in ("csv", "tsv", "xlsx"):
        return "0 records (the file has a header line but no rows)"
    return "0 records"


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
