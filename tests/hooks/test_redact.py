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
    "camel-case key": ("SessionToken=9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    "upper-case key": ('{"SESSION_TOKEN": "9f8e7d6c5b4a"}', "9f8e7d6c5b4a"),
    "curl -u": ("curl -u admin:S3cretPass https://x", "S3cretPass"),
    "curl --user": ("curl --user=admin:S3cretPass https://x", "S3cretPass"),
    "mysql -p": ("mysql -u root -pS3cretPass app", "S3cretPass"),
    "sshpass -p": ("sshpass -p S3cretPass ssh host", "S3cretPass"),
    "stripe live key": ("STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWD"),
    "stripe restricted key": ("use rk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWD"),
    "url password with slash": ("git clone https://bot:ab/cd+ef@gitlab.example.com/g/r.git",
                                "ab/cd+ef"),
    "walrus assignment": ("db_password := 'hunter2x'", "hunter2x"),
    "key containing a secret word": ('password_hash = "a1b2c3d4e5"', "a1b2c3d4e5"),
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
    "git push -u origin main && sort -u list.txt",
    "mysql -u root -p app",
    "https://registry.npmjs.org:443/@types/node",
    "curl http://host:8080/path/a@b.txt",
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


def test_secret_named_keys_of_any_case_hide_values_of_any_type() -> None:
    value = {"SessionToken": "t1", "sessionToken": "t2", "X-Api-Key": "k1", "PGPASSWORD": "p1",
             "password": 123456, "ApiKey": ["a1", "a2"], "client_secret": {"v": "s1"},
             "password_required": True, "auth": None, "token_count": 5, "max_tokens": 9}
    out = redact_json(value)
    assert isinstance(out, dict)
    for key in ("SessionToken", "sessionToken", "X-Api-Key", "PGPASSWORD", "password",
                "ApiKey", "client_secret"):
        assert out[key] == MARK, key
    assert out["password_required"] is True and out["auth"] is None
    assert out["token_count"] == 5 and out["max_tokens"] == 9


def test_secrets_used_as_keys_are_redacted_without_losing_entries() -> None:
    first, second = "ghp_" + "a" * 36, "glpat-" + "b" * 20
    out = redact_json({first: 1, second: 2, "plain": 3})
    assert isinstance(out, dict)
    assert first not in str(out) and second not in str(out)
    assert sorted(out.values()) == [1, 2, 3]  # type: ignore[type-var]


def test_truncate_caps_utf8_bytes_and_names_the_original_size() -> None:
    assert truncate("short") == "short"
    text = "é" * 20_000  # 40,000 bytes
    out = truncate(text, 1000)
    assert out.startswith("é" * 500)
    assert out.endswith("[TRUNCATED: 40000 bytes, kept 1000]")
    assert len(out.encode()) < 1100
