"""Reading the reviewer's answers: one keypress on a terminal, whole lines anywhere else.

On a real terminal `screen next` takes i/e/s/u/q without Enter, the way a screening app takes
a click. For each read the terminal goes into non-canonical, no-echo mode and is put back in
a `finally`, so a key, Ctrl-C, Ctrl-D or an error all leave it as it was. Ctrl-C stays a
signal (ISIG is kept), so it raises KeyboardInterrupt as it does anywhere else in Python.
When stdin or stdout is not a terminal (a script, a pipe, Typer's CliRunner) every read is a
whole line, so scripted sessions and tests work exactly as before.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from collections.abc import Iterator

try:  # POSIX only; elsewhere every read is a line
    import termios
except ImportError:  # pragma: no cover - Windows
    termios = None  # type: ignore[assignment]

ENTER = "\n"
BACKSPACE = "\b"
_ESCAPE_WAIT_S = 0.02  # the rest of an arrow key's escape sequence arrives within this


def single_keys() -> bool:
    """True where one keypress can be read without Enter: stdin and stdout are both a TTY.

    Stdout counts too: with output piped to a file nobody sees a prompt to answer by key."""
    if termios is None:
        return False
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


@contextlib.contextmanager
def _keypress_mode(fd: int) -> Iterator[None]:
    """Non-canonical, no-echo input for the block; the saved settings come back on any exit."""
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO)  # lflag; ISIG stays: Ctrl-C is a signal
    mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSADRAIN, mode)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def decode_key(data: bytes) -> str:
    """The key one read returned: a character, ENTER, BACKSPACE, or '' for a key with no
    character (arrows, function keys). Ctrl-D or no data is EOFError (the input ended);
    a literal Ctrl-C byte (a terminal without ISIG) is KeyboardInterrupt."""
    if not data or data[:1] == b"\x04":
        raise EOFError
    if data[:1] == b"\x03":
        raise KeyboardInterrupt
    if data[:1] in (b"\r", b"\n"):
        return ENTER
    if data[:1] in (b"\x7f", b"\x08"):
        return BACKSPACE
    if data[:1] == b"\x1b":
        return ""
    text = data.decode("utf-8", errors="ignore")
    return text[:1] if text[:1].isprintable() else ""


def _utf8_length(lead: int) -> int:
    """Bytes in the UTF-8 character starting with `lead` (1 for ASCII or a stray byte)."""
    for length, marker in ((4, 0xF0), (3, 0xE0), (2, 0xC0)):
        if lead & marker == marker:
            return length
    return 1


def _escape_sequence(fd: int) -> bytes:
    """The rest of an escape sequence (arrow, function key, Alt+key) after ESC, and no more:
    CSI (ESC [ ... final byte 0x40-0x7E), SS3 (ESC O x), or one byte; a lone ESC is nothing."""
    if not select.select([fd], [], [], _ESCAPE_WAIT_S)[0]:
        return b""
    rest = os.read(fd, 1)
    if rest == b"O":
        rest += os.read(fd, 1)
    elif rest == b"[":
        while not 0x40 <= rest[-1] <= 0x7E or len(rest) == 1:
            rest += os.read(fd, 1)
    return rest


def _read_one(fd: int) -> str:
    """One key from a descriptor already in keypress mode; a whole escape sequence is eaten."""
    data = os.read(fd, 1)
    if data == b"\x1b":
        data += _escape_sequence(fd)
    elif data:
        for _ in range(_utf8_length(data[0]) - 1):
            data += os.read(fd, 1)
    return decode_key(data)


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def read_key(prompt: str) -> str:
    """Show `prompt` and return one keypress (echoed, then a newline). Terminal only."""
    fd = sys.stdin.fileno()
    with _keypress_mode(fd):  # before the prompt, so a quick key is not echoed by the tty
        _write(prompt)
        key = _read_one(fd)
    _write(("" if key in (ENTER, BACKSPACE) else key) + "\n")
    return key


def read_text(prompt: str, immediate: str = "") -> str:
    """Show `prompt` and read a line; on a terminal a key in `immediate`, typed first,
    returns at once without Enter (so 'q' backs out of a prompt that otherwise takes a word).

    Off a terminal this is `input()`: one whole line, EOFError when the input ends."""
    if not single_keys():
        return input(prompt)
    typed = ""
    fd = sys.stdin.fileno()
    with _keypress_mode(fd):
        _write(prompt)
        while True:
            key = _read_one(fd)
            if key == ENTER:
                break
            if key == BACKSPACE:
                if typed:
                    typed = typed[:-1]
                    _write("\b \b")
            elif key and not typed and key in immediate:
                typed = key
                _write(key)
                break
            elif key:
                typed += key
                _write(key)
    _write("\n")
    return typed
