"""Settings, declared once as data: name, environment variable, default and help.

The CLI options, ``c360.connect()`` and the docs all read from here; a test
checks each one is documented in the README.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str

    def value(self) -> str:
        return os.environ.get(self.env, self.default)


SETTINGS = (
    Setting("catalog", "C360_CATALOG", "catalog", "the catalog folder (or one .yaml file) of the project"),
    Setting("profile", "C360_PROFILE", "embedded", "which profile of each source to use (embedded, servers, ...)"),
    Setting("debug", "C360_DEBUG", "", "set to 1 to show Python tracebacks instead of one-line errors"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> str:
    return BY_NAME[name].value()
