"""Migration 0011 on each backend: a context may hold the ``network`` capability, and the
capability check still refuses kinds it does not know."""

from __future__ import annotations

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.capabilities import CapabilityRepository


def test_a_context_holds_network_and_unknown_capabilities_are_refused(state_db: StateDB) -> None:
    repo = CapabilityRepository(state_db)
    context_id = repo.create("box-up common", session_id="s1", project_dir=None,
                             capabilities=[("file_write", "/wt/**"), ("network", "*")],
                             expires_at=None)
    [ctx] = repo.active_for(["s1"], None)
    assert sorted(ctx["capabilities"]) == [("file_write", "/wt/**"), ("network", "*")]
    assert repo.get(context_id)["capabilities"]["network"] == ["*"]
    with pytest.raises(Exception, match=r"(?i)check"):
        repo.create("bad", session_id="s2", project_dir=None,
                    capabilities=[("root", "*")], expires_at=None)
