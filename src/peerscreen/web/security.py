"""Sessions, CSRF tokens and the sign-in rate limit of the web app.

- The session is a signed cookie (itsdangerous, keyed by the database's secret key):
  HttpOnly, SameSite=Lax, Secure behind an HTTPS proxy, expiring after `SESSION_HOURS`.
  It holds a random session id and, once signed in, the user id; signing in issues a new
  session id, so a session id planted before sign-in is worth nothing after it.
- The CSRF token of a session is an HMAC of its session id: every form carries it in a
  hidden field and every script request in the `X-CSRF-Token` header; a state-changing
  request without the right one is refused (403). SameSite=Lax is the second fence.
- Sign-in failures are counted per name and address: after `MAX_FAILURES` within
  `WINDOW_SECONDS` further tries are refused (429) until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "peerscreen_session"
SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FAILURES = 5
WINDOW_SECONDS = 300


@dataclass
class Session:
    """What the cookie carries: a session id, and the user id once signed in."""

    sid: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user_id: int | None = None
    changed: bool = False


class SessionCodec:
    """Signs sessions into cookie values and reads them back (None if forged or old)."""

    def __init__(self, secret_key: bytes):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="peerscreen-session")
        self._csrf_key = hashlib.sha256(b"csrf" + secret_key).digest()

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"sid": session.sid, "uid": session.user_id})

    def loads(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=SESSION_HOURS * 3600)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        uid = data.get("uid")
        return Session(sid=data["sid"], user_id=uid if isinstance(uid, int) else None)

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))


class SignInLimiter:
    """Failed sign-ins per (name, address) in a sliding window (in memory: one server)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS):
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, name: str, address: str) -> bool:
        with self._lock:
            return len(self._recent((name.lower(), address), time.monotonic())) >= (
                self.max_failures
            )

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent((name.lower(), address), now).append(now)

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name.lower(), address), None)
