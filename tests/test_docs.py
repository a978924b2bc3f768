"""Every setting and every command is documented in the README."""

from pathlib import Path

import typer.main

from c360.cli import app
from c360.settings import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def command_names(group, prefix=""):
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from command_names(command, f"{full} ")
        else:
            yield full


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert f"`{setting.env}`" in README, setting.env


def test_every_command_is_documented_and_has_help():
    group = typer.main.get_command(app)
    names = list(command_names(group))
    assert {"query", "explain", "sources", "tables", "describe", "refresh"} <= set(names)
    for name in names:
        assert f"`c360 {name}" in README, name


def test_the_readme_first_screen_shows_the_two_commands():
    first_screen = "\n".join(README.splitlines()[:12])
    assert "./scripts/demo" in first_screen and "./scripts/test" in first_screen
