"""Waves from the dependency graph: levels, pins, pin contradictions and cycles with their path."""

from __future__ import annotations

import itertools
import random

import pytest

from dag_harness_mcp.ansible.render import render_dot, render_mermaid
from dag_harness_mcp.ansible.waves import (
    collect_pins,
    make_graph,
    plan_waves,
    strongly_connected,
)
from dag_harness_mcp.errors import ConfigError, WavePinError

SEED_LIKE = {
    "common": [],
    "windows_prerequisites": ["common"],
    "ems_registry_urls": ["common"],
    "iis-config": ["common"],
    "ems_platform_services": ["windows_prerequisites", "ems_registry_urls"],
    "ems_web_app": ["iis-config", "ems_registry_urls"],
    "database_clone": ["common"],
    "ems_master_calendar": ["ems_web_app"],
    "grafana_alloy_windows": ["ems_master_calendar", "common"],
}


def test_wave_is_zero_without_deps_else_one_more_than_the_highest_dependency() -> None:
    plan = plan_waves(SEED_LIKE)
    assert plan.waves == {
        "common": 0,
        "database_clone": 1, "ems_registry_urls": 1, "iis-config": 1, "windows_prerequisites": 1,
        "ems_platform_services": 2, "ems_web_app": 2,
        "ems_master_calendar": 3,
        "grafana_alloy_windows": 4,
    }
    assert plan.cycles == [] and plan.blocked == {}


def test_every_role_runs_after_all_its_dependencies_on_random_dags() -> None:
    rng = random.Random(5)
    for _ in range(20):
        names = [f"r{i}" for i in range(60)]
        graph = {n: rng.sample(names[:i], k=min(i, rng.randint(0, 3))) for i, n in enumerate(names)}
        waves = plan_waves(graph).waves
        for role, deps in graph.items():
            expected = 1 + max(waves[d] or 0 for d in deps) if deps else 0
            assert waves[role] == expected


def test_a_pin_moves_a_role_later_and_its_dependants_follow() -> None:
    plan = plan_waves(SEED_LIKE, {"iis-config": 3})
    assert plan.waves["iis-config"] == 3
    assert plan.waves["ems_web_app"] == 4
    assert plan.waves["ems_master_calendar"] == 5
    assert plan.pinned == {"iis-config"}


def test_a_pin_that_contradicts_a_dependency_names_both_roles() -> None:
    with pytest.raises(WavePinError) as info:
        plan_waves(SEED_LIKE, {"ems_web_app": 1})
    error = info.value
    assert (error.role, error.wave, error.dependency, error.dependency_wave) == (
        "ems_web_app",
        1,
        "ems_registry_urls",
        1,
    )
    assert "'ems_web_app'" in str(error) and "'ems_registry_urls'" in str(error)
    assert "pin 'ems_web_app' to wave 2 or later" in str(error)
    assert isinstance(error, ConfigError) and error.key == "waves"


def test_pin_to_the_computed_wave_is_accepted() -> None:
    assert plan_waves(SEED_LIKE, {"common": 0, "ems_web_app": 2}).waves["ems_web_app"] == 2


def test_pins_for_unknown_roles_are_listed() -> None:
    assert plan_waves(SEED_LIKE, {"ghost": 1}).unknown_pins == ["ghost"]


def test_a_role_pinned_to_two_waves_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pinned to both wave 0 and wave 1"):
        collect_pins([(0, ["a"]), (1, ["b", "a"])])
    assert collect_pins([(0, ["a"]), (0, ["a"]), (2, ["b"])]) == {"a": 0, "b": 2}


def test_cycles_are_reported_with_their_path_and_block_their_dependants() -> None:
    graph = {
        "common": [],
        "a": ["b", "common"],
        "b": ["c"],
        "c": ["a"],
        "d": ["a"],
        "e": ["d"],
        "f": ["common"],
        "selfish": ["selfish"],
    }
    plan = plan_waves(graph)
    assert plan.cycles == [["a", "b", "c", "a"], ["selfish", "selfish"]]
    assert plan.waves == {
        "common": 0,
        "f": 1,
        "a": None,
        "b": None,
        "c": None,
        "d": None,
        "e": None,
        "selfish": None,
    }
    assert plan.blocked["e"] == ["a", "b", "c", "a"]


def test_cycle_path_is_a_real_path_in_the_graph() -> None:
    graph = {"a": ["b"], "b": ["c", "d"], "c": ["a"], "d": ["b"]}
    (cycle,) = plan_waves(graph).cycles
    assert cycle[0] == cycle[-1] == "a"
    for here, there in itertools.pairwise(cycle):
        assert there in graph[here]


def test_component_search_survives_a_long_chain_without_recursion() -> None:
    graph = {f"r{i}": [f"r{i - 1}"] if i else [] for i in range(5000)}
    graph["r0"] = ["r4999"]
    components = strongly_connected(graph)
    assert len(components) == 1 and len(components[0]) == 5000
    assert (
        plan_waves({f"r{i}": [f"r{i - 1}"] if i else [] for i in range(5000)}).waves["r4999"]
        == 4999
    )


def test_make_graph_drops_edges_to_unknown_roles_and_duplicates() -> None:
    graph = make_graph(["a", "b"], [("a", "b"), ("a", "b"), ("a", "ghost"), ("ghost", "a")])
    assert graph == {"a": ["b"], "b": []}


def test_mermaid_groups_roles_by_wave_and_draws_dependency_to_dependants() -> None:
    text = render_mermaid([("web", 1), ("api", 1), ("common", 0), ("loop", None)],
                          [("web", "common"), ("api", "common")])
    assert text == (
        "flowchart TD\n"
        'subgraph wave_0["Wave 0"]\n'
        "common\n"
        "end\n"
        'subgraph wave_1["Wave 1"]\n'
        "api\n"
        "web\n"
        "end\n"
        'subgraph no_wave["No wave (dependency cycle)"]\n'
        "loop\n"
        "end\n"
        "common --> api & web\n"
    )


def test_mermaid_edges_name_the_roles_and_odd_names_get_a_readable_id_and_quoted_label() -> None:
    text = render_mermaid(
        [("kubernetes/control-plane", 1), ("end", 0), ("wave_0", 0),
         ("kubernetes_control_plane", 0), ("container-engine/cri-o", 1)],
        [("kubernetes/control-plane", "end"), ("kubernetes/control-plane", "wave_0"),
         ("container-engine/cri-o", "kubernetes_control_plane")],
    )
    lines = text.splitlines()
    assert 'kubernetes_control_plane_["kubernetes/control-plane"]' in lines
    assert 'container_engine_cri_o["container-engine/cri-o"]' in lines
    assert 'end_["end"]' in lines and 'wave_0_["wave_0"]' in lines
    assert "end_ --> kubernetes_control_plane_" in lines
    assert "wave_0_ --> kubernetes_control_plane_" in lines
    assert "kubernetes_control_plane --> container_engine_cri_o" in lines
    assert not any(line.startswith("r") and " --> " in line for line in lines)


def test_dot_output_has_one_cluster_per_wave() -> None:
    text = render_dot(
        [("kubernetes/control-plane", 1), ("common", 0)], [("kubernetes/control-plane", "common")]
    )
    assert text.startswith("digraph roles {")
    assert 'subgraph cluster_wave_0 { label="Wave 0";' in text
    assert '"common" -> "kubernetes/control-plane";' in text
    assert text.rstrip().endswith("}")
