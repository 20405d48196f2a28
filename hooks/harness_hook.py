"""dag-harness Claude Code hook: ``python3 -S harness_hook.py <Event>`` with the event on stdin.

Standard library only: the plugin's ``src/`` (or, installed from a wheel, the
site-packages directory holding this copy) is put on ``sys.path`` here, so no
virtual environment is needed and ``-S`` skips site-packages (≈ 40 ms less).
Any failure to even import the package is logged and exits 0 (fail open: without
the package no capability context can be read).
"""

import os
import sys

sys.dont_write_bytecode = False  # cache our modules' bytecode even under PYTHONDONTWRITEBYTECODE
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SRC = os.path.join(_ROOT, "src")
if not os.path.isdir(os.path.join(_SRC, "dag_harness_mcp")):
    # Installed from a wheel: this file is <site-packages>/dag_harness_mcp/_plugin/hooks/.
    _SRC = os.path.dirname(os.path.dirname(_ROOT))
sys.path.insert(0, _SRC)

try:
    from dag_harness_mcp.hooks.main import main
except BaseException as exc:
    sys.stderr.write(f"dag-harness hook could not start: {exc!r}\n")
    sys.exit(0)

code = main()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)  # skip interpreter teardown: the hook's work is committed, its answer flushed
