"""The SQLite checkpointer: WAL, a busy timeout for other processes, one fsync less per commit."""

from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.checkpoint.factory import CheckpointerFactory
from dag_harness_mcp.config import load_settings
from dag_harness_mcp.db.sqlite import BUSY_TIMEOUT_MS


async def test_sqlite_checkpointer_waits_for_other_writers_and_uses_wal(tmp_path: Path) -> None:
    settings = load_settings(
        {"repo_root": tmp_path, "db_path": tmp_path / "state" / "harness.db"}, environ={}
    )
    async with CheckpointerFactory.create_async(settings) as saver:
        conn = saver.inner.conn
        pragmas = {}
        for name in ("journal_mode", "busy_timeout", "synchronous"):
            async with conn.execute(f"PRAGMA {name}") as cursor:
                pragmas[name] = (await cursor.fetchone())[0]
    assert pragmas == {"journal_mode": "wal", "busy_timeout": BUSY_TIMEOUT_MS, "synchronous": 1}
    assert settings.checkpoint_path.is_file()
