"""Redaction is a pure function: every secret kind goes, ordinary text stays."""

from __future__ import annotations

import json

import pytest

from dag_harness_mcp.hooks.redact import MARK, redact, redact_json, truncate

SECRETS = {
    "gitlab pat": ("git clone https://x/y -c token glpat-1a2B3c4D5e6F7g8H9i0J", "glpat-1a2B"),
    "gitlab deploy": ("use gldt-AbCdEfGhIjKlMnOp now", "gldt-AbCd"),
    "github": ("GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdef"),
    "bearer header": ('curl -H "Authorization: Bearer abc.def.ghi123"', "abc.def.ghi123"),
    "basic header": ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpw"),
    "bare bearer": ("token was Bearer 9f8e7d6c5b4a39281706", "9f8e7d6c5b4a"),
    "private-token header": ("PRIVATE-TOKEN: s3cr3tValue", "s3cr3tValue"),
    "aws access key": ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7"),
    "aws secret": ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   "wJalrXUtnFEMI"),
    "url password": ("postgres://app:Sup3rS3cret@db:5432/x", "Sup3rS3cret"),
    "password assignment": ("PASSWORD=hunter2 ./run", "hunter2"),
    "json password": ('{"db_password": "pa55w0rd!"}', "pa55w0rd!"),
    "yaml token": ("api_token: 'abc123def'", "abc123def"),
    "cli flag": ("mysql --password s3cret -u root", "s3cret"),
    "cli flag equals": ("tool --api-key=k-123456", "k-123456"),
    "anthropic key": ("ANTHROPIC=sk-ant-api03-abcdefghijklmnopqrstuv", "sk-ant-api03"),
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_secret_kind_is_redacted(kind: str) -> None:
    text, secret = SECRETS[kind]
    out = redact(text)
    assert secret not in out, out
    assert MARK in out


def test_private_key_blocks_are_redacted_even_when_cut_off() -> None:
    whole = "a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nQUFBQQ\n" \
            "-----END OPENSSH PRIVATE KEY-----\nz"
    out = redact(whole)
    assert "b3BlbnNzaC1rZXk" not in out and "QUFBQQ" not in out
    assert out.startswith("a\n") and out.endswith("\nz")
    cut = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    assert "MIIEvQIBADAN" not in redact(cut)


@pytest.mark.parametrize("text", [
    "ls -la /etc && git status",
    "the basic idea is to count input_tokens and output_tokens",
    "def tokenize(text): return text.split()",
    "https://gitlab.com/group/project/-/merge_requests/1",
    "max_tokens: 4096",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_json_replaces_secret_named_keys_and_walks_nesting() -> None:
    value = {"headers": {"Authorization": "xyz", "Accept": "json"}, "password": "p",
             "token_count": 5, "input_tokens": 7, "items": [{"secret": "s", "name": "n"}],
             "nested": {"pass": "pw1", "api-key": "k1"},
             "cmd": "export GITLAB_TOKEN=glpat-abcdefghij0123456789"}
    out = redact_json(value)
    text = json.dumps(out)
    assert '"xyz"' not in text and '"p"' not in text and '"s"' not in text
    assert "pw1" not in text and "k1" not in text
    assert "glpat-abcdefghij" not in text
    assert out["headers"]["Accept"] == "json"  # type: ignore[index]
    assert out["input_tokens"] == 7 and out["token_count"] == 5  # type: ignore[index]
    assert out["items"][0]["name"] == "n"  # type: ignore[index]


def test_truncate_caps_utf8_bytes_and_names_the_original_size() -> None:
    assert truncate("short") == "short"
    text = "é" * 20_000  # 40,000 bytes
    out = truncate(text, 1000)
    assert out.startswith("é" * 500)
    assert out.endswith("[TRUNCATED: 40000 bytes, kept 1000]")
    assert len(out.encode()) < 1100
