"""Whole-table access for copying one StateDB into another (``harness db migrate``).

Catalog queries differ by backend (SQLite ``PRAGMA`` and ``sqlite_master``, PostgreSQL
``information_schema`` of the current schema). Table and column names come from the
catalog and are checked against a plain identifier pattern before they are quoted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.repos import Repository
from dag_harness_mcp.errors import MigrationError

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["TableRepository"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SKIP = ("schema_migrations",)


def _q(name: str) -> str:
    if not _IDENT.match(name):
        raise MigrationError(f"unexpected table or column name {name!r} in the catalog")
    return f'"{name}"'


class TableRepository(Repository):
    """Catalog, counts, rows and bulk inserts of the StateDB's own tables."""

    _db: StateDB

    def names_in_dependency_order(self) -> list[str]:
        """The tables of a SQLite StateDB (not ``schema_migrations``), referenced ones first."""
        names = sorted(
            r["name"]
            for r in self._db.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if r["name"] not in _SKIP
        )
        refs = {
            name: {
                str(r["table"])
                for r in self._db.fetchall(f"PRAGMA foreign_key_list({_q(name)})")
                if r["table"] != name
            }
            for name in names
        }
        ordered: list[str] = []
        while len(ordered) < len(names):
            ready = [n for n in names if n not in ordered and refs[n] <= set(ordered)]
            if not ready:
                raise MigrationError(f"foreign keys form a cycle among {sorted(refs)}")
            ordered.extend(ready)
        return ordered

    def columns(self, table: str, *, identity: bool = False) -> list[str]:
        """Column names in table order (empty when the table does not exist); with
        ``identity``, only PostgreSQL's columns whose values come from a sequence (none on
        SQLite)."""
        if self._db.dialect == "postgres":
            rows = self._db.fetchall(
                "SELECT column_name AS name FROM information_schema.columns"  # noqa: S608
                " WHERE table_schema = current_schema() AND table_name = ?"
                + (" AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
                   if identity else "") + " ORDER BY ordinal_position",
                (table,),
            )
        else:
            rows = [] if identity else self._db.fetchall(f"PRAGMA table_info({_q(table)})")
        return [str(r["name"]) for r in rows]

    def primary_key(self, table: str) -> list[str]:
        """The primary-key columns of a SQLite table, or every column when it has none."""
        info = self._db.fetchall(f"PRAGMA table_info({_q(table)})")
        keyed = sorted((int(r["pk"]), str(r["name"])) for r in info if int(r["pk"]) > 0)
        return [name for _, name in keyed] or [str(r["name"]) for r in info]

    def has_table(self, table: str) -> bool:
        return bool(self.columns(table))

    def schema_version(self) -> int | None:
        """The highest applied migration, or None before any."""
        if not self.has_table("schema_migrations"):
            return None
        value = self._db.scalar("SELECT max(version) FROM schema_migrations")
        return None if value is None else int(value)

    def count(self, table: str) -> int:
        sql = f"SELECT count(*) FROM {_q(table)}"  # noqa: S608 - identifier checked by _q
        return int(self._db.scalar(sql) or 0)

    def rows(self, table: str, columns: Sequence[str]) -> list[Row]:
        """Every row of ``table`` (only ``columns``), in no particular order."""
        cols = ", ".join(_q(c) for c in columns)
        return self._db.fetchall(f"SELECT {cols} FROM {_q(table)}")  # noqa: S608 - checked by _q

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` as given (explicit ids included); call inside a transaction."""
        cols = ", ".join(_q(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {_q(table)} ({cols}) VALUES ({marks})"  # noqa: S608 - checked by _q
        self._db.executemany(sql, rows)

    def restart_identity(self, table: str, column: str) -> None:
        """Move a PostgreSQL sequence past the largest copied value (no-op on SQLite)."""
        if self._db.dialect != "postgres":
            return
        col = _q(column)
        sql = (
            f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({col}), 1),"  # noqa: S608
            f" max({col}) IS NOT NULL) FROM {_q(table)}"
        )
        self._db.fetchone(sql, (_q(table), column))
