"""Passwords never reach messages: URL userinfo, ``?password=`` and ``key=value`` DSNs."""

from __future__ import annotations

import pytest

from dag_harness_mcp.db.postgres import redact_url


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db?sslmode=require&password=s3cret&x=1",
         "postgresql://u@h/db?sslmode=require&password=***&x=1"),
        ("postgresql://u:s3cret@h/db?password=s3cret", "postgresql://u:***@h/db?password=***"),
        ("host=h user=u password=s3cret dbname=db", "host=h user=u password=*** dbname=db"),
        ("host=h password = 'two words' dbname=db", "host=h password = *** dbname=db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_the_password_is_masked_wherever_it_is_written(given: str, shown: str) -> None:
    assert redact_url(given) == shown
    assert "s3cret" not in redact_url(given)
