"""Redaction of secrets from tool inputs and outputs before they reach the database.

Pure functions. :func:`redact` replaces, in any text:

- GitLab tokens (``glpat-``, ``gldt-``, ``glrt-``, ``glptt-``, ``gloas-`` ...), GitHub
  tokens (``ghp_``, ``github_pat_`` ...), Slack tokens, Anthropic/OpenAI style ``sk-`` keys;
- ``Authorization:`` header values and ``Bearer``/``Basic``/``token`` credentials;
- AWS access key ids (``AKIA``/``ASIA``...) and secret access keys;
- ``-----BEGIN ... PRIVATE KEY-----`` blocks (also when cut off before their END line);
- passwords in URLs (``scheme://user:password@host``);
- generic assignments: ``password=``, ``token=``, ``secret:``, ``api_key``, ``"passwd": "..."``,
  ``--password value`` ...

:func:`redact_json` walks a decoded JSON value, redacting strings and replacing
the values of secret-named keys; :func:`truncate` caps a field with a marker.
"""

from __future__ import annotations

import re

__all__ = ["MARK", "MAX_FIELD_BYTES", "redact", "redact_json", "truncate"]

MARK = "[REDACTED]"
MAX_FIELD_BYTES = 16 * 1024

_SECRET_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret(?:[_-]?key)?|client[_-]?secret|token|"
    r"access[_-]?token|refresh[_-]?token|auth[_-]?token|private[_-]?token|api[_-]?key|"
    r"apikey|access[_-]?key|secret[_-]?access[_-]?key|credentials?|authorization|cookie|auth)"
)
_SECRET_KEY_SOURCE = r"(?i)(?:^|[_-])" + _SECRET_WORD + r"\Z|\A" + _SECRET_WORD + r"(?:[_-]|\Z)"

# (cheap lower-case triggers, pattern, replacement): a rule is compiled and run only
# when one of its triggers occurs in the text, so a plain ``ls -la`` costs almost nothing
# (compiling every rule up front costs ≈ 5 ms, paid by every hook process).
_SECRET_TRIGGERS = (
    "password", "passwd", "passphrase", "pass=", "pass:", "pass ", 'pass"', "pass'", "pwd",
    "secret", "token", "api_key", "api-key", "apikey", "access_key", "access-key", "accesskey",
    "credential", "auth", "cookie",
)
_GL = tuple(f"gl{p}-" for p in ("pat", "dt", "rt", "ptt", "oas", "cbt", "imt", "ft", "soat",
                                 "agent", "ffct"))
_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    # Private key blocks, with or without their END line.
    (("private key",),
     r"(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY"
     r"( BLOCK)?-----|\Z)",
     "-----BEGIN PRIVATE KEY-----" + MARK + "-----END PRIVATE KEY-----"),
    # Vendor token formats.
    (_GL, r"\bgl(?:pat|dt|rt|ptt|oas|cbt|imt|ft|soat|agent|ffct)-[A-Za-z0-9_\-.]{8,}", MARK),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})", MARK),
    (("xox",), r"\bxox[abprs]-[A-Za-z0-9-]{10,}", MARK),
    (("sk-",), r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}", MARK),
    (("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
     r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b", MARK),
    # Authorization headers and bearer credentials.
    (("authorization",), r"(?i)(\bauthorization\s*[:=]\s*[\"']?)"
     r"(?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;]+", r"\1" + MARK),
    (("bearer",), r"(?i)\b(bearer)(\s+)[A-Za-z0-9_\-.=+/~]{8,}", r"\1\2" + MARK),
    (("private-token",), r"(?i)(private-token\s*[:=]\s*[\"']?)[^\s\"',;]+", r"\1" + MARK),
    # Passwords in URLs.
    (("://",), r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@\"']*:)[^\s@/\"']+@", r"\1" + MARK + "@"),
    # AWS secret access keys by name.
    (("secret",), r"(?i)(aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{20,}",
     r"\1" + MARK),
    # Generic assignments: key=value, key: value, "key": "value", --key value.
    (_SECRET_TRIGGERS, r"(?i)([\"']?[A-Za-z0-9_.\-]*" + _SECRET_WORD + r"[\"']?\s*[:=]\s*)"
     r"(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}]+)", r"\1" + MARK),
    (_SECRET_TRIGGERS, r"(?i)(--?" + _SECRET_WORD + r"[A-Za-z_\-]*(?:\s+|=))(?!-)"
     r"(\"[^\"]*\"|'[^']*'|\S+)", r"\1" + MARK),
)
_compiled: dict[str, re.Pattern[str]] = {}


def redact(text: str) -> str:
    """``text`` with every secret it recognises replaced by ``[REDACTED]``."""
    if not text:
        return text
    lowered = text.lower()
    for triggers, source, replacement in _RULES:
        if not any(t in lowered for t in triggers):
            continue
        pattern = _compiled.get(source)
        if pattern is None:
            pattern = _compiled[source] = re.compile(source)
        text = pattern.sub(replacement, text)
        lowered = text.lower()
    return text


def redact_json(value: object) -> object:
    """A copy of a decoded JSON value with secret-named keys and secret strings redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            name = str(key)
            if isinstance(item, str) and item and _secret_key(name):
                out[name] = MARK
            else:
                out[name] = redact_json(item)
        return out
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def _secret_key(name: str) -> bool:
    lowered = name.lower() + "="  # a key is an assignment target: "pass" -> "pass="
    if not any(t in lowered for t in _SECRET_TRIGGERS):
        return False
    pattern = _compiled.get(_SECRET_KEY_SOURCE)
    if pattern is None:
        pattern = _compiled[_SECRET_KEY_SOURCE] = re.compile(_SECRET_KEY_SOURCE)
    return pattern.search(name) is not None


def truncate(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes plus a marker naming the original size."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    head = data[:limit].decode("utf-8", "ignore")
    return f"{head}...[TRUNCATED: {len(data)} bytes, kept {limit}]"
