"""Redaction of secrets from tool inputs and outputs before they reach the database.

:func:`redact` replaces vendor token formats, credentials in headers, URLs and command
lines, private key blocks and values assigned to secret-named keys; :func:`redact_json`
also hides whatever stands under a secret-named key. Each rule runs only when one of
its cheap substring triggers occurs (compiling them all would cost every hook ≈ 5 ms),
and no pattern backtracks over a long word.
"""

from __future__ import annotations

import re

__all__ = ["MARK", "MAX_FIELD_BYTES", "redact", "redact_json", "truncate"]

MARK = "[REDACTED]"
MAX_FIELD_BYTES = 16 * 1024

# Words that make a key name a secret (case-insensitive; longest first where one is the
# start of another).
_SECRET_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|contrase(?:ñ|n)a|"
    r"client[_-]?secret|secret[_-]?access[_-]?key|secret(?:[_-]?key)?|"
    r"(?:access|refresh|auth|private|session|id|bot|csrf|xsrf)[_-]?token|token|"
    r"(?:api|auth|access|service|account|db|database|priv|private|client|encryption|"
    r"signing|master)[_-]?key|apikey|(?:db|database|key)[_-]?pass(?:word|wd)?|"
    r"(?:cloudant|clou|cl|softlayer|sl|ibm|iam|cloud|cos)[_-]?(?:api[_-]?)?(?:key|pw)|"
    r"credentials?|authorization|cookie|auth)"
)
# Words that make any key containing them a secret (``my_secret_value``, ``password_hash``).
_STRONG_WORD = (
    r"(?:password|passwd|pwd|secret|contrase(?:ñ|n)a|(?:db|database|key)[_-]?pass|"
    r"(?:api|auth|service|account|db|database|priv|private|client)[_-]?key)"
)
# Cheap lower-case triggers for the assignment scan.
_SECRET_TRIGGERS = (
    "pass", "pwd", "contrase", "secret", "token", "key", "credential", "auth", "cookie",
)
_GL = tuple(f"gl{p}-" for p in ("pat", "dt", "rt", "ptt", "oas", "cbt", "imt", "ft", "soat",
                                 "agent", "ffct"))
_LONG = "\0long>="  # a trigger that holds when some whitespace-free run is at least this long

