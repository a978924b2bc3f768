"""``c360 serve``: the PostgreSQL v3 wire protocol over the c360 engine, on asyncio.

Modules, one concept each: :mod:`~c360.server.protocol` (message framing),
:mod:`~c360.server.pg_types` (PostgreSQL type OIDs and value encodings), :mod:`~c360.server.auth`
(SCRAM-SHA-256 and who may connect), :mod:`~c360.server.statements` (reading
SQL text: splitting, ``$n`` parameters), :mod:`~c360.server.commands` (what a
statement is), :mod:`~c360.server.catalog_tables` (the emulated pg_catalog and
information_schema tables), :mod:`~c360.server.catalog_emulation` (answering
catalog queries from them), :mod:`~c360.server.copy_out` (COPY TO STDOUT rows),
:mod:`~c360.server.backend` (the engine behind it), :mod:`~c360.server.portals` (prepared statements, portals, cursors),
:mod:`~c360.server.session` (one client) and :mod:`~c360.server.server` (listening, cancel, threads).
"""

from c360.server.backend import EngineBackend  # noqa: F401
from c360.server.server import Server, ServerConfig  # noqa: F401
