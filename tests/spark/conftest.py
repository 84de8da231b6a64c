"""One small local Spark session for all Spark tests (PySpark is the `spark` extra)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("PySpark is missing on CI (make test installs requirements-spark.txt)")
        pytest.skip("PySpark is absent (make install-spark)")
    from custseg.spark import spark_session

    warehouse: Path = tmp_path_factory.mktemp("spark-warehouse")
    session = spark_session(
        "local[1]",
        {
            "spark.driver.memory": "512m",
            "spark.sql.shuffle.partitions": "1",
            "spark.default.parallelism": "1",
            "spark.ui.enabled": "false",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.sql.warehouse.dir": str(warehouse),
        },
    )
    yield session
    session.stop()
