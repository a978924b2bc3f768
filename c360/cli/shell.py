"""``c360 shell``: an interactive session on one warm engine.

A statement runs when a line ends with ``;`` (Enter before that starts a new line, so a statement may
span lines); a line starting with ``.`` is a meta command and runs at once. History is kept in
``$C360_HISTORY`` (default ``~/.c360_history``) and searched with Up/Down and Ctrl-R; Tab completes
keywords, sources, ``source.table``, views and columns (:mod:`c360.cli.completion`). Ctrl-C while a query
runs cancels it at its sources (:mod:`c360.cli.running`) and the session goes on; Ctrl-C at the prompt
clears the line; Ctrl-D or ``.quit`` leaves.

One engine serves the whole session (plans cached, DuckDB warm); ``.profile NAME`` and ``.asof DATE``
change it in place. Errors are one line, as everywhere in the CLI, and never end the session.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from c360 import settings
from c360.errors import Error

HELP = """\
Statements end with ';' and may span lines. Meta commands:
  .tables [SOURCE]        tables of every source (or one) and the project's views
  .describe NAME          columns of a table (source.table) or view
  .explain [analyze] SQL  what each source is sent, and what stays local (with analyze: rows, seconds)
  .timing on|off          print how long each statement took
  .format FORMAT          table (default), vertical, csv or json
  .asof DATE|off          evaluate views as of DATE (SET VARIABLE as_of)
  .profile NAME           reopen the catalog with another profile (embedded, servers, ...)
  .help                   this text
  .quit                   leave (or Ctrl-D)
Tab completes keywords, sources, tables, views and columns; Up/Down and Ctrl-R search the history;
Ctrl-C cancels a running query at its sources."""
FORMATS = ("table", "vertical", "csv", "json")


class Shell:
    """The session's state: catalog, profile, the open connection and the display settings."""

    def __init__(self, catalog: Path | None, profile: str | None, *, as_of: str | None = None):
        self.catalog_path = catalog
        self.profile = profile or settings.get("profile")
        self.as_of = as_of
        self.timing = False
        self.format = "table"
        self.connection = None
        self.names = None
        self.open()

    # --- the engine -----------------------------------------------------------------------------

    def open(self) -> None:
        """(Re)open the catalog with the current profile; the old engine is closed once the new one stands."""
        from c360.cli.completion import Names
        from c360.cli.query_commands import open_connection

        connection = open_connection(self.catalog_path, self.profile, as_of=self.as_of)
        if self.connection is not None:
            self.connection.close()
        self.connection = connection
        engine = connection.engine
        self.names = Names(engine.catalog, engine.views, self._view_columns)

    def _view_columns(self, view: str) -> list[str]:
        from sqlglot import exp

        described = self.connection.cursor().execute(
            f"DESCRIBE {exp.to_identifier(view).sql(dialect='duckdb')}").fetch_arrow()
        return described.column("column_name").to_pylist()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    # --- one input ------------------------------------------------------------------------------

    def handle(self, text: str) -> bool:
        """Run one statement or meta command; False when the session should end."""
        text = text.strip()
        if not text:
            return True
        if text.startswith("."):
            return self.meta(text)
        if text.lower().rstrip(";").strip() in ("exit", "quit"):
            return False
        self.run(text.rstrip().rstrip(";"))
        return True

    def run(self, sql: str) -> None:
        from c360.cli.running import run

        started = time.monotonic()
        table = run(self.connection.cursor(), sql)
        elapsed = time.monotonic() - started
        if table is not None:
            self.show(table)
        if self.timing:
            print(f"time: {elapsed:.3f}s")

    def show(self, table) -> None:
        from c360.cli.output import print_table, write_result

        if self.format in ("csv", "json"):
            write_result(table, self.format, None)
        else:
            print_table(table, vertical=True if self.format == "vertical" else None)

    def meta(self, text: str) -> bool:
        command, _, rest = text.partition(" ")
        command, rest = command.lower(), rest.strip()
        if command in (".quit", ".exit", ".q"):
            return False
        if command == ".help":
            print(HELP)
        elif command == ".tables":
            from c360.cli.running import wait

            self.show(wait(lambda: self._tables(rest or None), lambda elapsed: f"listing tables {elapsed:.1f}s"))
        elif command == ".describe":
            self._need(rest, ".describe NAME")
            self.run(f"DESCRIBE {rest.rstrip(';')}")
        elif command == ".explain":
            analyze = rest.lower().startswith("analyze ")
            sql = rest[len("analyze "):] if analyze else rest
            self._need(sql, ".explain [analyze] SQL")
            from c360.cli.running import run

            # through the cursor, as `c360 explain`: a progress line while it runs, Ctrl-C cancels at the sources
            lines = run(self.connection.cursor(), f"EXPLAIN {'ANALYZE ' if analyze else ''}{sql.rstrip().rstrip(';')}")
            print("\n".join(lines.column(0).to_pylist()))
        elif command == ".timing":
            self.timing = self._switch(rest, self.timing, ".timing on|off")
            print(f"timing {'on' if self.timing else 'off'}")
        elif command == ".format":
            if rest.lower() not in FORMATS:
                raise _Usage(f".format takes one of {', '.join(FORMATS)}")
            self.format = rest.lower()
            print(f"format {self.format}")
        elif command == ".asof":
            self._need(rest, ".asof DATE|off")
            if rest.lower() == "off":
                self.connection.cursor().execute("RESET VARIABLE as_of")
                self.as_of = None
                print("views evaluated as of today")
            else:
                self.connection.cursor().execute("SET VARIABLE as_of = CAST(? AS DATE)", [rest])
                self.as_of = rest
                print(f"views evaluated as of {rest}")
        elif command == ".profile":
            if not rest:
                print(f"profile {self.profile}")
            else:
                previous, self.profile = self.profile, rest
                try:
                    self.open()
                except Error:
                    self.profile = previous
                    raise
                print(f"profile {self.profile}")
        else:
            raise _Usage(f"Unknown command '{command}'; .help lists them")
        return True

    def _tables(self, source: str | None):
        import pyarrow as pa

        from c360.introspect import list_relations

        rows = list_relations(self.connection.engine.catalog, self.connection.engine.views, source)
        return pa.table({"schema": [r[0] for r in rows], "name": [r[1] for r in rows], "kind": [r[2] for r in rows]})

    @staticmethod
    def _need(value: str, usage: str) -> None:
        if not value:
            raise _Usage(f"usage: {usage}")

    @staticmethod
    def _switch(value: str, current: bool, usage: str) -> bool:
        if value.lower() in ("on", "off"):
            return value.lower() == "on"
        if not value:
            return not current
        raise _Usage(f"usage: {usage}")


