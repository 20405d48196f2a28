"""``harness db``: the configured StateDB's status, and ``migrate --to postgres``.

The status only reads: a SQLite file that does not exist yet is reported, not created, and
PostgreSQL is opened without applying migrations. URLs never show a password.

The migration copies every StateDB table (ids kept, sequences moved past them), and every
LangGraph checkpoint with its pending writes under the same thread and checkpoint ids, so a
paused run resumes on PostgreSQL; counts and content are then compared. Safe to repeat:
tables are copied in one transaction only into empty tables (tables already holding exactly
the source's rows count as migrated, other data is refused); checkpoints are upserts; a
target thread the source lacks is refused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.migrate import discover
from dag_harness_mcp.db.repos.tables import TableRepository
from dag_harness_mcp.errors import MigrationError, NotFoundError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

    from dag_harness_mcp.config import Settings
    from dag_harness_mcp.db import StateDB

__all__ = ["DatabaseStatus", "MigrationReport", "database_status", "migrate_to_postgres"]


@dataclass
class DatabaseStatus:
    backend: str
    location: str
    schema: str | None
    exists: bool
    schema_version: int | None
    latest_version: int
    checkpoints: str
    pending_migrations: int


def database_status(settings: Settings) -> DatabaseStatus:
    """The configured StateDB and checkpoint store, and the StateDB's schema version."""
    db: StateDB | None = None
    if settings.postgres_url is not None:
        from dag_harness_mcp.db.postgres import PostgresStateDB, redact_url

        backend, schema, exists = "postgres", settings.postgres_schema, True
        location = redact_url(settings.postgres_url.get_secret_value())
        checkpoints = f"PostgreSQL {location} (schema {schema or 'public'})"
        db = PostgresStateDB(settings.postgres_url.get_secret_value(), schema=schema,
                             migrate=False)
    else:
        from dag_harness_mcp.db.sqlite import SQLiteStateDB

        path = settings.database_path
        backend, location, schema, exists = "sqlite", str(path), None, path.is_file()
        checkpoints = f"SQLite {settings.checkpoint_path}"
        if exists:
            db = SQLiteStateDB(path, migrate=False)
    version = None
    if db is not None:
        try:
            version = TableRepository(db).schema_version()
        finally:
            db.close()
    versions = [m.version for m in discover()]
    return DatabaseStatus(backend, location, schema, exists, version, max(versions), checkpoints,
                          sum(1 for v in versions if v > (version or 0)))


@dataclass
class MigrationReport:
    """What was copied (or found already there) and verified."""

    source: str
    target: str
    schema: str | None
    tables: dict[str, int] = field(default_factory=dict)
    threads: int = 0
    checkpoints: int = 0
    writes: int = 0
    tables_already_migrated: bool = False


@dataclass
class _TablePlan:
    name: str
    columns: list[str]
    key: list[str]

    def rows(self, repo: TableRepository) -> list[tuple[Any, ...]]:
        rows = sorted(repo.rows(self.name, self.columns), key=lambda r: tuple(
            (r[c] is None, "" if r[c] is None else r[c]) for c in self.key))
        return [tuple(r[c] for c in self.columns) for r in rows]


def _plan_tables(src: TableRepository, dst: TableRepository) -> list[_TablePlan]:
    if src.schema_version() != dst.schema_version():
        raise MigrationError(
            f"schema versions differ (SQLite {src.schema_version()}, PostgreSQL "
            f"{dst.schema_version()}); upgrade the harness on every machine first"
        )
    plans: list[_TablePlan] = []
    for name in src.names_in_dependency_order():
        cols = src.columns(name)
        missing = set(cols) - set(dst.columns(name))
        if missing:
            raise MigrationError(
                f"PostgreSQL table {name!r} lacks columns {sorted(missing)}; "
                "the target schema is not a harness StateDB of this version"
            )
        plans.append(_TablePlan(name, cols, src.primary_key(name)))
    return plans


def _already_migrated(src: TableRepository, dst: TableRepository, plans: list[_TablePlan]
                      ) -> bool:
    """False for empty target tables, True when they hold the source's rows; else raise."""
    filled = {p.name: n for p in plans if (n := dst.count(p.name))}
    if not filled:
        return False
    if not _differences(src, dst, plans):
        return True
    listed = ", ".join(f"{name}: {n}" for name, n in sorted(filled.items()))
    raise MigrationError(
        f"the PostgreSQL target already holds other harness data ({listed}); migrate into "
        "an empty schema (--schema NEW_NAME) or drop the tables there first"
    )


def _differences(src: TableRepository, dst: TableRepository, plans: list[_TablePlan]
                 ) -> list[str]:
    out: list[str] = []
    for plan in plans:
        a, b = plan.rows(src), plan.rows(dst)
        if len(a) != len(b):
            out.append(f"{plan.name}: {len(a)} rows in SQLite, {len(b)} in PostgreSQL")
        elif a != b:
            first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            out.append(f"{plan.name}: row {first} differs ({a[first]!r} vs {b[first]!r})")
    return out


def _copy_tables(src: TableRepository, dst: TableRepository, target: StateDB,
                 plans: list[_TablePlan]) -> None:
    with target.transaction():
        for plan in plans:
            rows = src.rows(plan.name, plan.columns)
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                dst.insert(plan.name, plan.columns, [[r[c] for c in plan.columns] for r in chunk])
            for column in dst.columns(plan.name, identity=True):
                dst.restart_identity(plan.name, column)