# (triggers, pattern, replacement). A trigger with an upper-case letter is looked for in
# the text as it is, any other in the lower-cased text; a rule whose triggers end with a
# ``_LONG`` length also needs a whitespace-free run of that length.
_RULES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    # Private key blocks, with or without their END line.
    (("private key",),
     r"(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY"
     r"( BLOCK)?-----|\Z)",
     "-----BEGIN PRIVATE KEY-----" + MARK + "-----END PRIVATE KEY-----"),
    # Vendor token formats.
    (_GL, r"\bgl(?:pat|dt|rt|ptt|oas|cbt|imt|ft|soat|agent|ffct)-[A-Za-z0-9_\-.]{8,}", MARK),
    (("GR1348941",), r"GR1348941[A-Za-z0-9_\-]{8,}", MARK),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     r"\b(?:gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,})", MARK),
    (("xox",), r"(?i)\bxox[abposr]-[A-Za-z0-9-]{6,}", MARK),
    (("softlayer.com",), r"(api\.softlayer\.com/soap/v3(?:\.1)?/)[a-z0-9]{64}", r"\1" + MARK),
    (("hooks.slack.com",), r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]+", MARK),
    (("sk-",), r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}", MARK),
    (("k_live_", "k_test_"), r"\b[rs]k_(?:live|test)_[0-9a-zA-Z]{10,}", MARK),
    (("whsec_",), r"\bwhsec_[0-9a-zA-Z]{16,}", MARK),
    (("eyJ",), r"\beyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{2,}\.?[A-Za-z0-9_\-+/=]*", MARK),
    (("SG.",), r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", MARK),
    (("npm_",), r"\bnpm_[A-Za-z0-9]{20,}", MARK),
    (("pypi-",), r"\bpypi-[A-Za-z0-9_\-]{50,}", MARK),
    (("sq0",), r"\bsq0(?:csp|atp)-[0-9A-Za-z\\\-_]{20,}", MARK),
    # Formats without a distinctive prefix: only where some word is long enough to hold one.
    (("AC", "SK", _LONG + "34"), r"\b(?:AC|SK)[a-z0-9]{32}\b", MARK),
    ((":", _LONG + "44"), r"\b\d{8,10}:[0-9A-Za-z_\-]{35}\b", MARK),
    (("-us", _LONG + "36"), r"\b[0-9a-z]{32}-us[0-9]{1,2}\b", MARK),
    ((".", _LONG + "59"), r"(?<![A-Za-z0-9_\-])[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\."
                          r"[A-Za-z0-9_\-]{27}", MARK),
    (("AKC", "AP", _LONG + "11"),
     r"(?:(?<=[\s=:\"])|^)(?:AKC[a-zA-Z0-9]{10,}|AP[0-9A-F][a-zA-Z0-9]{8,})(?=[\s\"]|$)",
     MARK),
    (("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "A3T", "ABIA", "ACCA"),
     r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|A3T[A-Z0-9]|ABIA|ACCA)[A-Z0-9]{16}\b",
     MARK),
    # Authorization headers and bearer credentials.
    (("authorization",), r"(?i)(\bauthorization\s*[:=]\s*[\"']?)"
     r"(?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;]+", r"\1" + MARK),
    (("bearer",), r"(?i)\b(bearer)(\s+)[A-Za-z0-9_\-.=+/~]{8,}", r"\1\2" + MARK),
    (("private-token",), r"(?i)(private-token\s*[:=]\s*[\"']?)[^\s\"',;]+", r"\1" + MARK),
    # Passwords in URLs (may hold '/'; ``host:8080/path@x`` is a port, not a password).
    (("://",), r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@\"'<>{}]*:)"
               r"(?!\d{1,5}(?:[/?#\s\"']|$))[^\s@\"'<>{}]+@", r"\1" + MARK + "@"),
    # Command-line credentials: curl -u user:pass, mysql -ppass, sshpass -p pass.
    (("curl", "--user", "--proxy-user"),
     r"((?:^|\s)(?:-u|-U|--user|--proxy-user)(?:\s+|=)?[\"']?[^\s:\"']*:)[^\s\"']+",
     r"\1" + MARK),
    (("mysql", "mariadb"), r"(\bmysql\w*|\bmariadb\w*)((?:\s+(?!-p)\S+)*?\s+-p)"
                           r"(?!\s)(\"[^\"]*\"|'[^']*'|\S+)", r"\1\2" + MARK),
    (("sshpass",), r"(\bsshpass(?:\s+-[a-oq-zA-Z]\S*)*\s+-p\s*)(\"[^\"]*\"|'[^']*'|\S+)",
     r"\1" + MARK),
    # AWS secret access keys by name.
    (("aws",), r"(?i)(aws\w{0,20}?(?:key|pwd|pw|password|pass|token)[\"']?\s*[:=]\s*[\"']?)"
               r"[A-Za-z0-9/+=]{40}", r"\1" + MARK),
)


# The rules with their triggers sorted once: (lower-case, exact, longest run, pattern, repl).
_PLAN = [(tuple(t for t in triggers if t == t.lower() and not t.startswith(_LONG)),
          tuple(t for t in triggers if t != t.lower()),
          int(triggers[-1][len(_LONG):]) if triggers[-1].startswith(_LONG) else 0,
          source, replacement) for triggers, source, replacement in _RULES]


def redact(text: str) -> str:
    """``text`` with every secret it recognises replaced by ``[REDACTED]``."""
    if not text:
        return text
    lowered = text.lower()
    longest = -1  # the longest whitespace-free run, measured when first needed
    for lower, exact, needs, source, replacement in _PLAN:
        if needs:
            if longest < 0:
                longest = max(map(len, text.split()), default=0)
            if longest < needs:
                continue
        if any(t in lowered for t in lower) or any(t in text for t in exact):
            changed = re.sub(source, replacement, text)
            if changed != text:
                text, lowered = changed, changed.lower()
    if any(t in lowered for t in _SECRET_TRIGGERS):
        text = _assignments(text)
    return text


