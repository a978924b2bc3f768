"""The emulated ``pg_catalog`` and ``information_schema``: their tables' columns, the views and macros over
them, and the rows, filled from c360's relations (each source a schema, each table a relation, the
views a ``c360`` schema) with PostgreSQL's type OIDs.

:func:`build` returns a locked in-memory DuckDB holding them (schema ``pgc`` for
``pg_catalog``, ``isc`` for ``information_schema``); :mod:`c360.server.catalog_emulation`
rewrites clients' catalog queries onto it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from c360 import policy
from c360.server import pg_keywords
from c360.server import pg_types as pgtypes

PG_VERSION = "15.0"
EMULATION = "pgc"  # DuckDB schema holding pg_catalog
INFO = "isc"  # DuckDB schema holding information_schema
OWNER = "c360"

PG_TABLES = {
    "pg_namespace": "oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR[]",
    "pg_class": (
        "oid BIGINT, relname VARCHAR, relnamespace BIGINT, reltype BIGINT, reloftype BIGINT, relowner BIGINT, "
        "relam BIGINT, relfilenode BIGINT, reltablespace BIGINT, relpages INTEGER, reltuples REAL, "
        "relallvisible INTEGER, reltoastrelid BIGINT, relhasindex BOOLEAN, relisshared BOOLEAN, "
        "relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, "
        "relhastriggers BOOLEAN, relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, "
        "relispopulated BOOLEAN, relreplident VARCHAR, relispartition BOOLEAN, relrewrite BIGINT, "
        "relfrozenxid BIGINT, relminmxid BIGINT, relacl VARCHAR[], reloptions VARCHAR[], relpartbound VARCHAR"
    ),
    "pg_attribute": (
        "attrelid BIGINT, attname VARCHAR, atttypid UINTEGER, attstattarget INTEGER, attlen SMALLINT, "
        "attnum SMALLINT, attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN, "
        "attalign VARCHAR, attstorage VARCHAR, attcompression VARCHAR, attnotnull BOOLEAN, atthasdef BOOLEAN, "
        "atthasmissing BOOLEAN, attidentity VARCHAR, attgenerated VARCHAR, attisdropped BOOLEAN, "
        "attislocal BOOLEAN, attinhcount INTEGER, attcollation BIGINT, attacl VARCHAR[], attoptions VARCHAR[], "
        "attfdwoptions VARCHAR[], attmissingval VARCHAR"
    ),
    "pg_type": (
        "oid BIGINT, typname VARCHAR, typnamespace BIGINT, typowner BIGINT, typlen SMALLINT, typbyval BOOLEAN, "
        "typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR, "
        "typrelid BIGINT, typsubscript VARCHAR, typelem BIGINT, typarray BIGINT, typinput BIGINT, "
        "typoutput BIGINT, typreceive BIGINT, typsend BIGINT, typmodin BIGINT, typmodout BIGINT, "
        "typanalyze BIGINT, typalign VARCHAR, typstorage VARCHAR, typnotnull BOOLEAN, typbasetype BIGINT, "
        "typtypmod INTEGER, typndims INTEGER, typcollation BIGINT, typdefaultbin VARCHAR, typdefault VARCHAR, "
        "typacl VARCHAR[]"
    ),
    "pg_database": (
        "oid BIGINT, datname VARCHAR, datdba BIGINT, encoding INTEGER, datlocprovider VARCHAR, "
        "datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INTEGER, datfrozenxid BIGINT, "
        "datminmxid BIGINT, dattablespace BIGINT, datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, "
        "datcollversion VARCHAR, datacl VARCHAR[]"
    ),
    "pg_settings": (
        "name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR, extra_desc VARCHAR, "
        "context VARCHAR, vartype VARCHAR, source VARCHAR, min_val VARCHAR, max_val VARCHAR, enumvals VARCHAR[], "
        "boot_val VARCHAR, reset_val VARCHAR, sourcefile VARCHAR, sourceline INTEGER, pending_restart BOOLEAN"
    ),
    "pg_am": "oid BIGINT, amname VARCHAR, amhandler VARCHAR, amtype VARCHAR",
    "pg_roles": (
        "rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, "
        "rolcanlogin BOOLEAN, rolreplication BOOLEAN, rolconnlimit INTEGER, rolpassword VARCHAR, "
        "rolvaliduntil TIMESTAMP, rolbypassrls BOOLEAN, rolconfig VARCHAR[], oid BIGINT"
    ),
    "pg_user": "usename VARCHAR, usesysid BIGINT, usecreatedb BOOLEAN, usesuper BOOLEAN, userepl BOOLEAN, usebypassrls BOOLEAN, passwd VARCHAR, valuntil TIMESTAMP, useconfig VARCHAR[]",
    "pg_auth_members": "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN",
    "pg_tablespace": "oid BIGINT, spcname VARCHAR, spcowner BIGINT, spcacl VARCHAR[], spcoptions VARCHAR[]",
    "pg_description": "objoid BIGINT, classoid BIGINT, objsubid INTEGER, description VARCHAR",
    "pg_shdescription": "objoid BIGINT, classoid BIGINT, description VARCHAR",
    "pg_attrdef": "oid BIGINT, adrelid BIGINT, adnum SMALLINT, adbin VARCHAR",
    "pg_collation": "oid BIGINT, collname VARCHAR, collnamespace BIGINT, collowner BIGINT, collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR",
    "pg_index": (
        "indexrelid BIGINT, indrelid BIGINT, indnatts SMALLINT, indnkeyatts SMALLINT, indisunique BOOLEAN, "
        "indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN, "
        "indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, indisreplident BOOLEAN, "
        "indkey SMALLINT[], indcollation BIGINT[], indclass BIGINT[], indoption SMALLINT[], indexprs VARCHAR, indpred VARCHAR"
    ),
    "pg_constraint": (
        "oid BIGINT, conname VARCHAR, connamespace BIGINT, contype VARCHAR, condeferrable BOOLEAN, "
        "condeferred BOOLEAN, convalidated BOOLEAN, conrelid BIGINT, contypid BIGINT, conindid BIGINT, "
        "conparentid BIGINT, confrelid BIGINT, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR, "
        "conislocal BOOLEAN, coninhcount INTEGER, connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], conbin VARCHAR"
    ),
    "pg_policy": "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
    "pg_statistic_ext": "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR",
    "pg_publication": "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
    "pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
    "pg_publication_rel": "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[]",
    "pg_inherits": "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
    "pg_sequence": "seqrelid BIGINT, seqtypid BIGINT, seqstart BIGINT, seqincrement BIGINT, seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN",
    "pg_enum": "oid BIGINT, enumtypid BIGINT, enumsortorder REAL, enumlabel VARCHAR",
    "pg_trigger": "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, tgconstrindid BIGINT, tgconstraint BIGINT",
    "pg_rewrite": "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
    "pg_proc": (
        "oid BIGINT, proname VARCHAR, pronamespace BIGINT, proowner BIGINT, prolang BIGINT, prokind VARCHAR, "
        "proretset BOOLEAN, prorettype BIGINT, pronargs SMALLINT, proargtypes BIGINT[], proargnames VARCHAR[], "
        "prosrc VARCHAR, proallargtypes BIGINT[], proargmodes VARCHAR[], proisstrict BOOLEAN, prosecdef BOOLEAN, "
        "provolatile VARCHAR, proparallel VARCHAR, pronargdefaults SMALLINT, proargdefaults VARCHAR, "
        "provariadic BIGINT, procost REAL, prorows REAL, proleakproof BOOLEAN, probin VARCHAR, proconfig VARCHAR[], "
        "proacl VARCHAR[]"
    ),
    "pg_extension": "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, extrelocatable BOOLEAN, extversion VARCHAR",
    "pg_foreign_table": "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
    "pg_matviews": "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
    "pg_depend": "classid BIGINT, objid BIGINT, objsubid INTEGER, refclassid BIGINT, refobjid BIGINT, refobjsubid INTEGER, deptype VARCHAR",
    "pg_partitioned_table": "partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT",
    "pg_event_trigger": "oid BIGINT, evtname VARCHAR, evtevent VARCHAR",
    "pg_range": (
        "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, rngcollation BIGINT, rngsubopc BIGINT, "
        "rngcanonical VARCHAR, rngsubdiff VARCHAR"
    ),
    "pg_opclass": (
        "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcowner BIGINT, opcfamily BIGINT, "
        "opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT"
    ),
    # c360's own lookup tables behind the pg_get_*def and *_description functions
    "c360_type_names": "oid BIGINT, sqlname VARCHAR",
    "c360_regclass": "oid BIGINT, name VARCHAR, qualified VARCHAR",
    "c360_definitions": "oid BIGINT, definition VARCHAR",
    "c360_index_columns": "indexrelid BIGINT, n INTEGER, name VARCHAR",
    "c360_keywords": "word VARCHAR, catcode VARCHAR, barelabel BOOLEAN, catdesc VARCHAR, baredesc VARCHAR",
}
_STAT_TABLES = (
    "SELECT c.oid AS relid, n.nspname AS schemaname, c.relname, 0::BIGINT AS seq_scan, "
    "NULL::TIMESTAMPTZ AS last_seq_scan, 0::BIGINT AS seq_tup_read, 0::BIGINT AS idx_scan, "
    "NULL::TIMESTAMPTZ AS last_idx_scan, 0::BIGINT AS idx_tup_fetch, 0::BIGINT AS n_tup_ins, "
    "0::BIGINT AS n_tup_upd, 0::BIGINT AS n_tup_del, 0::BIGINT AS n_tup_hot_upd, "
    "greatest(c.reltuples, 0)::BIGINT AS n_live_tup, 0::BIGINT AS n_dead_tup, 0::BIGINT AS n_mod_since_analyze, "
    "0::BIGINT AS n_ins_since_vacuum, NULL::TIMESTAMPTZ AS last_vacuum, NULL::TIMESTAMPTZ AS last_autovacuum, "
    "NULL::TIMESTAMPTZ AS last_analyze, NULL::TIMESTAMPTZ AS last_autoanalyze, 0::BIGINT AS vacuum_count, "
    "0::BIGINT AS autovacuum_count, 0::BIGINT AS analyze_count, 0::BIGINT AS autoanalyze_count "
    "FROM {e}.pg_class c JOIN {e}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm')"
)
# views over the tables above, as PostgreSQL defines them
PG_VIEWS = {
    "pg_tables": (
        "SELECT n.nspname AS schemaname, c.relname AS tablename, 'c360' AS tableowner, NULL::VARCHAR AS tablespace, "
        "c.relhasindex AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity "
        "FROM {e}.pg_class c JOIN {e}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
    ),
    "pg_views": (
        "SELECT n.nspname AS schemaname, c.relname AS viewname, 'c360' AS viewowner, d.definition "
        "FROM {e}.pg_class c JOIN {e}.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN {e}.c360_definitions d ON d.oid = c.oid WHERE c.relkind = 'v'"
    ),
    "pg_indexes": (
        "SELECT n.nspname AS schemaname, t.relname AS tablename, c.relname AS indexname, NULL::VARCHAR AS tablespace, "
        "d.definition AS indexdef FROM {e}.pg_index i JOIN {e}.pg_class c ON c.oid = i.indexrelid "
        "JOIN {e}.pg_class t ON t.oid = i.indrelid JOIN {e}.pg_namespace n ON n.oid = t.relnamespace "
        "LEFT JOIN {e}.c360_definitions d ON d.oid = c.oid"
    ),
    # Metabase lists tables from here; n_live_tup is the source's row estimate (0 when unknown)
    "pg_stat_user_tables": _STAT_TABLES,
    "pg_stat_all_tables": _STAT_TABLES,
}
INFO_TABLES = {
    "schemata": "catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR, default_character_set_catalog VARCHAR, default_character_set_schema VARCHAR, default_character_set_name VARCHAR, sql_path VARCHAR",
    "tables": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR, self_referencing_column_name VARCHAR, reference_generation VARCHAR, user_defined_type_catalog VARCHAR, user_defined_type_schema VARCHAR, user_defined_type_name VARCHAR, is_insertable_into VARCHAR, is_typed VARCHAR, commit_action VARCHAR",
    "columns": (
        "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, "
        "column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, character_maximum_length INTEGER, "
        "character_octet_length INTEGER, numeric_precision INTEGER, numeric_precision_radix INTEGER, numeric_scale INTEGER, "
        "datetime_precision INTEGER, interval_type VARCHAR, interval_precision INTEGER, udt_catalog VARCHAR, "
        "udt_schema VARCHAR, udt_name VARCHAR, is_identity VARCHAR, is_generated VARCHAR, is_updatable VARCHAR"
    ),
    "views": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, view_definition VARCHAR, check_option VARCHAR, is_updatable VARCHAR, is_insertable_into VARCHAR",
    "table_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR, is_deferrable VARCHAR, initially_deferred VARCHAR, enforced VARCHAR",
    "key_column_usage": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, position_in_unique_constraint INTEGER",
    "referential_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR, unique_constraint_name VARCHAR, match_option VARCHAR, update_rule VARCHAR, delete_rule VARCHAR",
    "routines": "specific_catalog VARCHAR, specific_schema VARCHAR, specific_name VARCHAR, routine_catalog VARCHAR, routine_schema VARCHAR, routine_name VARCHAR, routine_type VARCHAR, data_type VARCHAR",
}

_DEFINITION = f"(SELECT min(definition) FROM {EMULATION}.c360_definitions x WHERE x.oid = a)"

# PostgreSQL functions with no DuckDB equivalent: name -> DuckDB macro body (overloads by arity)
MACROS = {
    "pg_get_userbyid": [("a", "'c360'")],
    "pg_table_is_visible": [("a", "true")],
    "pg_type_is_visible": [("a", "true")],
    "pg_collation_is_visible": [("a", "true")],
    "pg_function_is_visible": [("a", "true")],
    "pg_get_expr": [("a, b", "NULL::VARCHAR"), ("a, b, c", "NULL::VARCHAR")],
    "pg_get_indexdef": [
        ("a", _DEFINITION),
        ("a, b, c", f"CASE WHEN b = 0 THEN {_DEFINITION} ELSE coalesce((SELECT min(name) FROM "
                    f"{EMULATION}.c360_index_columns x WHERE x.indexrelid = a AND x.n = b), '') END"),
    ],
    "pg_get_constraintdef": [("a", _DEFINITION), ("a, b", _DEFINITION)],
    "pg_get_viewdef": [("a", _DEFINITION), ("a, b", _DEFINITION)],
    "pg_get_serial_sequence": [("a, b", "NULL::VARCHAR")],
    "pg_get_statisticsobjdef_columns": [("a", "NULL::VARCHAR")],
    "pg_relation_is_publishable": [("a", "false")],
    "pg_get_partkeydef": [("a", "NULL::VARCHAR")],
    "pg_get_triggerdef": [("a", "NULL::VARCHAR"), ("a, b", "NULL::VARCHAR")],
    "pg_get_ruledef": [("a", "NULL::VARCHAR"), ("a, b", "NULL::VARCHAR")],
    "pg_get_function_identity_arguments": [("a", "NULL::VARCHAR")],
    "pg_get_function_result": [("a", "NULL::VARCHAR")],
    "pg_get_function_arguments": [("a", "NULL::VARCHAR")],
    "pg_tablespace_location": [("a", "NULL::VARCHAR")],
    "obj_description": [
        ("a", f"(SELECT min(description) FROM {EMULATION}.pg_description d WHERE d.objoid = a AND d.objsubid = 0)"),
        ("a, b", f"(SELECT min(description) FROM {EMULATION}.pg_description d WHERE d.objoid = a AND d.objsubid = 0 "
                 f"AND d.classoid = CASE b WHEN 'pg_class' THEN 1259 WHEN 'pg_namespace' THEN 2615 ELSE -1 END)"),
    ],
    "col_description": [
        ("a, b", f"(SELECT min(description) FROM {EMULATION}.pg_description d WHERE d.objoid = a AND d.classoid = 1259 "
                 "AND d.objsubid = b)"),
    ],
    "shobj_description": [("a, b", "NULL::VARCHAR")],
    "has_table_privilege": [("a", "true"), ("a, b", "true"), ("a, b, c", "true")],
    "has_schema_privilege": [("a", "true"), ("a, b", "true"), ("a, b, c", "true")],
    "has_database_privilege": [("a", "true"), ("a, b", "true"), ("a, b, c", "true")],
    "has_column_privilege": [("a, b", "true"), ("a, b, c", "true"), ("a, b, c, d", "true")],
    "pg_has_role": [("a, b", "true"), ("a, b, c", "true")],
    **{f"has_{what}_privilege": [("a, b", "true"), ("a, b, c", "true")] for what in (
        "function", "sequence", "any_column", "tablespace", "type", "foreign_data_wrapper", "server", "language")},
    "_pg_expandarray": [("a", "list_transform(range(1, len(a) + 1), lambda i: {'x': a[i], 'n': i})")],
    "pg_get_keywords": [("", f"TABLE SELECT * FROM {EMULATION}.c360_keywords")],
    "pg_encoding_to_char": [("a", "'UTF8'")],
    "pg_char_to_encoding": [("a", "6")],
    "pg_total_relation_size": [("a", "0::BIGINT")],
    "pg_relation_size": [("a", "0::BIGINT"), ("a, b", "0::BIGINT")],
    "pg_table_size": [("a", "0::BIGINT")],
    "pg_indexes_size": [("a", "0::BIGINT")],
    "pg_database_size": [("a", "0::BIGINT")],
    "pg_is_in_recovery": [("", "false")],
    "txid_current": [("", "1::BIGINT")],
    "pg_postmaster_start_time": [("", "now()")],
    "array_upper": [("a, d", "len(a)")],
    "array_lower": [("a, d", "CASE WHEN len(a) > 0 THEN 1 END")],
    # quoted only when PostgreSQL would: not a plain lower-case name, or a keyword that is not unreserved
    "quote_ident": [("a", "CASE WHEN regexp_full_match(a, '[a-z_][a-z0-9_$]*') AND NOT EXISTS (SELECT 1 FROM "
                          f"{EMULATION}.c360_keywords k WHERE k.word = a AND k.catcode <> 'U') THEN a "
                          "ELSE '\"' || replace(a, '\"', '\"\"') || '\"' END")],
    # a quoted part is refused rather than split wrongly
    "parse_ident": [("a", "CASE WHEN contains(a, '\"') THEN error('parse_ident of a quoted name is not supported') "
                          "ELSE list_transform(string_split(a, '.'), lambda x: lower(trim(x))) END")],
    "pg_stat_get_numscans": [("a", "0::BIGINT")],
    "json_build_object": None,  # renamed to DuckDB's json_object
    "format_type": [
        (
            "t, m",
            f"CASE WHEN t IS NULL THEN NULL WHEN t = 0 THEN '-' WHEN t = 1700 AND m > 4 "
            f"THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')' "
            f"ELSE coalesce((SELECT sqlname FROM {EMULATION}.c360_type_names n WHERE n.oid = t), '???') END",
        )
    ],
    "to_regtype": [("a", f"(SELECT min(oid) FROM {EMULATION}.pg_type t WHERE t.typname = a)")],
    "to_regclass": [("a", f"(SELECT min(oid) FROM {EMULATION}.c360_regclass r WHERE r.name = a OR r.qualified = a)")],
    "to_regnamespace": [("a", f"(SELECT min(oid) FROM {EMULATION}.pg_namespace n WHERE n.nspname = a)")],
    "regproc_oid": [("a", f"(SELECT min(oid) FROM {EMULATION}.pg_proc p WHERE p.proname = replace(a, 'pg_catalog.', ''))")],
    "regproc_name": [("a", f"coalesce((SELECT min(proname) FROM {EMULATION}.pg_proc p WHERE p.oid = a), '-')")],
    "regclass_oid": [("a", f"(SELECT min(oid) FROM {EMULATION}.c360_regclass r WHERE r.name = a OR r.qualified = a)")],
    "regclass_name": [("a", f"coalesce((SELECT min(qualified) FROM {EMULATION}.c360_regclass r WHERE r.oid = a), a::VARCHAR)")],
    "regtype_oid": [("a", f"(SELECT min(oid) FROM {EMULATION}.pg_type t WHERE t.typname = a)")],
    "regtype_name": [("a", f"coalesce((SELECT min(sqlname) FROM {EMULATION}.c360_type_names t WHERE t.oid = a), a::VARCHAR)")],
    "regnamespace_oid": [("a", f"(SELECT min(oid) FROM {EMULATION}.pg_namespace n WHERE n.nspname = a)")],
    "regnamespace_name": [("a", f"coalesce((SELECT min(nspname) FROM {EMULATION}.pg_namespace n WHERE n.oid = a), a::VARCHAR)")],
}

#: the system catalogs' own OIDs (what ``'pg_catalog.pg_class'::regclass`` is; pg_description.classoid uses them)
SYSTEM_OIDS = {"pg_class": 1259, "pg_namespace": 2615, "pg_type": 1247, "pg_proc": 1255, "pg_attribute": 1249,
               "pg_constraint": 2606, "pg_index": 2610, "pg_description": 2609, "pg_database": 1262, "pg_am": 2601}

NAMESPACES = {"pg_catalog": 11, "public": 2200, "information_schema": 13000}


@dataclass
class Relation:
    schema: str
    name: str
    arrow_schema: pa.Schema
    kind: str = "r"  # 'r' table, 'v' view
    #: as the source declares them (discovered with the schema): the primary key's columns, each index's columns
    primary_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    row_count: int | None = None  # the source's estimate
    description: str = ""  # the view's (or table's) description
    definition: str = ""  # a view's SQL
    schema_description: str = ""  # the source's ``description:``



def build(relations: list[Relation]) -> duckdb.DuckDBPyConnection:
    """A locked in-memory DuckDB holding the emulated catalogs, filled from ``relations``."""
    db = duckdb.connect(config=policy.locked_config(threads=1))  # client SQL runs here: no files, no network
    db.execute(f"CREATE SCHEMA {EMULATION}; CREATE SCHEMA {INFO}")
    for name, columns in PG_TABLES.items():
        db.execute(f"CREATE TABLE {EMULATION}.{name} ({columns})")
    for name, columns in INFO_TABLES.items():
        db.execute(f"CREATE TABLE {INFO}.{name} ({columns})")
    for name, body in PG_VIEWS.items():
        db.execute(f"CREATE VIEW {EMULATION}.{name} AS {body.format(e=EMULATION)}")
    _fill(db, relations)
    for name, overloads in MACROS.items():
        if overloads:
            body = ", ".join(f"({params}) AS {expr}" for params, expr in overloads)
            db.execute(f"CREATE MACRO {EMULATION}_{name} {body}")
    policy.lock(db)
    return db

def _indexes(rel: Relation) -> list[tuple[str, tuple[str, ...], bool]]:
    """``(name, columns, primary)`` of each index of ``rel``: the primary key first (``<table>_pkey``), then
    the other indexes (``<table>_<columns>_idx``), each column list once."""
    found, seen = [], set()
    if rel.primary_key:
        found.append((f"{rel.name}_pkey", tuple(rel.primary_key), True))
        seen.add(tuple(c.lower() for c in rel.primary_key))
    for columns in rel.indexes:
        key = tuple(c.lower() for c in columns)
        if columns and key not in seen:
            seen.add(key)
            found.append((f"{rel.name}_{'_'.join(columns)}_idx"[:63], tuple(columns), False))
    return found


class _Keys:
    """Rows for pg_index, pg_constraint, information_schema's constraints and the definitions/descriptions."""

    def __init__(self, insert):
        self.insert = insert
        self.index, self.constraint, self.index_columns = [], [], []
        self.table_constraints, self.key_columns, self.definitions, self.descriptions = [], [], [], []
        self._oids = iter(range(40000, 2**31))
        self._index_of: list[tuple[int, int, list[int]]] = []  # (index oid, table oid, attnums)

    def add(self, rel: Relation, oid: int, nsp: int, indexes, classes: list, regclass: list) -> None:
        attnums = {f.name.lower(): n for n, f in enumerate(rel.arrow_schema, start=1)}
        qualified = f"{_quote(rel.schema)}.{_quote(rel.name)}"
        for name, columns, primary in indexes:
            numbers = [attnums.get(c.lower()) for c in columns]
            if None in numbers:
                continue  # a key over a column c360 does not show
            index_oid = next(self._oids)
            classes.append(
                (index_oid, name, nsp, 0, 0, 10, 403, index_oid, 0, 0, 0.0, 0, 0, False, False, "p", "i", len(columns),
                 0, False, False, False, False, False, True, "n", False, 0, 0, 0, None, None, None)
            )
            regclass.append((index_oid, name, f"{rel.schema}.{name}"))
            self.index.append(
                (index_oid, oid, len(columns), len(columns), primary, False, primary, False, True, False, True, False,
                 True, True, False, numbers, [0] * len(columns), [0] * len(columns), [0] * len(columns), None, None)
            )
            column_list = ", ".join(_quote(c) for c in columns)
            unique = "UNIQUE " if primary else ""
            self.definitions.append(
                (index_oid, f"CREATE {unique}INDEX {_quote(name)} ON {qualified} USING btree ({column_list})")
            )
            self.index_columns += [(index_oid, n, _quote(c)) for n, c in enumerate(columns, start=1)]
            self._index_of.append((index_oid, oid, numbers))
            if primary:
                constraint_oid = next(self._oids)
                self.constraint.append(
                    (constraint_oid, name, nsp, "p", False, False, True, oid, 0, index_oid, 0, 0, " ", " ", " ", True,
                     0, True, numbers, None, None)
                )
                self.definitions.append((constraint_oid, f"PRIMARY KEY ({column_list})"))
                self.table_constraints.append(
                    ("c360", rel.schema, name, "c360", rel.schema, rel.name, "PRIMARY KEY", "NO", "NO", "YES")
                )
                self.key_columns += [("c360", rel.schema, name, "c360", rel.schema, rel.name, c, n, None)
                                     for n, c in enumerate(columns, start=1)]

    def attributes(self, table_attributes: list[tuple]) -> list[tuple]:
        """pg_attribute rows of the indexes (PostgreSQL has them: attnum 1..n naming the indexed columns; psqlODBC
        reads a primary key through them), made from the tables' rows."""
        by_table = {(row[0], row[5]): row for row in table_attributes}
        rows = []
        for index_oid, table_oid, numbers in self._index_of:
            for position, number in enumerate(numbers, start=1):
                row = by_table[(table_oid, number)]
                rows.append((index_oid, *row[1:5], position, *row[6:]))
        return rows

    def flush(self) -> None:
        self.insert(f"{EMULATION}.pg_index", self.index)
        self.insert(f"{EMULATION}.pg_constraint", self.constraint)
        self.insert(f"{EMULATION}.c360_index_columns", self.index_columns)
        self.insert(f"{EMULATION}.c360_definitions", self.definitions)
        self.insert(f"{EMULATION}.pg_description", self.descriptions)
        self.insert(f"{INFO}.table_constraints", self.table_constraints)
        self.insert(f"{INFO}.key_column_usage", self.key_columns)


