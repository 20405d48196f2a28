"""Rows of the cross-thread memory store (``store_items``).

A namespace is stored as its labels joined by ``.`` (labels may not contain
``.``, as LangGraph requires), so a prefix match is an equality or a
``substr`` comparison: never ``LIKE``, whose ``_``/``%`` would be wildcards.
``expires_at`` is epoch seconds; expired rows are invisible to every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["StoreRepository", "StoreRow", "decode_namespace", "encode_namespace"]

_SELECT = (
    "SELECT namespace, key, value, created_at, updated_at, expires_at, ttl_minutes"
    " FROM store_items WHERE (expires_at IS NULL OR expires_at > ?)"
)


def encode_namespace(namespace: tuple[str, ...]) -> str:
    """Labels joined by '.' (callers have validated that no label has one)."""
    return ".".join(namespace)


def decode_namespace(text: str) -> tuple[str, ...]:
    """The inverse of :func:`encode_namespace`."""
    return tuple(text.split(".")) if text else ()


@dataclass(frozen=True)
class StoreRow:
    """One stored item; ``value`` is JSON text."""

    namespace: tuple[str, ...]
    key: str
    value: str
    created_at: str
    updated_at: str
    expires_at: float | None
    ttl_minutes: float | None


def _row(row: Row) -> StoreRow:
    return StoreRow(**{**row, "namespace": decode_namespace(row["namespace"])})


class StoreRepository(Repository):
    """SQL for store_items; time ``now`` (epoch seconds) is passed in."""

    _db: StateDB

    def get(self, namespace: tuple[str, ...], key: str, now: float) -> StoreRow | None:
        row = self._db.fetchone(
            _SELECT + " AND namespace = ? AND key = ?",
            (now, encode_namespace(namespace), key),
        )
        return _row(row) if row is not None else None

    def put(self, namespace: tuple[str, ...], key: str, value_json: str, now: float,
            ttl_minutes: float | None) -> None:
        """Insert or replace; an expired row counts as absent (new created_at)."""
        stamp = utc_now()
        expires = now + ttl_minutes * 60.0 if ttl_minutes is not None else None
        with self._db.transaction():
            self._db.execute(
                "DELETE FROM store_items WHERE namespace = ? AND key = ? "
                "AND expires_at IS NOT NULL AND expires_at <= ?",
                (encode_namespace(namespace), key, now),
            )
            self._db.execute(
                "INSERT INTO store_items (namespace, key, value, created_at, updated_at,"
                " expires_at, ttl_minutes) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
                " ttl_minutes = excluded.ttl_minutes",
                (encode_namespace(namespace), key, value_json, stamp, stamp, expires, ttl_minutes),
            )

    def delete(self, namespace: tuple[str, ...], key: str) -> bool:
        return self._db.execute("DELETE FROM store_items WHERE namespace = ? AND key = ?",
                                (encode_namespace(namespace), key)) > 0

    def under_prefix(self, prefix: tuple[str, ...], now: float) -> list[StoreRow]:
        """Live rows whose namespace starts with ``prefix`` (ordered by namespace and key
        in the database's collation; callers needing one order on both backends re-sort)."""
        if not prefix:
            rows = self._db.fetchall(_SELECT + " ORDER BY namespace, key", (now,))
        else:
            enc = encode_namespace(prefix)
            rows = self._db.fetchall(
                _SELECT
                + " AND (namespace = ? OR substr(namespace, 1, ?) = ?) ORDER BY namespace, key",
                (now, enc, len(enc) + 1, enc + "."),
            )
        return [_row(r) for r in rows]

    def namespaces(self, now: float) -> list[tuple[str, ...]]:
        rows = self._db.fetchall("SELECT DISTINCT namespace FROM store_items"
                                 " WHERE (expires_at IS NULL OR expires_at > ?)", (now,))
        return [decode_namespace(r["namespace"]) for r in rows]

    def refresh(self, keys: list[tuple[tuple[str, ...], str]], now: float) -> None:
        """Push expiry forward by each row's own ttl_minutes."""
        if not keys:
            return
        with self._db.transaction():
            self._db.executemany(
                "UPDATE store_items SET expires_at = ? + ttl_minutes * 60.0"
                " WHERE namespace = ? AND key = ? AND ttl_minutes IS NOT NULL",
                [(now, encode_namespace(ns), k) for ns, k in keys],
            )

    def sweep(self, now: float) -> int:
        return self._db.execute(
            "DELETE FROM store_items WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        )