async def _all_tuples(saver: BaseCheckpointSaver[Any]) -> list[CheckpointTuple]:
    found = [t async for t in saver.alist(None)]
    found.sort(key=lambda t: (t.config["configurable"]["thread_id"],
                              t.config["configurable"].get("checkpoint_ns", ""),
                              t.checkpoint["id"]))
    return found


async def _copy_checkpoints(
    tuples: list[CheckpointTuple], target: BaseCheckpointSaver[Any]
) -> int:
    writes = 0
    for item in tuples:
        conf = item.config["configurable"]
        put_config: dict[str, Any] = {
            "thread_id": conf["thread_id"], "checkpoint_ns": conf.get("checkpoint_ns", "")
        }
        if item.parent_config is not None:
            put_config["checkpoint_id"] = item.parent_config["configurable"]["checkpoint_id"]
        saved = await target.aput(
            {"configurable": put_config}, item.checkpoint, item.metadata,
            dict(item.checkpoint["channel_versions"]),
        )
        by_task: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for task_id, channel, value in item.pending_writes or ():
            by_task[task_id].append((channel, value))
        for task_id, task_writes in by_task.items():
            await target.aput_writes(saved, task_writes, task_id)
            writes += len(task_writes)
    return writes


def _fingerprint(saver: BaseCheckpointSaver[Any], item: CheckpointTuple) -> tuple[Any, ...]:
    cp = item.checkpoint
    dump = saver.serde.dumps_typed
    values = {k: dump(v) for k, v in sorted(cp["channel_values"].items())}
    pending = sorted((task, channel, dump(value))
                     for task, channel, value in item.pending_writes or ())
    parent = item.parent_config and item.parent_config["configurable"]["checkpoint_id"]
    # Metadata is JSON in PostgreSQL: compare it as JSON (tuples become lists there).
    metadata = json.loads(json.dumps(item.metadata, default=str, sort_keys=True))
    return (cp["id"], cp["ts"], parent, dict(cp["channel_versions"]),
            dict(cp["versions_seen"]), values, metadata, pending)


async def _verify_checkpoints(
    tuples: list[CheckpointTuple], source: BaseCheckpointSaver[Any],
    target: BaseCheckpointSaver[Any],
) -> list[str]:
    out: list[str] = []
    for item in tuples:
        copied = await target.aget_tuple(item.config)
        label = f"checkpoint {item.checkpoint['id']} of thread {item.config['configurable']}"
        if copied is None:
            out.append(f"{label} is missing in PostgreSQL")
        elif _fingerprint(source, item) != _fingerprint(source, copied):
            out.append(f"{label} differs in PostgreSQL")
    return out


def _refuse_foreign_threads(source: list[CheckpointTuple], target: list[CheckpointTuple]) -> None:
    ours = {t.config["configurable"]["thread_id"] for t in source}
    foreign = sorted({t.config["configurable"]["thread_id"] for t in target} - ours)
    if foreign:
        raise MigrationError(
            f"the PostgreSQL target already holds checkpoints of other threads "
            f"({', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}); migrate into "
            "an empty schema (--schema NEW_NAME)"
        )


async def migrate_to_postgres(
    settings: Settings, *, url: str, schema: str | None = None
) -> MigrationReport:
    """Copy the SQLite state of ``settings`` into PostgreSQL at ``url`` (``schema``)."""
    from dag_harness_mcp.checkpoint.factory import open_postgres_saver
    from dag_harness_mcp.db.postgres import PostgresStateDB, redact_url
    from dag_harness_mcp.db.sqlite import SQLiteStateDB

    db_path = settings.database_path
    if not db_path.is_file():
        raise NotFoundError(
            f"no SQLite StateDB at {db_path}; nothing to migrate (check --db / HARNESS_DB_PATH)"
        )
    report = MigrationReport(source=str(db_path), target=redact_url(url), schema=schema)
    source = SQLiteStateDB(db_path)
    target = PostgresStateDB(url, schema=schema)
    src, dst = TableRepository(source), TableRepository(target)
    try:
        plans = _plan_tables(src, dst)
        already = _already_migrated(src, dst, plans)
        async with AsyncExitStack() as stack:
            pg_saver = await stack.enter_async_context(open_postgres_saver(url, schema=schema))
            tuples: list[CheckpointTuple] = []
            sqlite_saver: BaseCheckpointSaver[Any] = pg_saver
            if settings.checkpoint_path.is_file():
                from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

                sqlite_saver = await stack.enter_async_context(
                    AsyncSqliteSaver.from_conn_string(str(settings.checkpoint_path)))
                tuples = await _all_tuples(sqlite_saver)
            _refuse_foreign_threads(tuples, await _all_tuples(pg_saver))
            report.writes = await _copy_checkpoints(tuples, pg_saver)
            if not already:
                _copy_tables(src, dst, target, plans)
            problems = _differences(src, dst, plans)
            problems += await _verify_checkpoints(tuples, sqlite_saver, pg_saver)
        if problems:
            raise MigrationError(
                "the copy does not match the SQLite state: " + "; ".join(problems[:5])
            )
        report.tables = {p.name: dst.count(p.name) for p in plans}
        report.tables_already_migrated = already
        report.checkpoints = len(tuples)
        report.threads = len({t.config["configurable"]["thread_id"] for t in tuples})
        return report
    finally:
        source.close()
        target.close()
