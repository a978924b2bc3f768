"""Settings, declared once as data: name, environment variable, default and help.

The CLI options, ``c360.connect()``, the servers demo and the docs all read from
here; a test checks each one is documented in the README. A setting with a
``demo`` value is one the servers demo (``c360 demo --servers``, ``c360 generate
--target servers``) fills in when it is unset (:func:`apply_demo_values`): demo
values for a local machine, never for production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Azurite's well-known development account key (public; documented by Microsoft).
_AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_AZURITE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + _AZURITE_KEY
            + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    #: What the servers demo sets the variable to when it is unset (None: it leaves it alone).
    demo: str | None = None

    def value(self) -> str:
        return os.environ.get(self.env, self.default)


SETTINGS = (
    Setting("catalog", "C360_CATALOG", "catalog", "the catalog folder (or one .yaml file) of the project"),
    Setting("profile", "C360_PROFILE", "embedded", "which profile of each source to use (embedded, servers, ...)"),
    Setting("debug", "C360_DEBUG", "", "set to 1 to show Python tracebacks instead of one-line errors"),
    Setting("history", "C360_HISTORY", "~/.c360_history", "c360 shell: the file its statement history is kept in"),
    Setting("serve_user", "C360_SERVE_USER", "", "c360 serve: a user that logs in with SCRAM-SHA-256"),
    Setting("serve_password", "C360_SERVE_PASSWORD", "", "c360 serve: that user's password"),
    Setting("stream_out", "C360_STREAM_OUT", "demo-data/blob",
            "c360 stream aggregate: where windows go (a folder standing for the account, or a connection string)"),
    Setting("shop_password", "C360_SHOP_PASSWORD", "",
            "servers profile: password of the MariaDB login 'c360' the demo's shop source uses", demo="c360-demo"),
    Setting("crm_password", "C360_CRM_PASSWORD", "",
            "servers profile: password of the PostgreSQL login 'c360' the demo's crm source uses", demo="c360-demo"),
    Setting("blob_connection_string", "C360_BLOB_CONNECTION_STRING", "",
            "servers profile: connection string of the demo's clicks container", demo=_AZURITE),
    Setting("mysql_admin_user", "C360_MYSQL_ADMIN_USER", "root",
            "servers demo: MariaDB admin login that creates the database and the 'c360' login"),
    Setting("mysql_admin_password", "C360_MYSQL_ADMIN_PASSWORD", "",
            "servers demo: that login's password (empty: root over TCP, then the unix socket)"),
    Setting("mysql_socket", "C360_MYSQL_SOCKET", "/run/mysqld/mysqld.sock",
            "servers demo: MariaDB unix socket tried when TCP refuses the admin"),
    Setting("pg_admin_user", "C360_PG_ADMIN_USER", "postgres",
            "servers demo: PostgreSQL admin login that creates the database and the 'c360' login"),
    Setting("pg_admin_password", "C360_PG_ADMIN_PASSWORD", "",
            "servers demo: that login's password (empty for trust authentication)"),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> str:
    return BY_NAME[name].value()


def apply_demo_values() -> list[str]:
    """Put each unset variable that has a ``demo`` value into the environment; returns their names."""
    applied = []
    for setting in SETTINGS:
        if setting.demo is not None and setting.env not in os.environ:
            os.environ[setting.env] = setting.demo
            applied.append(setting.env)
    return applied
