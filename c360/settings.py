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
    Setting("serve_user", "C360_SERVE_USER", "", "c360 serve: a user that logs in with SCRAM-SHA-256"),
    Setting("serve_password", "C360_SERVE_PASSWORD", "", "c360 serve: that user's password"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> str:
    return BY_NAME[name].value()