def _quote(name: str) -> str:
    """An identifier as PostgreSQL prints it: bare when lower-case and plain, else double-quoted."""
    import re

    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


_RESERVED = {word.split(":")[0] for word in pg_keywords.KEYWORDS if word.split(":")[1].rstrip("!") in ("R", "T")}


def _fill(db, relations: list[Relation]) -> None:
    insert = lambda table, rows: rows and db.executemany(  # noqa: E731
        f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows
    )
    schemas = sorted({r.schema for r in relations} | {"public"})
    namespace_oid = dict(NAMESPACES)
    for i, schema in enumerate(s for s in schemas if s not in namespace_oid):
        namespace_oid[schema] = 16384 + i
    insert(f"{EMULATION}.pg_namespace", [(oid, name, 10, None) for name, oid in namespace_oid.items()])
    insert(
        f"{INFO}.schemata",
        [("c360", name, OWNER, None, None, "UTF8", None) for name in namespace_oid],
    )
    # every type has in/out/recv/send functions in pg_proc, and an array type whose
    # receive function is array_recv: drivers (Npgsql, JDBC) tell arrays apart that way
    procs: dict[str, int] = {}

    def proc(name: str) -> int:
        return procs.setdefault(name, 30000 + len(procs))

    type_rows = []
    for t in sorted(pgtypes.BY_OID.values(), key=lambda t: t.oid):
        category = {16: "B", 17: "U", 1082: "D", 1083: "D", 1114: "D", 1184: "D", 1186: "T"}.get(
            t.oid, "N" if t.oid in (20, 21, 23, 26, 700, 701, 1700) else "S"
        )
        array = pgtypes.ARRAY_OIDS.get(t.oid, 0)
        type_rows.append(
            (t.oid, t.name, 11, 10, t.size, t.size in (1, 2, 4, 8), "b" if t.oid != 705 else "p", category, False,
             True, ",", 0, None, 0, array, proc(f"{t.name}in"), proc(f"{t.name}out"), proc(f"{t.name}recv"),
             proc(f"{t.name}send"), 0, 0, 0, "i", "p", False, 0, -1, 0, 100 if category == "S" else 0, None,
             None, None)
        )
        if array:
            type_rows.append(
                (array, f"_{t.name}", 11, 10, -1, False, "b", "A", False, True, ",", 0, "array_subscript_handler",
                 t.oid, 0, proc("array_in"), proc("array_out"), proc("array_recv"), proc("array_send"), 0, 0, 0,
                 "i", "x", False, 0, -1, 0, 0, None, None, None)
            )
    insert(
        f"{EMULATION}.pg_proc",
        [(oid, name, 11, 10, 12, "f", False, 0, 1, None, None, name, None, None, True, False, "i", "s", 0, None, 0,
          1.0, 0.0, False, None, None, None) for name, oid in procs.items()],
    )
    insert(f"{EMULATION}.pg_type", type_rows)
    insert(f"{EMULATION}.c360_type_names", [(oid, name) for oid, name in pgtypes.SQL_NAMES.items()]
           + [(pgtypes.ARRAY_OIDS[oid], f"{name}[]") for oid, name in pgtypes.SQL_NAMES.items() if oid in pgtypes.ARRAY_OIDS])
    insert(f"{EMULATION}.c360_keywords", pg_keywords.rows())
    insert(f"{EMULATION}.pg_description",
           [(namespace_oid[r.schema], 2615, 0, r.schema_description)
            for r in {r.schema: r for r in relations if r.schema_description}.values()])
    insert(
        f"{EMULATION}.pg_database",
        [(16380, "c360", 10, 6, "c", False, True, -1, 0, 0, 1663, "C.UTF-8", "C.UTF-8", None, None, None)],
    )
    insert(f"{EMULATION}.pg_am", [(2, "heap", "heap_tableam_handler", "t"), (403, "btree", "bthandler", "i")])
    insert(
        f"{EMULATION}.pg_roles",
        [(OWNER, False, True, False, False, True, False, -1, "********", None, False, None, 10)],
    )
    insert(f"{EMULATION}.pg_user", [(OWNER, 10, False, False, False, False, "********", None, None)])
    insert(f"{EMULATION}.pg_tablespace", [(1663, "pg_default", 10, None, None)])
    classes, attributes, tables, columns, views, regclass = [], [], [], [], [], []
    keys = _Keys(insert)
    for i, rel in enumerate(relations):
        oid = 20000 + i
        nsp = namespace_oid[rel.schema]
        indexes = _indexes(rel)
        rows = float(rel.row_count) if rel.row_count is not None else -1.0
        classes.append(
            (oid, rel.name, nsp, 0, 0, 10, 2 if rel.kind == "r" else 0, oid, 0, 0, rows, 0, 0, bool(indexes), False,
             "p", rel.kind, len(rel.arrow_schema), 0, False, False, False, False, False, True, "d", False, 0,
             0, 0, None, None, None)
        )
        keys.add(rel, oid, nsp, indexes, classes, regclass)
        if rel.description:
            keys.descriptions.append((oid, 1259, 0, rel.description))
        if rel.definition:
            keys.definitions.append((oid, rel.definition))
        regclass.append((oid, rel.name, f"{rel.schema}.{rel.name}"))
        tables.append(("c360", rel.schema, rel.name, "BASE TABLE" if rel.kind == "r" else "VIEW",
                       None, None, None, None, None, "NO", "NO", None))
        if rel.kind == "v":
            views.append(("c360", rel.schema, rel.name, rel.definition or None, "NONE", "NO", "NO"))
        for number, arrow_field in enumerate(rel.arrow_schema, start=1):
            t = pgtypes.pg_type(arrow_field.type)
            attributes.append(
                (oid, arrow_field.name, t.oid, -1, t.size, number, 0, -1, t.modifier, t.size in (1, 2, 4, 8),
                 "i", "p", "", not arrow_field.nullable, False, False, "", "", False, True, 0, 0, None, None,
                 None, None)
            )
            precision = scale = None
            if pa.types.is_decimal(arrow_field.type):
                precision, scale = arrow_field.type.precision, arrow_field.type.scale
            elif t.oid in (20, 21, 23):
                precision, scale = {20: 64, 21: 16, 23: 32}[t.oid], 0
            elif t.oid in (700, 701):
                precision = {700: 24, 701: 53}[t.oid]
            data_type = "ARRAY" if t.name.startswith("_") else pgtypes.SQL_NAMES.get(t.oid, t.name)
            columns.append(
                ("c360", rel.schema, rel.name, arrow_field.name, number, None,
                 "YES" if arrow_field.nullable else "NO", data_type, None, None,
                 precision, 2 if precision is not None else None, scale, None, None, None, "c360",
                 "pg_catalog", t.name, "NO", "NEVER", "NO")
            )
    keys.flush()
    attributes += keys.attributes(attributes)
    insert(f"{EMULATION}.pg_class", classes)
    insert(f"{EMULATION}.pg_attribute", attributes)
    insert(f"{EMULATION}.c360_regclass", regclass + [(oid, name, f"pg_catalog.{name}") for name, oid in SYSTEM_OIDS.items()])
    insert(f"{INFO}.tables", tables)
    insert(f"{INFO}.columns", columns)
    insert(f"{INFO}.views", views)
    insert(
        f"{EMULATION}.pg_settings",
        [(name, value, None, "c360", name, None, "user", "string", "default", None, None, None, value, value,
          None, None, False) for name, value in DEFAULT_SETTINGS.items()],
    )


#: What SHOW and current_setting() answer, and what pg_settings lists.
DEFAULT_SETTINGS = {
    "server_version": PG_VERSION,
    "server_version_num": "150000",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "datestyle": "ISO, MDY",
    "timezone": "UTC",
    "intervalstyle": "postgres",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "search_path": '"$user", public',
    "transaction_isolation": "read committed",
    "transaction_read_only": "on",
    "default_transaction_read_only": "on",
    "default_transaction_isolation": "read committed",
    "max_identifier_length": "63",
    "lc_collate": "C.UTF-8",
    "lc_ctype": "C.UTF-8",
    "application_name": "",
    "extra_float_digits": "1",
    "statement_timeout": "0",
    "bytea_output": "hex",
    "is_superuser": "off",
    "max_index_keys": "32",
    "default_table_access_method": "heap",
    "lc_messages": "C.UTF-8",
    "lc_monetary": "C.UTF-8",
    "lc_numeric": "C.UTF-8",
    "lc_time": "C.UTF-8",
    "default_text_search_config": "pg_catalog.english",
    "block_size": "8192",
    "max_connections": "100",
    "idle_in_transaction_session_timeout": "0",
    "lock_timeout": "0",
}

