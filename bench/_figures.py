"""Figures a benchmark reports, each beside its floor measured in the same run.

``record(name, value, unit, floor=(value, "what"), goal=...)`` appends one JSON line to
the file named by ``$BENCH_FIGURES`` (set by bench/run); run on its own, a benchmark
only prints. ``python bench/_figures.py FILE`` prints the table: figure, value, floor,
ratio (value ÷ floor), goal. A figure with no floor in time (a size, a count) passes
``floor=None`` and says why in ``why_no_floor``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["record"]


def record(name: str, value: float, unit: str, *, floor: tuple[float, str] | None,
           goal: str = "", note: str = "", why_no_floor: str = "") -> None:
    """Add one figure: ``value`` in ``unit`` and its ``floor`` (same unit, and what it is)."""
    if floor is None and not why_no_floor:
        raise ValueError(f"{name}: a figure needs a floor or the reason it has none")
    path = os.environ.get("BENCH_FIGURES")
    if not path:
        return
    line = {"name": name, "value": value, "unit": unit, "goal": goal, "note": note,
            "floor": None if floor is None else floor[0],
            "floor_name": why_no_floor if floor is None else floor[1],
            "bench": Path(sys.argv[0]).stem.removeprefix("bench_")}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _format(value: float) -> str:
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    value, floor, unit = float(row["value"]), row["floor"], str(row["unit"])
    name = str(row["name"]) + (f" ({row['note']})" if row["note"] else "")
    if floor is None:
        floor_cell, ratio = f"— ({row['floor_name']})", "—"
    else:
        floor_cell = f"{_format(float(floor))} {unit}: {row['floor_name']}"
        ratio = f"{value / float(floor):.2f}x" if float(floor) else "—"
    return name, f"{_format(value)} {unit}", floor_cell, ratio, str(row["goal"]), str(row["bench"])


def print_table(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        print("(no figures recorded)")
        return
    print("| figure | value | floor (same run) | ratio | goal | bench |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(_cells(row)) + " |")


if __name__ == "__main__":
    print_table(Path(sys.argv[1]))
