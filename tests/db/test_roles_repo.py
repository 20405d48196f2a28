"""RoleRepository on a real SQLite file: sync writes and the transitive walks."""

from __future__ import annotations

import random
from collections import deque

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.roles import DependencyEdge, RoleRecord
from dag_harness_mcp.errors import NotFoundError


def _load(state_db: StateDB, graph: dict[str, list[str]]) -> dict[str, int]:
    return state_db.roles.replace_all(
        [RoleRecord(name=n, path=f"roles/{n}") for n in graph],
        [
            DependencyEdge(role=r, reference=d, kind="role", source="meta", target=d)
            for r, deps in graph.items()
            for d in deps
        ],
    )


def _oracle(
    graph: dict[str, list[str]], start: str, reverse: bool = False
) -> list[dict[str, object]]:
    adj: dict[str, list[str]] = {n: [] for n in graph}
    for role, deps in graph.items():
        for dep in deps:
            if reverse:
                adj[dep].append(role)
            else:
                adj[role].append(dep)
    depth = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in adj[node]:
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    del depth[start]
    return [{"role": r, "depth": d} for r, d in sorted(depth.items(), key=lambda t: (t[1], t[0]))]


def test_walks_match_a_breadth_first_oracle_on_random_graphs_with_cycles(state_db: StateDB) -> None:
    rng = random.Random(3)
    names = [f"r{i:02d}" for i in range(40)]
    graph = {n: sorted(set(rng.sample(names, k=rng.randint(0, 3))) - {n}) for n in names}
    _load(state_db, graph)
    for name in names:
        assert state_db.roles.transitive_dependencies(name) == _oracle(graph, name)
        assert state_db.roles.transitive_dependants(name) == _oracle(graph, name, reverse=True)


def test_the_walk_ends_on_cycles_and_never_lists_the_start(state_db: StateDB) -> None:
    _load(state_db, {"a": ["b"], "b": ["c"], "c": ["a"], "s": ["s"]})
    assert state_db.roles.transitive_dependencies("a") == [
        {"role": "b", "depth": 1},
        {"role": "c", "depth": 2},
    ]
    assert state_db.roles.transitive_dependencies("s") == []


def test_shortest_depth_wins_on_diamonds(state_db: StateDB) -> None:
    _load(
        state_db,
        {
            "top": ["left", "right", "base"],
            "left": ["mid"],
            "right": ["mid"],
            "mid": ["base"],
            "base": [],
        },
    )
    assert state_db.roles.transitive_dependencies("top") == [
        {"role": "base", "depth": 1},
        {"role": "left", "depth": 1},
        {"role": "right", "depth": 1},
        {"role": "mid", "depth": 2},
    ]


def test_a_complete_dag_is_walked_once_per_role(state_db: StateDB) -> None:
    names = [f"r{i:03d}" for i in range(120)]
    graph = {n: names[:i] for i, n in enumerate(names)}
    _load(state_db, graph)
    result = state_db.roles.transitive_dependencies(names[-1])
    assert len(result) == 119 and {r["depth"] for r in result} == {1}
    assert state_db.roles.transitive_dependants(names[0])[-1] == {"role": names[-1], "depth": 1}


def test_max_depth_bounds_the_walk(state_db: StateDB) -> None:
    chain = {f"c{i}": [f"c{i + 1}"] for i in range(10)} | {"c10": []}
    _load(state_db, chain)
    assert [r["role"] for r in state_db.roles.transitive_dependencies("c0", max_depth=3)] == [
        "c1",
        "c2",
        "c3",
    ]
    assert state_db.roles.transitive_dependencies("c0")[-1] == {"role": "c10", "depth": 10}


def test_a_walk_over_more_ids_than_one_query_takes_is_complete(state_db: StateDB) -> None:
    graph = {"hub": [f"leaf{i:04d}" for i in range(1200)]} | {
        f"leaf{i:04d}": [] for i in range(1200)
    }
    graph["leaf0000"] = ["tail"]
    graph["tail"] = []
    _load(state_db, graph)
    result = state_db.roles.transitive_dependencies("hub")
    assert len(result) == 1201 and result[-1] == {"role": "tail", "depth": 2}


def test_replace_all_counts_changes_and_removed_roles_leave_the_walks(state_db: StateDB) -> None:
    assert _load(state_db, {"a": ["b"], "b": ["c"], "c": []}) == {
        "added": 3,
        "updated": 0,
        "removed": 0,
        "unchanged": 0,
    }
    assert _load(state_db, {"a": ["b"], "b": ["c"], "c": []})["unchanged"] == 3
    assert _load(state_db, {"a": ["c"], "c": []}) == {
        "added": 0,
        "updated": 0,
        "removed": 1,
        "unchanged": 2,
    }
    assert state_db.roles.transitive_dependencies("a") == [{"role": "c", "depth": 1}]
    assert state_db.roles.get("b") is None
    assert state_db.roles.get("b", include_removed=True) is not None
    with pytest.raises(NotFoundError, match="harness sync"):
        state_db.roles.transitive_dependencies("b")
    assert state_db.roles.count() == 2
    assert state_db.roles.edges() == [{"role": "a", "depends_on": "c"}]


def test_duplicate_edges_are_stored_once(state_db: StateDB) -> None:
    edge = DependencyEdge(role="a", reference="b", kind="role", source="meta", target="b")
    state_db.roles.replace_all(
        [RoleRecord(name="a", path="a"), RoleRecord(name="b", path="b")], [edge, edge]
    )
    assert len(state_db.roles.direct_dependencies("a")) == 1
