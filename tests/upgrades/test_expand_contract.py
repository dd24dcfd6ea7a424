"""Upgrades (issue 18, item 14): the expand/contract rule for migrations, and hook Jobs that
are idempotent and cheap when an upgrade changes nothing. docs/kubernetes.md states the rule.

Helm runs a release's migrations before its pods roll, and `helm rollback` puts the previous
release's pods back on the migrated database: for a while the previous release's code runs
against the new schema. It only ever reads and writes the tables and columns of its own
schema, so each migration must leave them usable as they were (expand): no table or column
dropped or renamed, no type changed (a string may grow), no column made NOT NULL, no default
taken from a NOT NULL column, and every new column of an existing table nullable or with a
default (the previous code's INSERTs omit it). Removing what the previous release used
(contract) is a migration of its own, one release later, that says so in a module-level
CONTRACT string naming what it removes and why no running release uses it any more.

Each migration is checked against the schema before it on a real PostgreSQL (the devstack's),
by reflection, for every service.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from newsroom_common.database_url import psycopg2_url
from newsroom_common.migrations import upgrade
from newsroom_devstack.testing import scratch_schema

SERVICES = ("users", "articles", "views")

# table -> column -> (type, nullable, has a server default)
Schema = dict[str, dict[str, tuple[str, bool, bool]]]


def migrations_of(service: str) -> str:
    cli = importlib.import_module(f"newsroom_{service}.entrypoints.cli")
    return str(cli.MIGRATIONS)


def revisions(service: str) -> list[Any]:
    """The service's migrations, oldest first."""
    config = Config()
    config.set_main_option("script_location", migrations_of(service))
    script = ScriptDirectory.from_config(config)
    return list(reversed(list(script.walk_revisions())))


def reflect(url: str) -> Schema:
    engine = sa.create_engine(psycopg2_url(url), poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                column["name"]: (
                    str(column["type"]),
                    bool(column["nullable"]),
                    column.get("default") is not None,
                )
                for column in inspector.get_columns(table)
            }
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def _widened(before: str, after: str) -> bool:
    """A string type that only grew (VARCHAR(40) -> VARCHAR(80) or TEXT)."""
    if not before.startswith("VARCHAR"):
        return False
    if after == "TEXT":
        return True
    if after.startswith("VARCHAR("):
        old = before.removeprefix("VARCHAR(").rstrip(")")
        new = after.removeprefix("VARCHAR(").rstrip(")")
        return old.isdigit() and new.isdigit() and int(new) >= int(old)
    return False


def breaks(before: Schema, after: Schema) -> list[str]:
    """What in `after` the code written for `before` could trip on."""
    problems = []
    for table, columns in before.items():
        if table not in after:
            problems.append(f"table {table} dropped")
            continue
        for name, (kind, nullable, default) in columns.items():
            if name not in after[table]:
                problems.append(f"{table}.{name} dropped or renamed")
                continue
            new_kind, new_nullable, new_default = after[table][name]
            if new_kind != kind and not _widened(kind, new_kind):
                problems.append(f"{table}.{name} changed type {kind} -> {new_kind}")
            if nullable and not new_nullable:
                problems.append(f"{table}.{name} made NOT NULL")
            if default and not new_default and not new_nullable:
                problems.append(f"{table}.{name} lost its default but stays NOT NULL")
        for name, (_, nullable, default) in after[table].items():
            if name not in columns and not nullable and not default:
                problems.append(f"{table}.{name} added NOT NULL without a default")
    return problems


def _contract_reason(revision: Any) -> str | None:
    return getattr(revision.module, "CONTRACT", None)


@pytest.mark.parametrize("service", SERVICES)
def test_every_migration_expands_or_says_it_contracts(postgres: Any, service: str) -> None:
    chain = revisions(service)
    assert chain, f"{service} has no migrations"
    location = migrations_of(service)
    with scratch_schema(postgres.database_url(service)) as url:
        before: Schema = {}
        for revision in chain:
            upgrade(url=url, script_location=location, revision=revision.revision)
            after = reflect(url)
            reason = _contract_reason(revision)
            if reason is not None:
                assert reason.strip(), f"{service} {revision.revision}: CONTRACT names no reason"
            else:
                problems = breaks(before, after)
                assert not problems, (
                    f"{service} migration {revision.revision} ({Path(revision.path).name}) "
                    f"breaks the previous release's code: {'; '.join(problems)}. Expand now "
                    "and contract one release later, in a migration with a CONTRACT string."
                )
            before = after


def test_the_rule_catches_what_breaks_the_previous_release() -> None:
    before: Schema = {"users": {"id": ("UUID", False, False), "bio": ("VARCHAR(40)", True, False)}}
    assert breaks(before, before) == []
    grown = {"users": {**before["users"], "bio": ("TEXT", True, False), "x": ("TEXT", True, False)}}
    assert breaks(before, grown) == []
    assert breaks(before, {}) == ["table users dropped"]
    renamed = {"users": {"id": ("UUID", False, False), "about": ("TEXT", True, False)}}
    assert breaks(before, renamed) == ["users.bio dropped or renamed"]
    required = {"users": {**before["users"], "bio": ("VARCHAR(40)", False, False)}}
    assert breaks(before, required) == ["users.bio made NOT NULL"]
    added = {"users": {**before["users"], "email": ("TEXT", False, False)}}
    assert breaks(before, added) == ["users.email added NOT NULL without a default"]
    narrowed = {"users": {**before["users"], "bio": ("VARCHAR(20)", True, False)}}
    assert breaks(before, narrowed) == ["users.bio changed type VARCHAR(40) -> VARCHAR(20)"]


class _Statements:
    """Every SQL statement any engine of this process runs while it is attached."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(" ".join(statement.split()))


@pytest.mark.parametrize("service", SERVICES)
def test_a_no_op_upgrade_changes_nothing_and_only_reads(postgres: Any, service: str) -> None:
    """What the migrate hook Job does on `helm upgrade` with no new migration: it takes the
    migration lock, reads the version, and writes nothing (no DDL, no row)."""
    location = migrations_of(service)
    with scratch_schema(postgres.database_url(service)) as url:
        upgrade(url=url, script_location=location)
        schema = reflect(url)
        statements = _Statements()
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", statements)
        try:
            upgrade(url=url, script_location=location)
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", statements)
        assert reflect(url) == schema
        writes = [
            s
            for s in statements.seen
            if s.split(" ", 1)[0].upper()
            in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}
        ]
        assert writes == [], writes
        # The wait's probe, the lock and Alembic's own look at its version table: a handful.
        assert statements.seen, "the upgrade ran no statement at all: nothing was watched"
        assert any("pg_advisory_xact_lock" in s for s in statements.seen)
        assert len(statements.seen) <= 15, statements.seen
