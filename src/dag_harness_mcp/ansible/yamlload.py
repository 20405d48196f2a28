"""A safe, fast YAML loader that tolerates Ansible's custom tags (standard + PyYAML)."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["YAMLError", "load_yaml"]

YAMLError = yaml.YAMLError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _AnsibleSafeLoader(_Base):  # type: ignore[misc]
    """``SafeLoader`` (the C one when available) that reads ``!vault``/``!unsafe`` as plain data."""


def _any_tag(loader: Any, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_AnsibleSafeLoader.add_multi_constructor("!", _any_tag)


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; raises :class:`yaml.YAMLError` on bad input."""
    return yaml.load(text, Loader=_AnsibleSafeLoader)  # a SafeLoader subclass
