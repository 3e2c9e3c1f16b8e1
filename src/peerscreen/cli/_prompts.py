"""What `screen next` asks the reviewer for each record: the action, the exclusion code, a note.

Kept apart from `cli.screen` (which shows records and runs the loop) so each stays short.
On a terminal the action is one key and the code prompt backs out on one key
(`cli._keys`); from a pipe or a test everything is a line, including the one-line shortcuts
('e youth_only too young').
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape

from peerscreen.cli import _keys
from peerscreen.cli._util import console, err_console
from peerscreen.screening import ScreeningError, ScreeningProject, ScreeningRecord

KEYS = {"i": "include", "e": "exclude", "s": "skip", "u": "undo", "q": "quit"}
_ACTION_PROMPT = "[i]nclude [e]xclude [s]kip [u]ndo [q]uit ? > "
_NO_CODE = "-"
_BACK_KEYS = ("q", "u")
_HELP_KEYS = (
    "i include, e exclude, s skip (show again at the end), u undo the last decision, q quit.\n"
    "After e: Enter takes the flagged code in [brackets]; or type a code, its number or a\n"
    "prefix then Enter; - for no code; ? lists the codes; q or u go back without deciding."
)
_HELP_LINES = (
    _HELP_KEYS + "\nShortcuts: 'e CODE note...' excludes with a reason and a note;\n"
    "'i note...' and 's note...' include or skip with a note."
)


@dataclass
class Answer:
    """One decision as typed: the action, and the reason and note if they were given."""

    action: str
    reason: str | None = None
    note: str | None = None
    reason_given: bool = False
    note_given: bool = False


class _Back(Exception):
    """The reviewer backed out of the code prompt: nothing is decided."""


def _numbered(codes: list[str], chosen: list[str]) -> str:
    return "  ".join(f"{codes.index(c) + 1}:{c}" for c in chosen)


def resolve_code(project: ScreeningProject, text: str) -> str:
    """An exclusion code from its name, its number in the list, or a unique prefix.

    An ambiguous prefix raises ScreeningError listing the codes it matches (with their
    numbers), so the reviewer can type one more letter or the number."""
    codes = project.protocol.exclusion_codes
    if text in codes:
        return text
    if text.isdigit() and 1 <= int(text) <= len(codes):
        return codes[int(text) - 1]
    matches = [c for c in codes if c.casefold().startswith(text.casefold())]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ScreeningError(
            f"'{text}' could be {_numbered(codes, matches)}: type more of it, or its number"
        )
    return project.check_reason(text) or ""  # raises ScreeningError with the valid codes


def flagged_code(project: ScreeningProject, record: ScreeningRecord) -> str | None:
    """The exclusion code of the record's most confident criteria flag: the likely reason,
    offered as the default so a flagged record is excluded with e and Enter."""
    codes = project.protocol.exclusion_codes
    flags = [f for f in record.flags if f.code in codes]
    return max(flags, key=lambda f: f.confidence).code if flags else None


def parse_answer(project: ScreeningProject, line: str) -> Answer | None:
    """An action key or word, with an optional code (after e) and note; None if it is none."""
    words = line.strip().split(maxsplit=1)
    if not words:
        return None
    key, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    action = KEYS.get(key) or (key if key in KEYS.values() else None)
    if action is None:
        return None
    answer = Answer(action)
    if action == "exclude" and rest:
        code, _, note = rest.partition(" ")
        answer.reason, answer.reason_given = resolve_code(project, code), True
        rest = note
    if rest.strip() and action in ("include", "exclude", "skip"):
        answer.note, answer.note_given = rest.strip(), True
    return answer


def _warn(exc: ScreeningError) -> None:
    err_console.print(f"[yellow]{escape(str(exc))}[/]", highlight=False, soft_wrap=True)


def ask_action(project: ScreeningProject) -> Answer:
    """One key on a terminal, else one line; asks again until it is an action."""
    keys = _keys.single_keys()
    while True:
        line = _keys.read_key(_ACTION_PROMPT) if keys else _keys.read_text(_ACTION_PROMPT)
        if line.strip() == "?":
            console.print(_HELP_KEYS if keys else _HELP_LINES, highlight=False, markup=False)
            continue
        try:
            answer = parse_answer(project, line)
        except ScreeningError as exc:
            _warn(exc)
            continue
        if answer is not None:
            return answer
        console.print("type i, e, s, u or q (? for help)")


def _print_codes(project: ScreeningProject) -> None:
    codes = project.protocol.exclusion_codes
    console.print(_numbered(codes, codes), highlight=False)


def _reason_prompt(project: ScreeningProject, record: ScreeningRecord) -> str:
    codes = project.protocol.exclusion_codes
    flagged = list(dict.fromkeys(f.code for f in record.flags if f.code in codes))
    default = flagged_code(project, record)
    if flagged:
        console.print(f"flagged: {_numbered(codes, flagged)}", highlight=False)
    enter = f"Enter takes it, {_NO_CODE} none" if default else "Enter for none"
    offered = f" [{default}]" if default else ""
    return f"exclusion code or number{offered} ({enter}, ? list, q back) > "


def ask_reason(project: ScreeningProject, record: ScreeningRecord) -> str | None:
    """The exclusion code: Enter takes the flagged one; q or u raise _Back."""
    default = flagged_code(project, record)
    prompt = _reason_prompt(project, record)
    while True:
        text = _keys.read_text(prompt, immediate="".join(_BACK_KEYS) + "?" + _NO_CODE).strip()
        if not text:
            return default
        if text == _NO_CODE:
            return None
        if text.lower() in _BACK_KEYS:
            raise _Back
        if text == "?":
            _print_codes(project)
            continue
        try:
            return resolve_code(project, text)
        except ScreeningError as exc:
            _warn(exc)


def ask_note() -> str | None:
    """A free-text note; always a whole line (Enter for none)."""
    return _keys.read_text("note (Enter for none) > ").strip() or None


def ask_decision(project: ScreeningProject, record: ScreeningRecord, notes: bool) -> Answer:
    """The action, then (for an exclusion) its code, then a note if `notes`; backing out of
    the code prompt returns to the action with nothing decided."""
    while True:
        answer = ask_action(project)
        if answer.action == "exclude" and not answer.reason_given:
            try:
                answer.reason = ask_reason(project, record)
            except _Back:
                console.print("back: nothing decided for this record", style="dim")
                continue
        if notes and not answer.note_given and answer.action in ("include", "exclude"):
            answer.note = ask_note()
        return answer
