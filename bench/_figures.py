"""Figures a benchmark reports for the one table ``bench/run`` prints at the end.

``record(name, value, unit, target=...)`` appends one JSON line to the file named
by ``$BENCH_FIGURES`` (set by bench/run); run on its own, a benchmark only prints.
``python bench/_figures.py FILE`` prints the collected table.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

__all__ = ["record"]


def record(name: str, value: float, unit: str, *, target: str = "", note: str = "") -> None:
    """Add one figure: ``name`` (what), ``value`` in ``unit``, the ``target`` it is held to."""
    path = os.environ.get("BENCH_FIGURES")
    if not path:
        return
    line = {"name": name, "value": value, "unit": unit, "target": target, "note": note,
            "bench": Path(sys.argv[0]).name}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _format(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"


def print_table(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        print("(no figures recorded)")
        return
    headers = ("figure", "value", "unit", "target", "benchmark")
    cells = [(r["name"] + (f" ({r['note']})" if r["note"] else ""), _format(r["value"]),
              r["unit"], r["target"], r["bench"]) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cell in cells:
        print(line(cell))


if __name__ == "__main__":
    print_table(Path(sys.argv[1]))
