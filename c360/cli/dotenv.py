"""The project's ``.env``: secrets the servers demo created, read by every ``c360`` command.

``c360 demo --servers`` (and ``c360 generate --target servers``) create logins with the demo's passwords
when ``C360_SHOP_PASSWORD`` and its kin are unset, and :func:`remember` writes those values to ``.env``
beside the catalog folder (mode 600; never printed), so the next ``c360 query --profile servers`` in a
new shell finds them. :func:`load` reads the file into the environment of the running command, for
variables that are not already set: the environment always wins. Lines are ``NAME=value``; ``#`` starts
a comment; a value may be in single or double quotes. Nothing else of dotenv's syntax is read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FILE = ".env"
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def project_of(catalog: Path | str) -> Path:
    """The project folder of a catalog folder (or of a catalog file's folder)."""
    path = Path(catalog).resolve()
    folder = path if path.is_dir() else path.parent
    return folder.parent


def read(path: Path) -> dict[str, str]:
    """``NAME -> value`` from a ``.env`` file ({} when there is none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def load(project: Path) -> list[str]:
    """Put the variables of ``project/.env`` that are unset into the environment; returns their names."""
    applied = []
    for name, value in read(Path(project) / FILE).items():
        if name not in os.environ:
            os.environ[name] = value
            applied.append(name)
    return applied


def remember(project: Path, names: list[str]) -> Path | None:
    """Write (or update) ``names`` with their current values in ``project/.env``, readable by its owner only."""
    if not names:
        return None
    path = Path(project) / FILE
    values = read(path)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else [
        "# Written by c360's servers demo: the passwords it created. c360 reads this file; keep it out of git."]
    for name in names:
        entry = f"{name}='{os.environ[name]}'"
        if name in values:
            lines = [entry if (_LINE.match(line) and _LINE.match(line).group(1) == name) else line for line in lines]
        else:
            lines.append(entry)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
