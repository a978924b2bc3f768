"""Who may connect: users with SCRAM-SHA-256 passwords, or trust on a loopback bind.

Users come from a YAML file (``users: {alice: ${ENV:ALICE_PASSWORD}, bob:
"SCRAM-SHA-256$4096:..."}`` -- a secret reference or a PostgreSQL-style SCRAM
verifier, never a plain password) and from the environment (``C360_SERVE_USER``
and ``C360_SERVE_PASSWORD``). With no users configured the server allows
``trust`` only when it listens on 127.0.0.1 / ::1 / localhost; any other bind
without users is refused at start-up.

:class:`ScramExchange` is the server side of RFC 5802/7677 as PostgreSQL runs
it (no channel binding): ``first(client_first)`` returns the server-first
message, ``final(client_final)`` checks the proof and returns the server-final
message, or raises :class:`AuthenticationFailed`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from c360.errors import InterfaceError
from c360.secrets import resolve

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
ITERATIONS = 4096


class AuthenticationFailed(InterfaceError):
    sqlstate = "28P01"


@dataclass(frozen=True)
class Verifier:
    """What the server keeps per user: never the password itself."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def from_password(cls, password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> "Verifier":
        salt = salt if salt is not None else secrets.token_bytes(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        return cls(salt, iterations, hashlib.sha256(client_key).digest(), server_key)

    @classmethod
    def parse(cls, text: str) -> "Verifier":
        """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (PostgreSQL's format)."""
        try:
            scheme, params, keys = text.split("$")
            iterations, salt = params.split(":")
            stored, server = keys.split(":")
            if scheme != "SCRAM-SHA-256":
                raise ValueError(scheme)
            return cls(base64.b64decode(salt), int(iterations), base64.b64decode(stored), base64.b64decode(server))
        except ValueError:
            raise InterfaceError("A user's verifier is not in the SCRAM-SHA-256$iterations:salt$stored:server format") from None

    def __str__(self) -> str:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        return f"SCRAM-SHA-256${self.iterations}:{b64(self.salt)}${b64(self.stored_key)}:{b64(self.server_key)}"

    def __repr__(self) -> str:
        return "Verifier(***)"


class Users:
    """The users allowed to connect, by name."""

    def __init__(self, verifiers: dict[str, Verifier] | None = None):
        self.verifiers = dict(verifiers or {})

    def __bool__(self) -> bool:
        return bool(self.verifiers)

    def get(self, name: str) -> Verifier | None:
        return self.verifiers.get(name)

    @classmethod
    def load(cls, path: str | Path | None = None, environ=os.environ) -> "Users":
        """Users from ``path`` (if given) plus ``C360_SERVE_USER``/``C360_SERVE_PASSWORD``."""
        verifiers: dict[str, Verifier] = {}
        if path is not None:
            file = Path(path)
            try:
                document = yaml.safe_load(file.read_text()) or {}
            except OSError as error:
                raise InterfaceError(f"Users file '{file}' cannot be read: {error.strerror}") from None
            except yaml.YAMLError:
                raise InterfaceError(f"Users file '{file}' is not valid YAML") from None
            users = document.get("users") if isinstance(document, dict) else None
            if not isinstance(users, dict):
                raise InterfaceError(f"Users file '{file}' needs a 'users:' mapping of name to password reference or verifier")
            for name, value in users.items():
                value = str(value)
                if value.startswith("SCRAM-SHA-256$"):
                    verifiers[str(name)] = Verifier.parse(value)
                elif "${ENV:" in value:
                    verifiers[str(name)] = Verifier.from_password(resolve(value, source=f"users file {file.name}"))
                else:
                    raise InterfaceError(
                        f"Users file '{file}': user '{name}' must have a ${{ENV:NAME}} reference or a SCRAM-SHA-256 "
                        "verifier, not a plain password (make one with `c360 serve --hash-password`)"
                    )
        name, password = environ.get("C360_SERVE_USER"), environ.get("C360_SERVE_PASSWORD")
        if name and password:
            verifiers[name] = Verifier.from_password(password)
        elif name or password:
            raise InterfaceError("Set both C360_SERVE_USER and C360_SERVE_PASSWORD, or neither")
        return cls(verifiers)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK


def _attributes(message: str) -> dict[str, str]:
    pairs = {}
    for part in message.split(","):
        if len(part) >= 2 and part[1] == "=":
            pairs[part[0]] = part[2:]
    return pairs


class ScramExchange:
    """One SCRAM-SHA-256 conversation for one user (who may not exist: then it always fails)."""

    MECHANISM = "SCRAM-SHA-256"

    def __init__(self, verifier: Verifier | None):
        # an unknown user gets a made-up verifier so the exchange looks the same
        self.known = verifier is not None
        self.verifier = verifier or Verifier.from_password(secrets.token_hex(16))
        self.client_first_bare = ""
        self.server_first = ""
        self.nonce = ""

    def first(self, client_first: bytes) -> bytes:
        text = client_first.decode("utf-8", "replace")
        if not text.startswith(("n,", "y,")):
            raise AuthenticationFailed("SCRAM channel binding is not supported; connect with channel_binding=disable or prefer")
        parts = text.split(",", 2)
        if len(parts) < 3:
            raise AuthenticationFailed("Malformed SCRAM client-first message")
        self.client_first_bare = parts[2]
        client_nonce = _attributes(self.client_first_bare).get("r")
        if not client_nonce:
            raise AuthenticationFailed("Malformed SCRAM client-first message")
        self.nonce = client_nonce + base64.b64encode(secrets.token_bytes(18)).decode()
        salt = base64.b64encode(self.verifier.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.verifier.iterations}"
        return self.server_first.encode()

    def final(self, client_final: bytes) -> bytes:
        text = client_final.decode("utf-8", "replace")
        without_proof, _, proof_part = text.rpartition(",p=")
        attributes = _attributes(without_proof)
        if not proof_part or attributes.get("r") != self.nonce:
            raise AuthenticationFailed("Malformed SCRAM client-final message")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise AuthenticationFailed("Malformed SCRAM client-final message") from None
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.new(self.verifier.stored_key, auth_message, hashlib.sha256).digest()
        if len(proof) != len(signature):
            raise AuthenticationFailed("Malformed SCRAM client-final message")
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not self.known or not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            raise AuthenticationFailed("password authentication failed")
        server_signature = hmac.new(self.verifier.server_key, auth_message, hashlib.sha256).digest()
        return b"v=" + base64.b64encode(server_signature)
