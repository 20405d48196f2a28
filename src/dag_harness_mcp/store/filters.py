"""Search filters with InMemoryStore's semantics (exact values, nested dicts, lists, and
``$eq $ne $gt $gte $lt $lte``), except that ordering a non-number is a non-match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["matches", "value_matches"]

_ORDERING = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _operator(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    compare = _ORDERING.get(operator)
    if compare is None:
        raise ValueError(
            f"unsupported filter operator {operator!r}; use one of $eq $ne $gt $gte $lt $lte"
        )
    try:
        return bool(compare(float(value), float(operand)))
    except (TypeError, ValueError):
        return False


def value_matches(value: Any, wanted: Any) -> bool:
    """Whether one stored value satisfies one filter value."""
    if isinstance(wanted, Mapping):
        if any(str(k).startswith("$") for k in wanted):
            return all(_operator(value, op, operand) for op, operand in wanted.items())
        if not isinstance(value, Mapping):
            return False
        return all(value_matches(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(wanted)
            and all(value_matches(a, b) for a, b in zip(value, wanted, strict=True))
        )
    return bool(value == wanted)


def matches(item_value: Mapping[str, Any], filter_: Mapping[str, Any] | None) -> bool:
    """Whether an item's value satisfies a whole filter (None or {} matches all)."""
    if not filter_:
        return True
    return all(value_matches(item_value.get(k), v) for k, v in filter_.items())
