"""Every statement the scripts send to Redshift, for a realistic ENGINE = redshift configuration (so the COPY
statements carry the real options, role ARN and region): the three dry runs (create_tables.py, the upgrade, etl.py
with and without MANIFEST_PREFIX, analytics.py --check), the statements sent only on other paths (lock retry, a
failed COPY's load-errors query, a failed check's sample query), the preflight's information_schema query, its
version query and its COPY ... NOLOAD statements. `CASES` is (name, sql) pairs, named after the run and the
statement; the grammar test and the Redshift-strictness check read them."""

from __future__ import annotations

import configparser
from pathlib import Path

import sql_queries
from sparkify import dryrun, noload, preflight
from sparkify.config import parse_config
from sparkify.pipeline.state import RunState
from sparkify.schema import SchemaFound
from sparkify.warehouse import render_params
from sql_queries import STAR_TABLES, When
from tests.helpers.dwhcfg import DwhCfg


def realistic_config():
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(DwhCfg.redshift().text())  # as a real user's dwh.cfg
    return parse_config(cp, Path("/nonexistent/dwh.cfg"), {})


def etl_states(config) -> list[RunState]:
    """Two runs of etl.py, as etl_state would read them (no I/O here): one whose new and changed objects go
    through the run's manifests (ledger rows replaced and inserted), one without MANIFEST_PREFIX (whole
    prefixes), each loading both tables."""
    from dataclasses import replace
    from datetime import datetime

    from sparkify import ledger

    def obj(key: str, size: int) -> ledger.ListedObject:
        return ledger.ListedObject(f"s3://udacity-dend/{key}", key, size, '"9b2cf535f27731c974343645a3985328"',
                                   datetime(2018, 11, 30, 12, 0, 0, 123456))

    def state(cfg) -> RunState:
        new_log = obj("log_data/2018/11/2018-11-30-events.json", 214321)
        old_log = obj("log_data/2018/11/2018-11-29-events.json", 198765)
        song = obj("song_data/A/A/A/TRAAAAK128F9318786.json", 254)
        tables = {
            "staging_events": ledger.TablePlan("staging_events", cfg.s3.log_data, new=[new_log], reloaded=[old_log],
                                               unchanged=28),
            "staging_songs": ledger.TablePlan("staging_songs", cfg.s3.song_data, new=[song], unchanged=14895),
        }
        manifests = {t: ledger.manifest_url(cfg.s3.manifest_prefix, 42, t) for t in tables} \
            if cfg.s3.manifest_prefix else {}
        return RunState(cfg, run_id=42, previous_totals=dict.fromkeys(STAR_TABLES, 1000),
                        tables=tables, loaded=set(tables), manifests=manifests,
                        proven={When.PLAYS_SEEN_AGAIN},  # plays seen again: their correction
                        loaded_at=datetime(2018, 11, 30, 23, 59, 59, 123456))

    with_manifests = replace(config, s3=replace(config.s3, manifest_prefix="s3://sparkify-ops/manifests"))
    return [state(with_manifests), state(config)]


CONFIG = realistic_config()
RUNS = [
    dryrun.create_tables_dry_run(CONFIG),
    # the upgrade of a warehouse of the release of 2026-11-30 (it records no version: every migration runs)
    dryrun.upgrade_dry_run_of(RunState(CONFIG, schema=SchemaFound(dict(sql_queries.RELEASE_TABLES[1])))),
    *(dryrun.etl_dry_run_of(state) for state in etl_states(CONFIG)),
    dryrun.analytics_dry_run(CONFIG, with_checks=True),
]
CASES = [(f"{run.prog} {i:02d} {s.label}", s.sql) for run in RUNS for i, s in enumerate(run.statements)]
CASES += [(f"other path: {s.label}", s.sql) for s in dryrun.conditional_statements(CONFIG)]
CASES.append(("preflight tables query", render_params(preflight.TABLES_QUERY,
                                                               preflight.tables_query_params())))
CASES.append(("preflight server version", "select version()"))
CASES += [(f"preflight noload {i}", sql) for i, sql in enumerate(noload.noload_statements(CONFIG))]
