"""A writer process for the concurrency test: ``python db_writer.py DB WORKER TXNS PER_TXN``.

Prints ``ready`` once its StateDB is open (migrations applied), waits for a line
on stdin, then commits TXNS transactions of PER_TXN audit rows each.
"""

from __future__ import annotations

import sys

from dag_harness_mcp.db import SQLiteStateDB


def main() -> int:
    path, worker, txns, per_txn = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    db = SQLiteStateDB(path)
    print("ready", flush=True)
    sys.stdin.readline()
    seq = 0
    for _ in range(txns):
        with db.transaction():
            for _ in range(per_txn):
                db.audit.record(
                    "concurrency_probe", actor=worker, source="test", details={"seq": seq}
                )
                seq += 1
        # a read between writes, as the hooks and the server do
        db.audit.list(limit=1)
    db.close()
    print(f"done {seq}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
