"""Passwords never reach messages: URL userinfo, ``?password=``, ``key=value`` DSNs, and
the driver's own error text."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.checkpoint.factory import open_postgres_saver
from dag_harness_mcp.db.postgres import PostgresStateDB, redact_url
from dag_harness_mcp.errors import StateDBError


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


@pytest.mark.postgres
async def test_driver_errors_echoing_the_password_are_scrubbed(tmp_path: Path) -> None:
    # libpq quotes a bad option value back; here that value is the password.
    url = "postgresql://postgres:zz9pw@127.0.0.1:5432/test?sslmode=zz9pw"
    with pytest.raises(StateDBError) as from_statedb:
        PostgresStateDB(url)
    with pytest.raises(StateDBError) as from_saver:
        async with open_postgres_saver(url):
            pass

    for caught in (from_statedb, from_saver):
        assert "zz9pw" not in str(caught.value)
        assert "invalid sslmode value" in str(caught.value)
