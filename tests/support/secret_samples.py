"""Synthetic secrets in the formats detect-secrets' plugins look for, in the places a
tool call carries them (shell commands, env files, JSON, YAML, URLs).

detect-secrets ships no test samples in its wheel, so these lines are made here from
the token formats each plugin documents, with seeded random values; detect-secrets
itself is the oracle of which lines hold a secret (tests/hooks/test_redact_coverage.py).
"""

from __future__ import annotations

import base64
import json
import random
import string

__all__ = ["EXCLUDED_PLUGINS", "sample_lines"]

# Plugins left out of the oracle: entropy detectors flag any random-looking word (commit
# SHAs, checksums, UUIDs: redacting those would blind the audit trail), and a public IP
# address is not a credential.
EXCLUDED_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector")

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_URLSAFE = _ALNUM + "-_"


def _jwt(rng: random.Random) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    signature = "".join(rng.choice(_URLSAFE) for _ in range(43))
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': rng.randint(1, 10**9)})}." \
           f"{signature}"


def _tokens(rng: random.Random) -> dict[str, list[str]]:
    """Secret values per plugin, several shapes each."""
    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    return {
        "ArtifactoryDetector": ["AKC" + pick(_ALNUM, 70), "AP" + rng.choice("0123456789ABCDEF")
                                + pick(_ALNUM, 10), "AKC" + pick(_ALNUM, 12)],
        "AWSKeyDetector": ["AKIA" + pick(string.ascii_uppercase + string.digits, 16),
                           "ASIA" + pick(string.ascii_uppercase + string.digits, 16)],
        "AzureStorageKeyDetector": [
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
            + base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
            + ";EndpointSuffix=core.windows.net"],
        "DiscordBotTokenDetector": [rng.choice("MNO") + pick(_URLSAFE, 23) + "."
                                    + pick(_URLSAFE, 6) + "." + pick(_URLSAFE, 27)],
        "GitHubTokenDetector": [p + "_" + pick(_ALNUM, 36) for p in ("ghp", "gho", "ghs")],
        "GitLabTokenDetector": ["glpat-" + pick(_URLSAFE, 20), "gldt-" + pick(_URLSAFE, 30),
                                "glrt-" + pick(_URLSAFE, 20), "GR1348941" + pick(_URLSAFE, 20),
                                "glcbt-" + pick(_URLSAFE, 20), "glimt-" + pick(_URLSAFE, 25),
                                "glptt-" + pick(_URLSAFE, 40), "glagent-" + pick(_URLSAFE, 50),
                                "gloas-" + pick(_URLSAFE, 64), "glft-" + pick(_URLSAFE, 20),
                                "glsoat-" + pick(_URLSAFE, 20)],
        "JwtTokenDetector": [_jwt(rng), _jwt(rng)],
        "MailchimpDetector": [pick(_HEX, 32) + "-us" + str(rng.randint(1, 20))],
        "NpmDetector": ["//registry.npmjs.org/:_authToken=npm_" + pick(_ALNUM, 36),
                        "//npm.example.com/:_authToken=" + "-".join(
                            pick(_HEX, n) for n in (8, 4, 4, 4, 12))],
        "OpenAIDetector": ["sk-" + pick(_ALNUM, 20) + "T3BlbkFJ" + pick(_ALNUM, 20),
                           "sk-proj-" + pick(_ALNUM, 20) + "T3BlbkFJ" + pick(_ALNUM, 20)],
        "PrivateKeyDetector": ["-----BEGIN RSA PRIVATE KEY-----",
                               "-----BEGIN OPENSSH PRIVATE KEY-----\\n" + pick(_ALNUM, 60)],
        "PypiTokenDetector": ["pypi-AgEIcHlwaS5vcmc" + pick(_URLSAFE, 80),
                              "pypi-AgENdGVzdC5weXBpLm9yZw" + pick(_URLSAFE, 80)],
        "SendGridDetector": ["SG." + pick(_URLSAFE, 22) + "." + pick(_URLSAFE, 43)],
        "SlackDetector": [f"xoxb-{rng.randint(10**11, 10**12)}-{rng.randint(10**11, 10**12)}-"
                          + pick(_LOWER_ALNUM, 24),
                          f"xoxp-{rng.randint(10**9, 10**10)}-" + pick(_LOWER_ALNUM, 12),
                          "https://hooks.slack.com/services/T" + pick(_ALNUM, 8) + "/B"
                          + pick(_ALNUM, 8) + "/" + pick(_ALNUM, 24)],
        "SquareOAuthDetector": ["sq0csp-" + pick(_URLSAFE, 43)],
        "StripeDetector": ["sk_live_" + pick(_ALNUM, 24), "rk_live_" + pick(_ALNUM, 24)],
        "TelegramBotTokenDetector": [f"{rng.randint(10**8, 10**9)}:AA" + pick(_URLSAFE, 33)],
        "TwilioKeyDetector": ["AC" + pick(_LOWER_ALNUM, 32), "SK" + pick(_LOWER_ALNUM, 32)],
    }


