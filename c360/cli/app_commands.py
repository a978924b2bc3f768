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
        help="Address to bind: a loopback address only (the app has no login yet; put it behind your own "
        "authenticating proxy to share it)."),
    as_of: str = typer.Option(None, "--as-of", help="Date the views are evaluated at (YYYY-MM-DD; default today)."),
    live_hours: float = typer.Option(24.0, "--live-hours", min=0.01,
                                     help="The live panel shows stream windows of the last this many hours."),
    live_seconds: float = typer.Option(5.0, "--live-seconds", min=0.2,
                                       help="How often the open page polls the live panel, in seconds."),
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
) -> None:
    """Serve the Customer 360 web app (customer page, segments page, JSON per panel) until interrupted."""
    import datetime as dt

    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ProgrammingError(f"--host {host} is not a loopback address: c360 app has no login, so it listens on "
                               "127.0.0.1 (or ::1) only; share it through a proxy that authenticates")
    date = None
    if as_of is not None:
        try:
            date = dt.date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"--as-of must be a date (YYYY-MM-DD), not {as_of!r}") from None
    import uvicorn

    from c360.app.server import create_app

    opened = open_catalog(catalog, profile)  # reads the project's .env and checks the catalog loads
    folder, chosen = opened.path, opened.profile
    opened.close()
    application = create_app(folder, chosen, as_of=date, live_hours=live_hours, live_seconds=live_seconds)
    print(f"c360 app: http://{host}:{port}/ (catalog {folder}, profile {chosen}); Ctrl-C stops it",
          file=sys.stderr, flush=True)
    uvicorn.run(application, host=host, port=port, log_level="warning")
