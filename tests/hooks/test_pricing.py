"""Model names map to the documented per-million-token prices."""

from __future__ import annotations

import pytest

from dag_harness_mcp.hooks.pricing import FALLBACK, PRICES, cost_usd, price_for


@pytest.mark.parametrize(("model", "key", "how"), [
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "exact"),
    ("claude-sonnet-4-5", "claude-sonnet-4-5", "exact"),
    ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5", "exact"),
    ("claude-opus-4-20250514", "claude-opus-4", "exact"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1", "exact"),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku", "exact"),
    ("claude-opus-4-6", "claude-opus-4-5", "family"),
    ("claude-haiku-5", "claude-haiku-4-5", "family"),
])
def test_models_are_priced_by_exact_prefix_or_family(model: str, key: str, how: str) -> None:
    assert price_for(model) == (PRICES[key], how)


def test_unknown_models_use_the_sonnet_fallback() -> None:
    assert price_for("gpt-x") == (FALLBACK, "fallback")


def test_cost_sums_all_four_token_kinds() -> None:
    # 1M of each at Sonnet rates: 3 + 15 + 3.75 + 0.30
    assert cost_usd(PRICES["claude-sonnet-4-5"], 10**6, 10**6, 10**6, 10**6) == 22.05
