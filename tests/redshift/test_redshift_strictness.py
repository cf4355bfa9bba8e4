"""Every statement the scripts can send to Redshift, in every run shape, uses nothing AWS documents as unsupported:
the PostgreSQL features, functions and data types of AWS's "Unsupported PostgreSQL ..." pages, leader-node-only
functions in a statement that reads a table, and (one path serves both deployments) no view of "System monitoring
(provisioned only)", which Redshift Serverless lacks.

Parsing (sqlfluff, tests/redshift/test_grammar.py) proves a statement is well formed, not that Redshift runs it:
`string_agg(...)` or `a is distinct from b` parse. Here each statement is read as sqlfluff's tree and tokens:
function calls, data types, table and column references, and the sequence of keywords and names outside string
literals and comments (a word inside a literal, an S3 key, or a comment is never a finding). `RULES` is the table:
each entry names what AWS lists, the page that lists it, and how it is found. The negative tests prove each kind of
rule can fail.

Not checked, and why: "NULLS clause in Window functions" (AWS's window function syntax itself documents NULLS
FIRST | NULLS LAST, so what is excluded is not clear); "Database roles" (no longer on the English page); whole
categories whose member names overlap Redshift's own functions (access privilege inquiry: HAS_*_PRIVILEGE are
documented leader-node functions; range functions: LOWER and UPPER; server signaling: PG_CANCEL_BACKEND and
PG_TERMINATE_BACKEND are documented) are checked by their unambiguous members only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest

import sql_queries
from sparkify import dryrun, ledger
from sparkify.pipeline.state import RunState
from sparkify.sqlscan import PROVISIONED_ONLY_PREFIXES
from tests.helpers.statements import CASES as GRAMMAR_CASES
from tests.helpers.statements import CONFIG

pytestmark = pytest.mark.slow  # sqlfluff's parser: up to a second per statement

DG = "https://docs.aws.amazon.com/redshift/latest/dg/"
FEATURES = DG + "c_unsupported-postgresql-features.html"
FUNCTIONS = DG + "c_unsupported-postgresql-functions.html"
DATA_TYPES = DG + "c_unsupported-postgresql-datatypes.html"
LEADER_ONLY = DG + "c_SQL_functions_leader_node_only.html"
PROVISIONED_ONLY = DG + "c_intro_system_views.html"
INSERT = DG + "r_INSERT_30.html"

# --------------------------------------------------------------------------------------------------
# What a statement uses, read from sqlfluff's tree

_NAME = re.compile(r"[a-z_][a-z0-9_$]*")
_LITERAL_TYPES = ("quoted_literal", "single_quote", "numeric_literal", "dollar_quote", "literal", "null_literal",
                  "boolean_literal")


@dataclass
class Facts:
    functions: list[str] = field(default_factory=list)  # called, unqualified, lower-case
    types: list[str] = field(default_factory=list)  # data types written (DDL, casts), lower-case, spaces normalized
    tables: list[str] = field(default_factory=list)  # referenced tables and views (qualified as written), CTEs excluded
    columns: list[str] = field(default_factory=list)  # column references' last part
    words: list[str] = field(default_factory=list)  # keywords and names in order, outside literals and comments
    tokens: list[str] = field(default_factory=list)  # every code token in order (words, brackets, operators)
    table_functions: list[str] = field(default_factory=list)  # functions used as a table in FROM
    values_tables: int = 0  # VALUES lists outside an INSERT
    statement_types: set[str] = field(default_factory=set)


@functools.cache
def facts_of(sql: str) -> Facts:
    from sqlfluff.core import Linter

    tree = Linter(dialect="redshift").parse_string(sql).tree
    facts = Facts()
    ctes: set[str] = set()

    def name_of(seg) -> str:
        return ".".join(s.raw.strip('"').lower() for s in seg.raw_segments
                        if not (s.is_whitespace or s.is_meta or s.is_comment) and s.raw != ".")

    def walk(seg, ancestors: tuple[str, ...]) -> None:
        kind = seg.get_type()
        if kind.endswith("_statement"):
            facts.statement_types.add(kind)
        if kind == "common_table_expression":
            ident = next((c for c in seg.segments if c.is_type("identifier", "naked_identifier", "quoted_identifier")),
                         None)
            if ident is not None:
                ctes.add(ident.raw.strip('"').lower())
        elif kind == "function_name":
            name = name_of(seg).rsplit(".", 1)[-1]
            facts.functions.append(name)
            if "table_expression" in ancestors[-3:]:
                facts.table_functions.append(name)
        elif kind == "bare_function":
            facts.functions.append(seg.raw.lower())
        elif kind == "data_type":
            facts.types.append(" ".join(seg.raw.lower().split()))
        elif kind == "table_reference":
            facts.tables.append(name_of(seg))
        elif kind == "column_reference":
            facts.columns.append(name_of(seg).rsplit(".", 1)[-1])
        elif kind == "values_clause" and "insert_statement" not in ancestors:
            facts.values_tables += 1
        for child in seg.segments:
            walk(child, (*ancestors, kind))

    walk(tree, ())
    facts.tables = [t for t in facts.tables if t not in ctes]
    kinds: list[str] = []  # each code token's type: "word" marks what sqlfluff could not parse
    for leaf in tree.raw_segments:
        if leaf.is_whitespace or leaf.is_meta or leaf.is_comment or leaf.is_type(*_LITERAL_TYPES):
            continue
        raw = leaf.raw.lower()
        if leaf.is_type("quoted_identifier") or (raw.startswith('"') and raw.endswith('"')):
            raw = raw.strip('"')
            facts.words.append(raw)
        elif _NAME.fullmatch(raw):
            facts.words.append(raw)
        facts.tokens.append(raw)
        kinds.append(leaf.get_type())
    _unparsed(facts, kinds)
    return facts


_FIRST_WORDS = {("create", "table"): "create_table_statement", ("create", "index"): "create_index_statement",
                ("create", "unique"): "create_index_statement", ("alter", "table"): "alter_table_statement",
                ("insert", "into"): "insert_statement", ("grant",): "grant_statement"}


def _unparsed(facts: Facts, kinds: list[str]) -> None:
    """What sqlfluff could not parse still counts, read from its tokens (type "word"): a word followed by "(" is
    a call, a word after "::" a type, and so is the word after a column name in CREATE TABLE; "[]" an array type;
    the first words say what kind of statement it is."""
    tokens = facts.tokens
    if not facts.statement_types:
        for words, kind in _FIRST_WORDS.items():
            if tuple(facts.words[:len(words)]) == words:
                facts.statement_types.add(kind)
    create_table = "create_table_statement" in facts.statement_types
    for i, (tok, kind) in enumerate(zip(tokens, kinds, strict=True)):
        if kind != "word":
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if following == "(" and tok not in facts.functions:
            facts.functions.append(tok)
        cast = i > 0 and tokens[i - 1] == "::"
        column_type = create_table and i > 1 and kinds[i - 1] == "word" and tokens[i - 2] in ("(", ",")
        if cast or column_type:
            facts.types.append(tok)
    if sequence(tokens, "[", "]"):
        facts.types.append("[]")


def sequence(words: list[str], *pattern: str) -> bool:
    n = len(pattern)
    return any(tuple(words[i:i + n]) == pattern for i in range(len(words) - n + 1))


def catalog_only(facts: Facts) -> bool:
    """Whether every table the statement reads is a catalog table (pg_*, information_schema): then it runs on the
    leader node, where leader-node-only functions work."""
    return all(t.split(".")[-1].startswith("pg_") or t.startswith(("pg_catalog.", "information_schema."))
               for t in facts.tables)


# --------------------------------------------------------------------------------------------------
# The table: what AWS lists, where, and how it is found


@dataclass(frozen=True)
class Rule:
    what: str  # as AWS's page names it
    page: str
    find: Callable[[Facts], list[str]]  # what in the statement matches (empty: nothing)


def functions_named(*names: str) -> Callable[[Facts], list[str]]:
    wanted = set(names)
    return lambda f: [n for n in f.functions if n in wanted]


def functions_prefixed(*prefixes: str) -> Callable[[Facts], list[str]]:
    return lambda f: [n for n in f.functions if n.startswith(prefixes)]


def types_matching(pattern: str) -> Callable[[Facts], list[str]]:
    regex = re.compile(pattern)
    return lambda f: [t for t in f.types if regex.fullmatch(t)]


def words_in_sequence(*patterns: tuple[str, ...]) -> Callable[[Facts], list[str]]:
    return lambda f: [" ".join(p) for p in patterns if sequence(f.words, *p)]


def tokens_in_sequence(*patterns: tuple[str, ...]) -> Callable[[Facts], list[str]]:
    return lambda f: [" ".join(p) for p in patterns if sequence(f.tokens, *p)]


def statements_of_type(*types: str) -> Callable[[Facts], list[str]]:
    return lambda f: sorted(f.statement_types & set(types))


RULES: tuple[Rule, ...] = (
    # ---- Unsupported PostgreSQL functions
    Rule("Aggregate functions: STRING_AGG, ARRAY_AGG, EVERY, XML_AGG, CORR, COVAR_POP, COVAR_SAMP, REGR_*", FUNCTIONS,
         functions_named("string_agg", "array_agg", "every", "xml_agg", "xmlagg", "corr", "covar_pop", "covar_samp",
                         "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope",
                         "regr_sxx", "regr_sxy", "regr_syy")),
    Rule("Date/Time functions: CLOCK_TIMESTAMP, JUSTIFY_DAYS/HOURS/INTERVAL, PG_SLEEP, TRANSACTION_TIMESTAMP",
         FUNCTIONS, functions_named("clock_timestamp", "justify_days", "justify_hours", "justify_interval", "pg_sleep",
                                    "transaction_timestamp")),
    Rule("Mathematical functions: DIV, SETSEED, WIDTH_BUCKET", FUNCTIONS,
         functions_named("div", "setseed", "width_bucket")),
    Rule("Set returning functions: GENERATE_SERIES, GENERATE_SUBSCRIPTS", FUNCTIONS,
         functions_named("generate_series", "generate_subscripts")),
    Rule("String functions: BIT_LENGTH, OVERLAY, CONVERT, CONVERT_FROM, CONVERT_TO, ENCODE, FORMAT, QUOTE_NULLABLE, "
         "REGEXP_MATCHES, REGEXP_SPLIT_TO_ARRAY, REGEXP_SPLIT_TO_TABLE", FUNCTIONS,
         functions_named("bit_length", "overlay", "convert", "convert_from", "convert_to", "encode", "format",
                         "quote_nullable", "regexp_matches", "regexp_split_to_array", "regexp_split_to_table")),
    Rule("System information functions: CURRENT_CATALOG, CURRENT_QUERY, INET_*, PG_CONF_LOAD_TIME, "
         "PG_IS_OTHER_TEMP_SCHEMA, PG_LISTENING_CHANNELS, PG_MY_TEMP_SCHEMA, PG_POSTMASTER_START_TIME, "
         "PG_TRIGGER_DEPTH", FUNCTIONS,
         lambda f: [n for n in f.functions + f.words if n in {
             "current_catalog", "current_query", "inet_client_addr", "inet_client_port", "inet_server_addr",
             "inet_server_port", "pg_conf_load_time", "pg_is_other_temp_schema", "pg_listening_channels",
             "pg_my_temp_schema", "pg_postmaster_start_time", "pg_trigger_depth"}]),
    Rule("Advisory lock functions", FUNCTIONS, functions_prefixed("pg_advisory_", "pg_try_advisory_")),
    Rule("Array functions and operators", FUNCTIONS,
         functions_named("array_append", "array_cat", "array_dims", "array_fill", "array_length", "array_lower",
                         "array_ndims", "array_position", "array_positions", "array_prepend", "array_remove",
                         "array_replace", "array_to_string", "array_upper", "cardinality", "string_to_array",
                         "unnest")),
    Rule("Backup control, recovery control and recovery information functions", FUNCTIONS,
         functions_named("pg_start_backup", "pg_stop_backup", "pg_backup_start", "pg_backup_stop",
                         "pg_create_restore_point", "pg_switch_wal", "pg_current_wal_lsn", "pg_is_in_recovery",
                         "pg_last_wal_receive_lsn", "pg_last_wal_replay_lsn", "pg_wal_replay_pause",
                         "pg_wal_replay_resume", "pg_promote")),
    Rule("Comment information functions", FUNCTIONS,
         functions_named("obj_description", "col_description", "shobj_description")),
    Rule("Database object location and size functions", FUNCTIONS,
         functions_named("pg_relation_filenode", "pg_relation_filepath", "pg_filenode_relation", "pg_column_size",
                         "pg_database_size", "pg_relation_size", "pg_size_pretty", "pg_table_size",
                         "pg_total_relation_size", "pg_indexes_size", "pg_tablespace_size")),
    Rule("ENUM support functions", FUNCTIONS, functions_named("enum_first", "enum_last", "enum_range")),
    Rule("Generic file access functions", FUNCTIONS,
         functions_named("pg_ls_dir", "pg_read_file", "pg_read_binary_file", "pg_stat_file")),
    Rule("Network address functions and operators", FUNCTIONS,
         functions_named("abbrev", "broadcast", "family", "host", "hostmask", "inet_merge", "inet_same_family",
                         "masklen", "netmask", "network", "set_masklen", "macaddr8_set7bit")),
    Rule("Geometric functions and operators", FUNCTIONS,
         functions_named("area", "center", "diameter", "isclosed", "isopen", "npoints", "pclose", "popen", "radius",
                         "box", "circle", "lseg", "path", "point", "polygon")),
    Rule("Range functions and operators (those not shared with string functions)", FUNCTIONS,
         functions_named("isempty", "lower_inc", "upper_inc", "lower_inf", "upper_inf", "range_merge")),
    Rule("ROLLBACK TO SAVEPOINT", FUNCTIONS,
         lambda f: ["savepoint"] * ("savepoint" in f.words)),
    Rule("Schema visibility inquiry functions", FUNCTIONS, functions_prefixed("pg_table_is_visible",
                                                                              "pg_type_is_visible",
                                                                              "pg_function_is_visible")),
    Rule("Server signaling functions (those Redshift does not document)", FUNCTIONS,
         functions_named("pg_reload_conf", "pg_rotate_logfile", "pg_signal_backend")),
    Rule("Snapshot synchronization functions", FUNCTIONS, functions_named("pg_export_snapshot")),
    Rule("Sequence manipulation functions", FUNCTIONS, functions_named("nextval", "currval", "setval", "lastval")),
    Rule("System catalog information functions", FUNCTIONS,
         functions_named("format_type", "pg_get_constraintdef", "pg_get_expr", "pg_get_functiondef",
                         "pg_get_indexdef", "pg_get_ruledef", "pg_get_serial_sequence", "pg_get_triggerdef",
                         "pg_typeof", "to_regclass", "to_regtype", "to_regrole")),
    Rule("Text search functions and operators", FUNCTIONS,
         lambda f: [n for n in f.functions if n in {"to_tsvector", "to_tsquery", "plainto_tsquery",
                                                    "phraseto_tsquery", "websearch_to_tsquery", "ts_rank",
                                                    "ts_rank_cd", "ts_headline", "setweight", "strip"}]
         + ["@@"] * ("@@" in f.tokens)),
    Rule("Transaction IDs and snapshots functions", FUNCTIONS,
         lambda f: [n for n in f.functions if n.startswith(("txid_", "pg_current_xact_id", "pg_xact_", "pg_snapshot_",
                                                            "pg_current_snapshot"))]),
    Rule("Trigger functions", FUNCTIONS, functions_named("suppress_redundant_updates_trigger")),
    Rule("XML functions", FUNCTIONS,
         lambda f: [n for n in f.functions if n.startswith("xml") or n in {"xpath", "xpath_exists", "table_to_xml",
                                                                           "query_to_xml"}]),
    Rule("IS DISTINCT FROM", FUNCTIONS,
         words_in_sequence(("is", "distinct", "from"), ("is", "not", "distinct", "from"))),
    # ---- Unsupported PostgreSQL data types
    Rule("Arrays", DATA_TYPES, lambda f: [t for t in f.types if t.endswith("]") or t.startswith("array")]),
    Rule("BIT, BIT VARYING", DATA_TYPES, types_matching(r"bit( varying)?(\s*\(.*\))?|varbit.*")),
    Rule("BYTEA", DATA_TYPES, types_matching(r"bytea")),
    Rule("Geometric types", DATA_TYPES, types_matching(r"point|line|lseg|box|path|polygon|circle")),
    Rule("HSTORE", DATA_TYPES, types_matching(r"hstore")),
    Rule("JSON", DATA_TYPES, types_matching(r"jsonb?")),
    Rule("Network address types", DATA_TYPES, types_matching(r"inet|cidr|macaddr8?")),
    Rule("Numeric types: SERIAL, BIGSERIAL, SMALLSERIAL, MONEY", DATA_TYPES,
         types_matching(r"(small|big)?serial[248]?|money")),
    Rule("Object identifier types", DATA_TYPES,
         types_matching(r"oid|reg(class|collation|config|dictionary|namespace|oper|operator|proc|procedure|role|type)"
                        r"|xid8?|cid|tid")),
    Rule("Pseudo-types", DATA_TYPES,
         types_matching(r"any(element|array|nonarray|enum|range|multirange|compatible\w*)?|cstring|internal"
                        r"|language_handler|fdw_handler|record|trigger|event_trigger|void|unknown")),
    Rule("Range types", DATA_TYPES, types_matching(r"(int4|int8|num|ts|tstz|date)(multi)?range")),
    Rule('Special character types: "char", name', DATA_TYPES, types_matching(r'"char"|name')),
    Rule("Text search types", DATA_TYPES, types_matching(r"tsvector|tsquery")),
    Rule("TXID_SNAPSHOT, UUID, XML", DATA_TYPES, types_matching(r"txid_snapshot|pg_snapshot|uuid|xml")),
    # ---- Unsupported PostgreSQL features
    Rule("Table partitioning (range and list partitioning)", FEATURES,
         lambda f: ["partition of / partition by"] * bool(
             "create_table_statement" in f.statement_types and "partition" in f.words)),
    Rule("Tablespaces", FEATURES, lambda f: ["tablespace"] * ("tablespace" in f.words)),
    Rule("Constraints: check constraints, exclusion constraints", FEATURES,
         lambda f: [w for w in ("check", "exclude") if w in f.words and "create_table_statement" in f.statement_types
                    | ({"alter_table_statement"} & f.statement_types)]),
    Rule("Inheritance", FEATURES, lambda f: ["inherits"] * ("inherits" in f.words)),
    # (of user tables: the catalog tables' oid is how AWS's own catalog queries join them, c_join_PG_examples.html)
    Rule("PostgreSQL system columns (oid, tableoid, xmin, cmin, xmax, cmax, ctid)", FEATURES,
         lambda f: [] if catalog_only(f) else [c for c in f.columns if c in {"oid", "tableoid", "xmin", "cmin", "xmax",
                                                                              "cmax", "ctid"}]),
    Rule("Indexes", FEATURES, lambda f: statements_of_type("create_index_statement", "drop_index_statement")(f)
         + words_in_sequence(("create", "index"), ("create", "unique", "index"))(f)),
    Rule("Collations (locale-specific or user-defined)", FEATURES,
         lambda f: [f"collate {f.words[i + 1]}" for i, w in enumerate(f.words[:-1]) if w == "collate"
                    and f.words[i + 1] not in ("case_sensitive", "case_insensitive")]),
    Rule("Value expressions: subscripted expressions, array constructors, row constructors", FEATURES,
         tokens_in_sequence(("[",), ("array", "["), ("row", "("))),
    Rule("Triggers", FEATURES, lambda f: statements_of_type("create_trigger", "create_trigger_statement")(f)
         + words_in_sequence(("create", "trigger"), ("create", "constraint", "trigger"))(f)),
    Rule("Management of External Data (SQL/MED)", FEATURES,
         words_in_sequence(("foreign", "table"), ("foreign", "data", "wrapper"), ("create", "server"),
                           ("user", "mapping"))),
    Rule("Table functions", FEATURES, lambda f: f.table_functions),
    Rule("VALUES list used as constant tables", FEATURES, lambda f: ["values"] * f.values_tables),
    Rule("Sequences", FEATURES, words_in_sequence(("create", "sequence"), ("alter", "sequence"), ("drop", "sequence"))),
    Rule("Full text search", FEATURES, lambda f: ["@@"] * ("@@" in f.tokens)),
    Rule("RULE and TRIGGER privileges", FEATURES,
         lambda f: [w for w in ("rule", "trigger") if w in f.words and "grant_statement" in f.statement_types]),
    # ---- Statement shapes PostgreSQL has and Redshift's INSERT does not
    Rule("INSERT ... ON CONFLICT (not in Redshift's INSERT syntax)", INSERT, words_in_sequence(("on", "conflict"))),
    Rule("INSERT ... RETURNING (not in Redshift's INSERT syntax)", INSERT,
         lambda f: ["returning"] * ("returning" in f.words and "insert_statement" in f.statement_types)),
    # ---- Leader-node-only functions
    Rule("Leader-node only functions used with a user table or a system table or view: CURRENT_SCHEMA, "
         "CURRENT_SCHEMAS, HAS_DATABASE_PRIVILEGE, HAS_SCHEMA_PRIVILEGE, HAS_TABLE_PRIVILEGE, SUBSTR, FACTORIAL",
         LEADER_ONLY,
         lambda f: [] if catalog_only(f) else [n for n in f.functions if n in {
             "current_schema", "current_schemas", "has_database_privilege", "has_schema_privilege",
             "has_table_privilege", "substr", "factorial"}]),
    Rule("Deprecated leader-node only functions: AGE, CURRENT_TIME, CURRENT_TIMESTAMP, LOCALTIME, ISFINITE, NOW, "
         "GETBIT, GET_BYTE, SET_BIT, SET_BYTE, TO_ASCII", LEADER_ONLY,
         lambda f: list(dict.fromkeys(n for n in f.functions + f.words if n in {
             "age", "current_time", "current_timestamp", "localtime", "isfinite", "now", "getbit", "get_byte",
             "set_bit", "set_byte", "to_ascii"}))),
    # ---- Redshift Serverless
    Rule("System monitoring (provisioned only): STL, STV, SVL and SVCS views, which Redshift Serverless lacks",
         PROVISIONED_ONLY,
         lambda f: [w for w in dict.fromkeys(f.tables + f.words) if w.split(".")[-1].startswith(PROVISIONED_ONLY_PREFIXES)]),
)


def findings(sql: str) -> list[str]:
    """Each rule `sql` breaks: what, found where, and the page."""
    facts = facts_of(sql)
    return [f"{rule.what}: {', '.join(found)} ({rule.page})" for rule in RULES if (found := rule.find(facts))]


# --------------------------------------------------------------------------------------------------
# Every statement of every run shape


def _obj(key: str, size: int) -> ledger.ListedObject:
    return ledger.ListedObject(f"s3://udacity-dend/{key}", key, size, '"9b2cf535f27731c974343645a3985328"',
                               datetime(2018, 11, 30, 12, 0, 0, 123456))


def _etl(new_events=(), reloaded_events=(), new_songs=(), previous=1000) -> dryrun.DryRun:
    tables = {
        "staging_events": ledger.TablePlan("staging_events", CONFIG.s3.log_data, new=list(new_events),
                                           reloaded=list(reloaded_events), unchanged=28),
        "staging_songs": ledger.TablePlan("staging_songs", CONFIG.s3.song_data, new=list(new_songs), unchanged=14),
    }
    loaded = {t for t, p in tables.items() if p.to_load}
    state = RunState(CONFIG, run_id=43, previous_totals={t: previous for t in sql_queries.STAR_TABLES},
                     tables=tables, loaded=loaded, loaded_at=datetime(2018, 11, 30, 23, 59, 59, 123456))
    return dryrun.etl_dry_run_of(state)


EVENT = _obj("log_data/2018/11/2018-11-30-events.json", 214321)
SONG = _obj("song_data/A/A/A/TRAAAAK128F9318786.json", 254)
MORE_RUNS = {
    "etl first load": _etl([EVENT], new_songs=[SONG], previous=0),
    "etl reload only": _etl(reloaded_events=[EVENT]),
    "etl nothing new": _etl(),
    "analytics without --check": dryrun.analytics_dry_run(CONFIG, with_checks=False),
}
CASES = [*GRAMMAR_CASES, *((f"{name} {i:02d} {s.label}", s.sql) for name, run in MORE_RUNS.items()
                           for i, s in enumerate(run.statements))]


@pytest.mark.parametrize("sql", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_statement_uses_nothing_redshift_lacks(sql):
    assert findings(sql) == [], sql


def test_the_cases_cover_every_run_shape():
    ids = {name for name, _ in CASES}
    for shape in ("create_tables.py", "etl.py", "analytics.py", "other path: load_errors", "preflight noload",
                  *MORE_RUNS):
        assert any(name.startswith(shape) for name in ids), shape
    statements = {sql for _, sql in CASES}
    for statement in (sql_queries.copy_rejected_count, sql_queries.load_errors, sql_queries.schema_tables_select,
                      sql_queries.latest_run_checks, sql_queries.songplay_rematch):
        assert statement.sql.strip() in {s.strip() for s in statements}, statement.name
    assert not any(s.startswith("copy ") for name, s in CASES if name.startswith("etl nothing new"))


def test_the_reader_sees_structure_not_text():
    """What the rules read: calls, types, tables, and words outside literals and comments."""
    facts = facts_of("with c as (select x::bigint as n from pg_catalog.stl_scan s) "
                     "select string_agg(name, ',') from c, users u where u.ctid = 'is distinct from generate_series' "
                     "-- nextval('s') in a comment")
    assert facts.functions == ["string_agg"] and facts.types == ["bigint"]
    assert facts.tables == ["pg_catalog.stl_scan", "users"] and "ctid" in facts.columns
    assert "generate_series" not in facts.words and "nextval" not in facts.words


@pytest.mark.parametrize("sql, rule", [
    ("select string_agg(song, ',') from songplays", "Aggregate functions"),
    ("select a from t where a is distinct from b", "IS DISTINCT FROM"),
    ("select a from t where a is not distinct from b", "IS DISTINCT FROM"),
    ("select g from generate_series(1, 10) g", "Set returning functions"),
    ("select g from generate_series(1, 10) g", "Table functions"),
    ("select x from (values (1), (2)) v(x)", "VALUES list used as constant tables"),
    ("select nextval('seq')", "Sequence manipulation functions"),
    ("create sequence songplay_seq", "Sequences"),
    ("create table t (id serial, a varchar(8))", "Numeric types: SERIAL"),
    ("create table t (id uuid, j jsonb, tags varchar(8)[])", "TXID_SNAPSHOT, UUID, XML"),
    ("create table t (id uuid, j jsonb, tags varchar(8)[])", "JSON"),
    ("select a::bytea from t", "BYTEA"),
    ("create table t (a integer check (a > 0))", "Constraints: check constraints"),
    ("create index t_a on t (a)", "Indexes"),
    ("select ctid from users", "PostgreSQL system columns"),
    ("select a[1] from t", "Value expressions"),
    ("select row(1, 2) = row(1, 2)", "Value expressions"),
    ("insert into t (a) values (1) on conflict do nothing", "INSERT ... ON CONFLICT"),
    ("insert into t (a) values (1) returning a", "INSERT ... RETURNING"),
    ("select now(), count(*) from songplays", "Deprecated leader-node only functions"),
    ("select current_timestamp from songplays", "Deprecated leader-node only functions"),
    ("select current_schema(), count(*) from songplays", "Leader-node only functions used with a user table"),
    ("select count(*) from stl_load_errors where query = pg_last_copy_id()", "System monitoring (provisioned only)"),
    ('select * from "SVL_QLOG"', "System monitoring (provisioned only)"),
    ("select txid_current()", "Transaction IDs and snapshots functions"),
    ("savepoint before_copy", "ROLLBACK TO SAVEPOINT"),
])
def test_the_check_refuses_what_redshift_refuses(sql, rule):
    assert any(f.startswith(rule) for f in findings(sql)), findings(sql)


@pytest.mark.parametrize("sql", [
    "select table_name from information_schema.columns where table_schema = current_schema()",  # leader node
    "select count(*) from songplays where level = 'is distinct from' -- string_agg(x) in a comment",
    ("copy t from 's3://b/stl_load_errors/generate_series' iam_role 'arn:aws:iam::123456789012:role/r' "
     "format as json 'auto'"),
    "select count(*) from sys_load_error_detail where query_id = pg_last_copy_id()",
    "select user_id, rank() over (partition by user_id order by ts desc nulls last) from users",
    "insert into t (a, b) values (1, 2), (3, 4)",
], ids=["catalog query", "literal and comment", "copy path", "SYS view", "window", "insert values"])
def test_the_check_passes_what_redshift_runs(sql):
    assert findings(sql) == []