# Around a secret word: the key it belongs to, the assignment and the value.
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-ñ")
_KEY_MAX = 60
_AFTER_KEY = frozenset("\"':= \t\n")  # what can follow a key that is assigned to
_ASSIGN = (r"[\"']?(?:\s*(?::=|=>|[:=])\s*(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}<]+)|"
           r"\s+(\"[^\"]*\"|'[^']*'))")
_OPTION = r"(?:\s+|=)(?!-)(\"[^\"]*\"|'[^']*'|\S+)"


def _assignments(text: str) -> str:
    """Values assigned to keys that end with a secret word (``key=v``, ``key: v``,
    ``"key": "v"``, ``--key v``), found around each trigger: linear in the text."""
    lowered = text.lower()
    size = len(text)
    keys: set[tuple[int, int]] = set()
    for trigger in _SECRET_TRIGGERS:
        hit = lowered.find(trigger)
        while hit != -1:
            start, end = hit, hit + len(trigger)
            while start > 0 and hit - start < _KEY_MAX and lowered[start - 1] in _KEY_CHARS:
                start -= 1
            while end < size and end - hit < _KEY_MAX and lowered[end] in _KEY_CHARS:
                end += 1
            keys.add((start, end))
            hit = lowered.find(trigger, end)
    out: list[str] = []
    done = 0
    verdicts: dict[str, bool] = {}  # keys repeat (YAML, JSON): judge each once
    for start, end in sorted(keys):
        if start < done or text[end:end + 1] not in _AFTER_KEY:
            continue
        tail = re.compile(_ASSIGN).match(text, end)  # first: most words are not assigned to
        if tail is None and text.startswith("-", start):
            tail = re.compile(_OPTION).match(text, end)
        if tail is None:
            continue
        key = lowered[start:end]
        secret = verdicts.get(key)
        if secret is None:
            secret = verdicts[key] = (
                re.search(r"(?i)" + _SECRET_WORD + r"\Z", key) is not None
                or re.search(r"(?i)" + _STRONG_WORD, key) is not None)
        if not secret:
            continue
        group = 1 if tail.start(1) != -1 else 2
        out.append(text[done:tail.start(group)])
        out.append(MARK)
        done = tail.end(group)
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def redact_json(value: object) -> object:
    """A copy of a decoded JSON value with secrets redacted: in strings, in keys, and
    whatever stands under a secret-named key (:func:`_hidden`)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            name = str(key)
            clean = redact(name)
            if clean != name:
                clean = _unique(clean, out)
            out[clean] = MARK if _hidden(name, item) else redact_json(item)
        return out
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def _unique(key: str, taken: dict[str, object]) -> str:
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        candidate = f"{key}#{n}"
    return candidate


def _hidden(name: str, item: object) -> bool:
    """Whether the value under the key ``name`` is replaced whole: any but booleans and null
    when the key ends with the secret word (``SessionToken``), a string when it starts with
    one or holds a strong one."""
    if item is None or isinstance(item, bool) or item == "":
        return False
    lowered = name.lower()
    if not any(t in lowered for t in _SECRET_TRIGGERS):
        return False
    words = _key_words(name)
    if re.search(_KEY_TAIL, words) is not None:
        return True
    return isinstance(item, str) and (re.search(_KEY_HEAD, words) is not None
                                      or re.search(_KEY_STRONG, words) is not None)


# On a key split into words (``SessionToken`` -> ``session_token``): the secret word
# at its end (``db_password``, ``x-api-key``, ``PGPASSWORD``) or, for strings, at its
# start (``token_type``).
_KEY_TAIL = _SECRET_WORD.replace("[_-]?", "_?") + r"$"
_KEY_HEAD = r"^" + _SECRET_WORD.replace("[_-]?", "_?") + r"(?:_|$)"
_KEY_STRONG = _STRONG_WORD.replace("[_-]?", "_?")


def _key_words(name: str) -> str:
    """``SessionToken``, ``x-api-key``, ``db.Password`` -> ``session_token``, ``x_api_key``,
    ``db_password``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^a-z0-9ñ]+", "_", spaced.lower()).strip("_")


def truncate(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes plus a marker naming the original size."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    head = data[:limit].decode("utf-8", "ignore")
    return f"{head}...[TRUNCATED: {len(data)} bytes, kept {limit}]"
