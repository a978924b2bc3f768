"""Files as tables: the machinery the ``json`` and ``blob`` connectors share, one concept per module.

A file table is a set of files in a *store*, chosen by a *layout*, read by DuckDB.
From the connector down to the bytes:

* :mod:`.connector` — :class:`~connectors.files.connector.FileConnector`, the base of
  :class:`connectors.json_files.JsonConnector` and :class:`connectors.blob.BlobConnector`:
  table names, schemas, the listing pruned by partition filters, and ``scan()``;
* :mod:`.scan` — :class:`~connectors.files.scan.FileScan`: files fetched and read a group
  at a time, batches streamed, limit and top-N kept across groups, cancel;
* :mod:`.discover` — the columns of an undeclared table, from a sample of its files;
* :mod:`.query` — the DuckDB ``read_json``/``read_csv``/``read_parquet`` SELECT for a
  group of files, and what EXPLAIN shows of it;
* :mod:`.layout` — which keys are a table's files (prefix, globs, format), listed as
  :class:`~connectors.files.layout.FileEntry` rows with their partition values;
* :mod:`.partitions` — partition columns from paths (``{yyyy}/{MM}/{dd}/{HH}/``,
  ``key=value/``) and exact pruning of the file list by filters over them;
* :mod:`.errors` — one sentence per unreadable file (its key, and for JSON the line);
* :mod:`.store` — :class:`~connectors.files.store.LocalFolder` and
  :class:`~connectors.files.store.AzureContainer`: the read verbs the connectors use,
  and the write verbs ``c360 stream`` and ``c360 generate`` use.

A module imports only modules listed after it (and :mod:`connectors.base`,
:mod:`connectors.declared`). DuckDB work happens on connections of the connectors'
own, never on the engine's.
"""
