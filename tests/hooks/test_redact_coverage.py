"""Coverage of the redactor against detect-secrets: every line one of its credential
plugins flags comes out of :func:`redact` (and of :func:`redact_json`) without the secret."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

from dag_harness_mcp.hooks.redact import redact, redact_json
from support.secret_samples import EXCLUDED_PLUGINS, sample_lines


@pytest.fixture(scope="module")
def flagged() -> Iterator[list[tuple[str, str, set[str]]]]:
    """``(line, plugin, secrets)`` for every sample line detect-secrets flags."""
    plugins = {cls.secret_type: cls.__name__
               for cls in get_mapping_from_secret_type_to_class().values()
               if cls.__name__ not in EXCLUDED_PLUGINS}
    config: dict[str, Any] = {"plugins_used": [{"name": name} for name in plugins.values()]}
    out = []
    with transient_settings(config):
        for line in sample_lines():
            found = [s for s in scan_line(line) if s.type in plugins and s.secret_value]
            if found:
                out.append((line, plugins[found[0].type], {s.secret_value for s in found}))
    yield out


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_every_credential_plugin_of_detect_secrets_flags_some_sample(
    flagged: list[tuple[str, str, set[str]]]
) -> None:
    seen = Counter(plugin for _line, plugin, _secrets in flagged)
    expected = {cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()
                if cls.__name__ not in EXCLUDED_PLUGINS}
    assert expected - set(seen) == set(), seen  # the samples exercise every plugin


def test_no_secret_detect_secrets_finds_survives_redaction(
    flagged: list[tuple[str, str, set[str]]]
) -> None:
    missed = [(plugin, line) for line, plugin, secrets in flagged
              if _leaks(redact(line), secrets)]
    covered = len(flagged) - len(missed)
    print(f"redaction coverage: {covered}/{len(flagged)} lines flagged by detect-secrets")
    assert missed == []


def test_no_secret_survives_in_json_strings_or_keys(
    flagged: list[tuple[str, str, set[str]]]
) -> None:
    for line, _plugin, secrets in flagged:
        assert not _leaks(str(redact_json({"cmd": line, line: 1, "n": [line]})), secrets), line
