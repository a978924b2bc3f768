"""``c360 app``: the web page for the service agent and the marketer (docs/app.md)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import typer

from c360.cli.app import app
from c360.cli.options import CatalogOption, ProfileOption, open_catalog
from c360.errors import ProgrammingError


@app.command("app")
def app_command(
    port: int = typer.Option(8360, "--port", min=1, max=65535, help="TCP port to listen on."),
    host: str = typer.Option(
        "127.0.0.1", "--host",
        help="Address to bind; anything but loopback needs users (--users, or C360_SERVE_USER and "
        "C360_SERVE_PASSWORD, as c360 serve) and TLS (--tls-cert, --tls-key)."),
    users: Path = typer.Option(None, "--users", help="c360 serve's YAML file of users: name -> ${ENV:VAR} or SCRAM "
                               "verifier; they log in with HTTP Basic"),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="PEM certificate: serve HTTPS"),
    tls_key: Path = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert"),
    as_of: str = typer.Option(None, "--as-of", help="Date the views are evaluated at (YYYY-MM-DD; default today)."),
    live_hours: float = typer.Option(2.0, "--live-hours", min=0.01,
                                     help="The live panel shows stream windows of the last this many hours."),
    live_seconds: float = typer.Option(5.0, "--live-seconds", min=0.2,
                                       help="How often the open page polls the live panel, in seconds."),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
) -> None:
    """Serve the Customer 360 web app (customer page, segments page, JSON per panel) until interrupted."""
    import datetime as dt

    from c360.server.auth import Users

    opened = open_catalog(catalog, profile)  # reads the project's .env (users may come from it) and the catalog
    folder, chosen = opened.path, opened.profile
    opened.close()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    allowed = Users.load(users)
    if (tls_cert is None) != (tls_key is None):
        raise ProgrammingError("--tls-cert and --tls-key go together")
    if not loopback and not (allowed and tls_cert):
        raise ProgrammingError(f"--host {host} is not a loopback address: the app then needs users (--users, or "
                               "C360_SERVE_USER and C360_SERVE_PASSWORD) and TLS (--tls-cert and --tls-key), since "
                               "HTTP Basic sends the password with every request")
    date = None
    if as_of is not None:
        try:
            date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"--as-of must be a date (YYYY-MM-DD), not {as_of!r}") from None
    import uvicorn

    from c360.app.server import create_app

    application = create_app(folder, chosen, as_of=date, live_hours=live_hours, live_seconds=live_seconds,
                             users=allowed or None)
    scheme = "https" if tls_cert else "http"
    print(f"c360 app: {scheme}://{host}:{port}/ (catalog {folder}, profile {chosen}); Ctrl-C stops it",
          file=sys.stderr, flush=True)
    uvicorn.run(application, host=host, port=port, log_level="warning",
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)