def _placed(value: str) -> list[str]:
    """``value`` where tool calls carry such things."""
    return [
        value,
        f"export THING={value}",
        f'curl -H "X-Thing: {value}" https://api.example.com/v1',
        json.dumps({"value": value}),
        f"value: {value}",
        f"echo '{value}' > conf.txt",
    ]


_KEYWORDS = ("password", "db_pass", "DB_PASSWORD", "apiKey", "api_key", "auth_key", "AuthKey",
             "service_key", "account_key", "db_key", "database_key", "priv_key", "private_key",
             "client_key", "key_pass", "database_pass", "passwd", "pwd", "secret",
             "client_secret", "my_secret_value", "contrasena", "contraseña", "SessionPassword",
             "x-api-key", "password_hash", "aws_secret_key", "cloudant_password", "sl_api_key",
             "ibm_cloud_iam_api_key", "cos_hmac_secret_access_key", "softlayer_api_key")
_ASSIGNMENTS = ('{k} = "{v}"', "{k}='{v}'", '"{k}": "{v}"', "{k}: {v}", "{k}: '{v}'",
                "{k}={v}", "export {k}={v}", "--{k} {v}", "--{k}={v}", 'set {k} "{v}"',
                '<{k}>{v}</{k}>', "{k} := {v}")


def _keyword_lines(rng: random.Random) -> list[str]:
    lines = []
    for key in _KEYWORDS:
        length = {"ibm_cloud_iam_api_key": 44, "cos_hmac_secret_access_key": 48,
                  "softlayer_api_key": 64, "sl_api_key": 64, "aws_secret_key": 40}.get(key, 14)
        alphabet = _HEX if key.startswith("cos") else _LOWER_ALNUM
        for form in _ASSIGNMENTS:
            value = "".join(rng.choice(alphabet) for _ in range(length))
            lines.append(form.format(k=key, v=value))
    return lines


def _credential_lines(rng: random.Random) -> list[str]:
    """Passwords in URLs and on command lines."""
    def word(n: int = 12) -> str:
        return "".join(rng.choice(_ALNUM) for _ in range(n))

    def hexword(n: int) -> str:
        return "".join(rng.choice(_HEX) for _ in range(n))

    def lower(n: int) -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))

    return [
        f"git clone https://user:{word()}@gitlab.example.com/group/repo.git",
        f"psql postgres://app:{word(6)}/{word(6)}@db.example.com:5432/x",
        f"DATABASE_URL=mysql://root:{word()}@127.0.0.1/app",
        f"curl ftp://anonymous:{word()}@ftp.example.com/file",
        f"curl https://acct:{word(64).lower()}@acct.cloudant.com",
        f"https://{word(8)}:{word(24).lower()}@{word(8)}.cloudant.com",
        f"curl -u admin:{word()} https://api.example.com",
        f"curl --user deploy:{word()} -X POST https://x.example.com",
        f"mysql -u root -p{word()} app",
        f"mysqldump -p{word()} --all-databases",
        f"sshpass -p {word()} ssh host",
        f"sshpass -p'{word()}' scp a host:b",
        f"https://api.softlayer.com/soap/v3/{word(64).lower()}",
        f"curl https://acct:{hexword(64)}@acct.cloudant.com/db",
        f'cloudant_password = "{hexword(64)}"',
        f"cl_key: {lower(24)}",
        f'clou_api_token="{lower(24)}"',
    ]


def sample_lines(seed: int = 11) -> list[str]:
    """Every sample line, deterministic for a seed."""
    rng = random.Random(seed)
    lines = [line for values in _tokens(rng).values() for value in values
             for line in _placed(value)]
    return lines + _keyword_lines(rng) + _credential_lines(rng)
