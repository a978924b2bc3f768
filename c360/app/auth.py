"""Who may open the app: ``c360 serve``'s users (a users file, ``C360_SERVE_USER``/``C360_SERVE_PASSWORD``).

With users, every request must carry HTTP Basic credentials whose password matches the user's
SCRAM-SHA-256 verifier (:class:`c360.server.auth.Verifier`: the password is salted and hashed as at
sign-up and its StoredKey compared; the app never keeps a password). Basic sends the password with
every request, so ``c360 app`` accepts a bind other than loopback only with users *and* TLS
(``--tls-cert``/``--tls-key``); without users it listens on loopback only, trusting whoever connects,
as ``c360 serve`` does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading

from starlette.responses import PlainTextResponse


def checks(users, name: str, password: str) -> bool:
    """True when ``password`` is ``name``'s (compared with the verifier, in constant time)."""
    verifier = users.get(name)
    if verifier is None:
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), verifier.salt, verifier.iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), verifier.stored_key)


class BasicAuth:
    """ASGI middleware: a request without a known user and password gets 401 and a Basic challenge.

    A checked (user, password digest) pair is remembered for the process, so the page's panel requests
    do not each pay the 4,096 PBKDF2 rounds.
    """

    def __init__(self, app, users):
        self.app = app
        self.users = users
        self._known: set[tuple[str, bytes]] = set()
        self._lock = threading.Lock()

    def _allowed(self, header: bytes | None) -> bool:
        if not header or not header[:6].lower() == b"basic ":
            return False
        try:
            name, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        key = (name, hashlib.sha256(password.encode("utf-8")).digest())
        with self._lock:
            if key in self._known:
                return True
        if not checks(self.users, name, password):
            return False
        with self._lock:
            self._known.add(key)
        return True

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self._allowed(dict(scope["headers"]).get(b"authorization")):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse("c360 app: log in with a c360 serve user", status_code=401,
                                     headers={"WWW-Authenticate": 'Basic realm="c360", charset="UTF-8"'})
        await response(scope, receive, send)
