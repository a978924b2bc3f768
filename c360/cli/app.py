"""The typer application every ``*_commands`` module adds its commands to.

It lives apart from :mod:`c360.cli` so command modules import it without importing
the package that imports them.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="c360",
    help="Federated SQL for Customer 360: one question across CRM, shop, partner files and blob storage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: typer's rich help imports rich, markdown-it and pygments (~0.1 s of every `c360 --help`)
    rich_markup_mode=None,
)

from c360.cli.accelerate_commands import accelerate_app  # noqa: E402 - registers after `app` exists

app.add_typer(accelerate_app, name="accelerate")
