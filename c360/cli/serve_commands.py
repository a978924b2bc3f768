"""``c360 serve``: the PostgreSQL wire protocol, so BI tools and any PostgreSQL client can query c360."""

from __future__ import annotations

from pathlib import Path

import typer

from c360.cli.app import app
from c360.cli.query_commands import CatalogOption, ProfileOption

SERVE_HELP = """Serve the catalog over the PostgreSQL wire protocol (v3) for BI tools and any PostgreSQL client.

Every source is a schema (shop.orders), the views are the schema c360, and
clients write PostgreSQL's SQL with PostgreSQL's meaning (= ANY(array),
to_char patterns, 7 / 2 = 3, result names such as count); what has no exact
translation is an error. SET VARIABLE, SHOW TABLES and DESCRIBE are c360's own.
c360 is read-only: BEGIN/COMMIT are accepted, writes are refused.

\b
Connect with the stock PostgreSQL driver of each tool:
  psql:      psql -h 127.0.0.1 -p 5433 -U c360 c360
  Power BI:  Get Data > PostgreSQL database; Server 127.0.0.1:5433,
             Database c360; then Database credentials (user, password);
             without --tls-cert accept the unencrypted connection
             (Data source settings > Encrypt connections off).
  Tableau:   Connect > PostgreSQL; Server 127.0.0.1, Port 5433,
             Database c360, Username/Password; untick Require SSL
             unless --tls-cert is given.
  Superset:  Database URI postgresql://USER:PASSWORD@HOST:5433/c360
  Metabase, Excel, DBeaver, JDBC, Npgsql: host, port 5433, database c360.
The database name is free (c360 is a good one). On 127.0.0.1 without
users any user name is accepted (trust).

\b
Why the default bind is 127.0.0.1: without users the server trusts
whoever connects, and it can read every source in the catalog. So trust
is allowed only on the loopback address; to let a BI gateway or another
machine connect, bind --host 0.0.0.0 AND give users (--users FILE, or
C360_SERVE_USER and C360_SERVE_PASSWORD); they log in with SCRAM-SHA-256,
and --tls-cert/--tls-key add TLS. Binding elsewhere without users is
refused.

\b
Arrow Flight SQL (--flight-port 5434) is a second door to the same
catalog, for ADBC clients and pyarrow.flight: results arrive as Arrow
batches. Statements there are DuckDB's SQL (as in c360 query), the same
users log in with basic auth and get a bearer token (on a trust server
any name and password), and a bind other than 127.0.0.1 needs TLS.
  python: adbc_driver_flightsql.dbapi.connect("grpc://127.0.0.1:5434",
          db_kwargs={"username": "analyst", "password": "..."})

\b
A users file holds no plain passwords:
  users:
    analyst: ${ENV:C360_ANALYST_PASSWORD}
    powerbi: "SCRAM-SHA-256$4096:...$...:..."   # from --hash-password
"""


@app.command(help=SERVE_HELP)
def serve(
    catalog: Path = CatalogOption,
    profile: str = ProfileOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but 127.0.0.1 needs users"),
    port: int = typer.Option(5433, "--port", help="TCP port (PostgreSQL's own 5432 is often taken)"),
    flight_port: int = typer.Option(
        None, "--flight-port", help="Also serve Arrow Flight SQL (ADBC clients) on this port (0: any free port)",
    ),
    users: Path = typer.Option(None, "--users", help="YAML file of users: name -> ${ENV:VAR} or SCRAM verifier"),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="PEM certificate: clients asking for SSL get TLS"),
    tls_key: Path = typer.Option(None, "--tls-key", help="PEM private key of --tls-cert"),
    threads: int = typer.Option(64, "--threads", help="Statements that can run at once (engine thread pool)"),
    workers: int = typer.Option(
        1, "--workers", min=1,
        help="Server processes sharing the port (SO_REUSEPORT): more clients served at once than one Python "
             "interpreter can; each has its own engines, only the first refreshes copies",
    ),
    max_connections: int = typer.Option(256, "--max-connections", help="Clients connected at once"),
    max_message_mb: int = typer.Option(16, "--max-message-mb", help="Largest client message accepted, in MB"),
    log_level: str = typer.Option("warning", "--log-level", help="Server log detail: debug, info, warning, error"),
    hash_password: bool = typer.Option(
        False, "--hash-password",
        help="Read a password from the prompt, print its SCRAM verifier for a users file, exit",
    ),
):
    import asyncio
    import logging
    import signal
    import sys

    from c360 import settings
    from c360.errors import InterfaceError
    from c360.server import EngineBackend, Server, ServerConfig
    from c360.server.auth import Users, Verifier

    if hash_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        typer.echo(str(Verifier.from_password(password)))
        return
    config = ServerConfig(
        host=host, port=port, users=Users.load(users), tls_cert=tls_cert, tls_key=tls_key, threads=threads,
        max_connections=max_connections, max_message_bytes=max_message_mb * 1024 * 1024,
    )
    config.check()
    from c360.server.workers import Worker, supervise, without_workers

    worker = Worker.from_environment()
    if worker is None and workers > 1:
        if flight_port is not None:
            raise InterfaceError("--flight-port serves from one process: leave out --workers")
        auth = "SCRAM-SHA-256" if config.users else "trust, loopback only"
        code = supervise(without_workers(sys.argv[1:]), host, port, workers, lambda bound: typer.echo(
            f"c360 serve: postgresql://{host}:{bound}/c360 ({auth}; {workers} workers); Ctrl+C stops", err=True))
        raise typer.Exit(code)
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise InterfaceError(f"--log-level must be debug, info, warning or error, not '{log_level}'")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from c360.cli import dotenv

    dotenv.load(dotenv.project_of(catalog or settings.get("catalog")))
    backend = EngineBackend(catalog or settings.get("catalog"), profile or settings.get("profile"),
                            refresh=worker is None or worker.index == 0)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        server = Server(backend, config, worker=worker)
        await server.start()
        if worker is not None:
            worker.ready()
        flight_server = None
        if flight_port is not None:
            from c360.server.flight import FlightSqlServer

            try:
                flight_server = FlightSqlServer(backend, host=host, port=flight_port, users=config.users,
                                                tls_cert=tls_cert, tls_key=tls_key, max_sessions=max_connections)
            except BaseException:
                await server.close()
                raise
            typer.echo(f"c360 serve: Flight SQL at {flight_server.location}", err=True)
        auth = "SCRAM-SHA-256" if config.users else "trust, loopback only"
        if worker is None:
            typer.echo(f"c360 serve: postgresql://{host}:{server.port}/c360 ({auth}); Ctrl+C stops", err=True)
        try:
            await stop.wait()
        finally:
            if flight_server is not None:
                await loop.run_in_executor(None, flight_server.shutdown)
            await server.close()

    try:
        asyncio.run(run())
    finally:
        backend.close()
