"""`cli._keys`: one keypress from a terminal, the terminal put back on every exit path."""

from __future__ import annotations

import io
import os
import sys

import pytest

from peerscreen.cli import _keys

termios = pytest.importorskip("termios", reason="single-key input needs a POSIX terminal")
pty = pytest.importorskip("pty", reason="the keypress tests need a pseudo-terminal")


@pytest.fixture
def terminal(monkeypatch):
    """A pseudo-terminal as stdin: returns the fd to type into (its master side)."""
    master, slave = pty.openpty()
    stdin = os.fdopen(slave, "r")
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(_keys, "single_keys", lambda: True)
    yield master
    stdin.close()
    os.close(master)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"i", "i"),
        (b"\r", _keys.ENTER),
        (b"\x7f", _keys.BACKSPACE),
        (b"\x1b[A", ""),
        ("é".encode(), "é"),
    ],
)
def test_decode_key(data, key):
    assert _keys.decode_key(data) == key


def test_decode_key_ctrl_d_ends_input_and_ctrl_c_interrupts():
    with pytest.raises(EOFError):
        _keys.decode_key(b"\x04")
    with pytest.raises(EOFError):
        _keys.decode_key(b"")
    with pytest.raises(KeyboardInterrupt):
        _keys.decode_key(b"\x03")


def test_read_key_takes_one_key_without_enter_and_restores_the_terminal(terminal, capsys):
    before = termios.tcgetattr(sys.stdin.fileno())
    os.write(terminal, b"\x1b[Ae")  # an arrow key (ignored as a whole), then e
    assert _keys.read_key("> ") == ""
    assert _keys.read_key("> ") == "e"
    assert termios.tcgetattr(sys.stdin.fileno()) == before
    assert capsys.readouterr().out == "> \n> e\n"


def test_the_terminal_is_restored_when_the_read_is_interrupted(terminal, monkeypatch):
    fd = sys.stdin.fileno()
    before = termios.tcgetattr(fd)

    def interrupted(*_):
        assert not termios.tcgetattr(fd)[3] & termios.ICANON  # keypress mode while reading
        raise KeyboardInterrupt

    monkeypatch.setattr(_keys.os, "read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _keys.read_key("> ")
    with pytest.raises(KeyboardInterrupt):
        _keys.read_text("> ", immediate="q")
    assert termios.tcgetattr(fd) == before


def test_read_text_edits_a_line_and_backs_out_on_an_immediate_key(terminal, capsys):
    os.write(terminal, b"cax\x7fr\r")
    assert _keys.read_text("code > ", immediate="q") == "car"
    os.write(terminal, b"q")  # no Enter: returns at once
    assert _keys.read_text("code > ", immediate="q") == "q"
    os.write(terminal, b"aq\r")  # q after other letters is just a letter
    assert _keys.read_text("code > ", immediate="q") == "aq"


def test_off_a_terminal_every_read_is_a_line(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("e youth_only too young\n"))
    assert not _keys.single_keys()
    assert _keys.read_text("> ", immediate="q") == "e youth_only too young"
    with pytest.raises(EOFError):
        _keys.read_text("> ")
