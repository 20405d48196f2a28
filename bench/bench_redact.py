"""Benchmark: the hooks' redactor on what tool calls carry, ordinary and hostile.

Run: ``uv run python bench/bench_redact.py [N]`` (default N=200). Prints figures;
asserts nothing. For each input, the median time of ``redact_json`` on it beside the
floor measured in the same run: ``json.dumps`` of the same value (what the hook does
to every stored field anyway), as a ratio. The first call in a fresh process, which
compiles the regular expressions its triggers select, is timed in a child process.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _figures import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dag_harness_mcp.hooks.redact import redact_json  # noqa: E402

COMMAND = "git status --short && pytest -q tests > out.log 2>&1; echo done | tee -a log"
INPUTS: dict[str, Any] = {
    "Bash input": {"command": COMMAND, "description": "run the tests"},
    "Bash response": {"stdout": "3 passed in 0.4s\n" * 20, "stderr": "", "interrupted": False},
    "secrets in a command": {"command": "curl -u admin:S3cret -H 'Authorization: Bearer "
                                        "abcdefgh12345' https://x && mysql -pS3cret -e 'x' && "
                                        "export SessionToken=sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
    "16 KiB file write": {"file_path": "/x/a.yml",
                          "content": "key: value  # a comment\n" * 680},
    "64 KiB word beside token=": {"command": "token=1 " + "A" * 65536},
    "64 KiB of 'password '": {"content": "password " * 7282},
}

_FIRST_CALL = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from dag_harness_mcp.hooks.redact import redact_json
value = json.loads(sys.argv[2])
start = time.perf_counter()
redact_json(value)
print((time.perf_counter() - start) * 1000)
"""


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(rounds: int = 200) -> None:
    print(f"{'input':<28} {'redact_json':>12} {'json.dumps':>12} {'ratio':>7} "
          f"{'first call':>11}")
    for name, value in INPUTS.items():
        redact_json(value)  # compile what this input triggers
        took = _median_ms(lambda value=value: redact_json(value), rounds)
        floor = _median_ms(lambda value=value: json.dumps(value), rounds)
        first = float(subprocess.run(
            [sys.executable, "-S", "-c", _FIRST_CALL, str(ROOT / "src"), json.dumps(value)],
            capture_output=True, text=True, check=True).stdout)
        print(f"{name:<28} {took:9.3f} ms {floor:9.3f} ms {took / floor:6.1f}x {first:8.3f} ms")
        record(f"redact_json, {name}, median", took, "ms",
               floor=(floor, "json.dumps of it"), note=f"first call {first:.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
