"""The ``c360`` command: a thin typer layer with one error boundary.

Commands are verbs, grouped by concept in sibling modules that add themselves to
:data:`c360.cli.app.app` when imported; this package imports the :data:`COMMANDS`
modules, in the order ``c360 --help`` lists them. :func:`main` is the console entry
point: a c360 error prints one line on stderr and exits 1; nothing ever shows a
traceback unless ``C360_DEBUG=1``.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from c360.cli.app import app
from c360.errors import Error

#: The modules that add commands to ``app``, in the order ``c360 --help`` lists them.
COMMANDS = ("query_commands", "shell_commands", "data_commands", "stream_commands", "serve_commands", "app_commands",
            "model_commands", "export_commands", "spark_commands")
for _module in COMMANDS:
    importlib.import_module(f"c360.cli.{_module}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the single place where errors become one line on stderr.

    With no arguments on a terminal it starts ``c360 shell``; piped, it prints the help.
    """
    from c360.cli.shell_commands import wants_shell

    args = sys.argv[1:] if argv is None else list(argv)
    if wants_shell(args, sys.stdin, sys.stdout):
        args = ["shell"]
    try:
        # Not standalone, typer returns (not raises) the code of an Exit, and turns Ctrl-C into Exit(130)
        result = app(args=args, standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool) and result:
            if result == 130:
                _fail("interrupted")
            return result
    except Error as error:
        _fail(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        _fail("aborted")
        return 1
    except typer.TyperException as error:  # usage errors: bad option, missing argument
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            _fail(f"error: {error.format_message()}")
        return getattr(error, "exit_code", 2)
    except Exception as error:  # noqa: BLE001 - the one boundary: no traceback for users
        if os.environ.get("C360_DEBUG"):
            raise
        from c360.secrets import redact

        _fail(f"internal error: {redact(f'{type(error).__name__}: {error}')} (set C360_DEBUG=1 for details)")
        return 70
    return 0


def _fail(message: str) -> None:
    print(message, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
