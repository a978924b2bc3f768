"""The second wall of the statement policy (:mod:`c360.policy` is the first): a DuckDB connection that runs
user SQL has external access off (no file, no URL), extension install and autoload off, and its configuration
locked once it is ready, so a statement that slipped past the policy still cannot touch the host.

Apart from :mod:`c360.policy` so that a connection can be locked without importing sqlglot
(:mod:`c360.cli.constant`).
"""

from __future__ import annotations


def locked_config(*, threads: int | None = None, memory_limit: str | None = None,
                  temp_directory: str | None = None) -> dict:
    """DuckDB ``config`` for a connection that runs user SQL: no files, no network, no extensions.

    ``lock_configuration`` is set by :func:`lock` once the connection is ready
    (functions registered), since a locked connection refuses every ``SET``.
    """
    config = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
    }
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        config["temp_directory"] = temp_directory
    return config


def lock(connection) -> None:
    """Freeze a connection's configuration: from here on no statement can change a setting."""
    connection.execute("SET lock_configuration = true")
