"""``c360 shell``: the interactive session (also what ``c360`` alone starts on a terminal)."""

from __future__ import annotations

from pathlib import Path

from c360.cli.app import app
from c360.cli.query_commands import AsOfOption, CatalogOption, ProfileOption


@app.command()
def shell(catalog: Path = CatalogOption, profile: str = ProfileOption, as_of: str = AsOfOption):
    """An interactive SQL session on one warm engine: history, multi-line statements, Tab completion, .help."""
    from c360.cli.shell import Shell, loop

    session = Shell(catalog, profile, as_of=as_of)
    try:
        loop(session)
    finally:
        session.close()


def wants_shell(args: list[str], stdin, stdout) -> bool:
    """``c360`` with no arguments, typed at a terminal, means the shell (piped, it prints the help)."""
    if args:
        return False
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):
        return False