class _Usage(Error):
    """A meta command used wrongly."""


def history_path() -> Path:
    return Path(os.path.expanduser(settings.get("history")))


def loop(shell: Shell) -> None:
    """Read, run, print until Ctrl-D or .quit (prompt_toolkit is imported here: only the shell needs it)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    from c360.cli.completion import completer

    bindings = KeyBindings()

    @bindings.add("enter")
    def _(event):
        buffer = event.current_buffer
        text = buffer.text.strip()
        if not text or text.startswith(".") or text.endswith(";") or text.lower() in ("exit", "quit"):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except OSError:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    session = PromptSession(
        message="c360> ", multiline=True, key_bindings=bindings, history=history,
        completer=completer(shell.names), complete_while_typing=False,
        prompt_continuation=lambda width, line_number, wrap_count: "   ...> ".rjust(width),
        enable_history_search=False,
    )
    print(f"c360 shell · catalog {shell.connection.engine.catalog.project_dir} · profile {shell.profile} · "
          ".help for help, Ctrl-D to leave")
    while True:
        session.completer = completer(shell.names)
        try:
            text = session.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            if not shell.handle(text):
                break
        except KeyboardInterrupt:
            print("cancelled", file=sys.stderr)
        except Error as error:
            print(f"error: {error}", file=sys.stderr)
        except Exception as error:  # noqa: BLE001 - one query's failure never ends the session
            if os.environ.get("C360_DEBUG"):
                raise
            from c360.secrets import redact

            print(f"internal error: {redact(f'{type(error).__name__}: {error}')}", file=sys.stderr)
