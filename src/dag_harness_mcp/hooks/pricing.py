"""Per-model token prices (USD per million tokens), from Anthropic's published price list.

A model is priced by its longest known prefix followed by nothing, a date or a ``[...]``/
``@`` suffix, else by family word (that family's newest model), else at :data:`FALLBACK`
(Sonnet). Long-context surcharges and batch discounts are not modelled.
"""

from __future__ import annotations

__all__ = ["FALLBACK", "PRICES", "Price", "cost_usd", "price_for"]

# (input, output, cache_write, cache_read) in USD per 1,000,000 tokens.
Price = tuple[float, float, float, float]

PRICES: dict[str, Price] = {
    "claude-opus-4-5": (5.00, 25.00, 6.25, 0.50),
    "claude-opus-4-1": (15.00, 75.00, 18.75, 1.50),
    "claude-opus-4": (15.00, 75.00, 18.75, 1.50),
    "claude-sonnet-4-5": (3.00, 15.00, 3.75, 0.30),
    "claude-sonnet-4": (3.00, 15.00, 3.75, 0.30),
    "claude-3-7-sonnet": (3.00, 15.00, 3.75, 0.30),
    "claude-3-5-sonnet": (3.00, 15.00, 3.75, 0.30),
    "claude-haiku-4-5": (1.00, 5.00, 1.25, 0.10),
    "claude-3-5-haiku": (0.80, 4.00, 1.00, 0.08),
    "claude-3-opus": (15.00, 75.00, 18.75, 1.50),
    "claude-3-haiku": (0.25, 1.25, 0.30, 0.03),
}

_FAMILIES: dict[str, Price] = {
    "opus": PRICES["claude-opus-4-5"],
    "sonnet": PRICES["claude-sonnet-4-5"],
    "haiku": PRICES["claude-haiku-4-5"],
}

FALLBACK: Price = PRICES["claude-sonnet-4-5"]


def price_for(model: str) -> tuple[Price, str]:
    """The price of ``model`` and how it was found: ``exact``, ``family`` or ``fallback``."""
    name = model.lower().strip()
    best = ""
    for known in PRICES:
        if name.startswith(known) and _version_ends(name[len(known):]) and len(known) > len(best):
            best = known
    if best:
        return PRICES[best], "exact"
    for family, price in _FAMILIES.items():
        if family in name:
            return price, "family"
    return FALLBACK, "fallback"


def _version_ends(rest: str) -> bool:
    """``claude-opus-4`` prices ``claude-opus-4-20250514`` but not ``claude-opus-4-6``."""
    if rest == "" or rest[0] in "[@":
        return True
    date = rest[1:9]
    return rest[0] == "-" and len(date) == 8 and date.isdigit()


def cost_usd(price: Price, inp: int, out: int, cache_write: int, cache_read: int) -> float:
    """The cost of one message, rounded to a millionth of a cent."""
    total = (inp * price[0] + out * price[1] + cache_write * price[2]
             + cache_read * price[3]) / 1_000_000
    return round(total, 8)
