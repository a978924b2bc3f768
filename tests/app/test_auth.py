"""``c360 app`` beyond loopback: c360 serve's users over HTTP Basic, and only with TLS."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.app.conftest import REPO, start_app, stop


def opened(url: str, context, user: str | None = None, password: str | None = None):
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                           str(folder / "key.pem"), "-out", str(folder / "cert.pem")], capture_output=True, text=True)
    assert done.returncode == 0, f"openssl could not make a test certificate: {done.stderr}"
    return folder / "cert.pem", folder / "key.pem"


def test_beyond_loopback_users_log_in_over_tls_and_others_get_401(project, certificate):
    cert, key = certificate
    users = {"C360_SERVE_USER": "agent", "C360_SERVE_PASSWORD": "correct horse"}
    context = ssl.create_default_context(cafile=str(cert))
    process, base = start_app(project / "catalog", "--host", "0.0.0.0", "--tls-cert", str(cert), "--tls-key",
                              str(key), env=users, scheme="https", context=context)
    try:
        status, headers, _ = opened(base + "/api/customer/1/profile", context)
        assert status == 401 and headers["www-authenticate"].startswith("Basic")
        assert opened(base + "/api/customer/1/profile", context, "agent", "wrong")[0] == 401
        assert opened(base + "/api/customer/1/profile", context, "someone", "correct horse")[0] == 401
        status, _, body = opened(base + "/api/customer/1/profile", context, "agent", "correct horse")
        assert status == 200 and json.loads(body)["rows"][0]["customer_id"] == 1
    finally:
        stop(process)


def test_beyond_loopback_without_users_or_without_tls_is_refused(project, certificate):
    cert, key = certificate
    command = [sys.executable, "-m", "c360", "app", "--catalog", str(project / "catalog"), "--host", "0.0.0.0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("C360_SERVE_")}
    env["PYTHONPATH"] = str(REPO)
    without_users = subprocess.run([*command, "--tls-cert", str(cert), "--tls-key", str(key)], capture_output=True,
                                   text=True, timeout=60, env=env)
    without_tls = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                 env={**env, "C360_SERVE_USER": "agent", "C360_SERVE_PASSWORD": "pw"})
    for done in (without_users, without_tls):
        assert done.returncode == 1 and "not a loopback address" in done.stderr and "TLS" in done.stderr
