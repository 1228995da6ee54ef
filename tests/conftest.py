"""Fixtures shared by the whole suite: stores on every backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

POSTGRES_URL_ENV = "FEEDBACKLOOP_TEST_DATABASE_URL"
NO_POSTGRES = (
    f"PostgreSQL tests need {POSTGRES_URL_ENV}, e.g. "
    f"{POSTGRES_URL_ENV}=postgresql://postgres@127.0.0.1:5432/test uv run pytest "
    "(.ci/run sets it)"
)


def postgres_url() -> str | None:
    """The test database from the environment, or None."""
    return os.environ.get(POSTGRES_URL_ENV) or None


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL to a fresh PostgreSQL schema, dropped afterwards; skips without PostgreSQL."""
    base = postgres_url()
    if base is None:
        pytest.skip(NO_POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend the store supports."""
    if request.param == "sqlite-memory":
        return "sqlite://"
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url
