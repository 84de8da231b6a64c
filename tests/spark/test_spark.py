"""The same pipeline on Apache Spark: parity with DuckDB, the MLlib path, clear errors."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.config import load_settings
from custseg.errors import UserError
from custseg.pipeline import segment, write_outputs

pytestmark = pytest.mark.spark

SPARK = {"engine": {"name": "spark"}}


def _both(path: Path | str, overrides: dict | None = None):
    overrides = overrides or {}
    local = segment(path, load_settings(None, overrides))
    spark = segment(path, load_settings(None, {**overrides, **SPARK}))
    return local, spark


@pytest.mark.realdata
def test_real_data_parity_with_duckdb(spark, real_parquet: Path) -> None:
    local, remote = _both(real_parquet)
    for key in ("rows_read", "rows_kept", "dropped", "customers", "orders", "revenue", "returns"):
        assert remote.quality[key] == local.quality[key], key
    assert remote.quality["rows_kept"] == 397_884
    assert remote.quality["dropped"]["cancelled_invoice"] == 8_905
    ours, theirs = (
        remote.customers.set_index("customer_id"),
        local.customers.set_index("customer_id"),
    )
    assert list(ours.index) == list(theirs.index) and len(ours) == 4_338
    assert (ours["recency_days"] == theirs["recency_days"]).all()
    assert (ours["frequency"] == theirs["frequency"]).all()
    np.testing.assert_allclose(ours["monetary"], theirs["monetary"], rtol=0, atol=1e-6)
    # The collected table goes through the same scikit-learn code: same clusters and names.
    assert (ours["cluster"] == theirs["cluster"]).all()
    assert (ours["persona"] == theirs["persona"]).all()
    assert remote.run_log["engine"] == "spark" and local.run_log["engine"] == "duckdb"


@pytest.mark.realdata
def test_real_data_parity_with_netted_returns(spark, real_parquet: Path) -> None:
    local, remote = _both(real_parquet, {"cleaning": {"returns": "net"}, "model": {"k": 4}})
    assert remote.quality["dropped"] == local.quality["dropped"]
    assert remote.quality["returns"] == local.quality["returns"]
    pd.testing.assert_frame_equal(remote.customers, local.customers)


def test_messy_text_file_parity(spark, tmp_path: Path) -> None:
    # Text everything: day-first dates, a serial number, bad numbers, a 'C' invoice.
    path = tmp_path / "messy.csv"
    path.write_text(
        "InvoiceNo;CustomerID;InvoiceDate;Quantity;UnitPrice\n"
        "1;7;13/01/2011 10:00;2;1,5\n2;7;14/01/2011 09:30;N/A;1,5\n3;8;40513,5;1;2\n"
        "4;8;15/01/2011 11:00;1;£6.95\n5;9;16/01/2011 12:00;3;4\nC6;9;17/01/2011 12:00;-1;4\n"
        "7;10;not a date;1;1\n8;10;18/01/2011 08:00;2;45.8\n9;11;19/01/2011 08:00;5;2\n",
        encoding="utf-8",
    )
    overrides = {
        "csv": {"decimal": ",", "date_format": "%d/%m/%Y %H:%M"},
        "model": {"k": 2, "k_max": 3},
    }
    local, remote = _both(path, overrides)
    assert remote.quality["dropped"] == local.quality["dropped"]
    assert remote.quality["dropped"]["invalid_price"] == 2  # £6.95 and 45.8
    assert remote.quality["dropped"]["invalid_date"] == 2  # 40513,5 and 'not a date'
    assert remote.quality["examples"] == local.quality["examples"]
    assert remote.quality["first_purchase"] == local.quality["first_purchase"]
    pd.testing.assert_frame_equal(remote.customers, local.customers)


def test_detected_day_first_dates_and_excel_serials(spark, tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,a,13/01/2011 10:00,1,2\n2,b,03/02/2011 09:30,2,3\n3,c,25/12/2010 08:00,1,50\n",
        encoding="utf-8",
    )
    serial = tmp_path / "serial.parquet"
    pd.DataFrame(
        {
            "InvoiceNo": ["1", "2", "3", "4"],
            "CustomerID": [7.0, 8.0, 9.0, 10.0],
            "InvoiceDate": [40513.3513888889, 40521.5, -5.0, 40520.25],
            "Quantity": [1, 1, 1, 2],
            "UnitPrice": [2.0, 3.0, 4.0, 9.0],
        }
    ).to_parquet(serial, index=False)
    for file in (path, serial):
        local, remote = _both(file, {"model": {"k": 2, "k_max": 2}})
        assert remote.quality["dropped"] == local.quality["dropped"]
        for key in ("first_purchase", "last_purchase", "input"):
            assert remote.quality[key] == local.quality[key], key
        pd.testing.assert_frame_equal(remote.customers, local.customers)
    assert remote.quality["first_purchase"] == "2010-12-01T08:26:00"
    assert remote.quality["dropped"]["invalid_date"] == 1


def test_a_date_format_with_a_quoted_letter(spark, tmp_path: Path) -> None:
    path = tmp_path / "iso.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,a,2011-01-13T10:00:00,1,2\n2,b,2011-02-03T09:30:00,2,3\n"
        "3,c,2010-12-25T08:00:00,1,50\n4,d,13 Jan 2011,1,5\n",
        encoding="utf-8",
    )
    # %Y-%m-%dT%H:%M:%S is yyyy-MM-dd'T'HH:mm:ss on Spark: a literal with quotes in it.
    local, remote = _both(path, {"csv": {"date_format": "%Y-%m-%dT%H:%M:%S"}, "model": {"k": 2}})
    assert remote.quality["dropped"] == local.quality["dropped"]
    assert remote.quality["dropped"]["invalid_date"] == 1
    assert remote.quality["first_purchase"] == "2010-12-25T08:00:00"
    pd.testing.assert_frame_equal(remote.customers, local.customers)


def test_cancellations_by_a_pattern_with_backslashes(spark, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "CA-2016-1,a,2011-01-13 10:00,1,2\nC536379,a,2011-01-14 10:00,1,2\n"
        "R-1,b,2011-02-03 09:30,2,3\nR-x,b,2011-02-04 09:30,2,3\nX7,c,2010-12-25 08:00,1,50\n",
        encoding="utf-8",
    )
    # A backslash class and a quote-free pattern: the same rows on Spark as on DuckDB.
    local, remote = _both(path, {"cleaning": {"cancelled_pattern": "R-\\d+"}, "model": {"k": 2}})
    assert remote.quality["dropped"] == local.quality["dropped"]
    assert local.quality["dropped"]["cancelled_invoice"] == 1  # R-1; C536379 is an order here
    pd.testing.assert_frame_equal(remote.customers, local.customers)


def test_mllib_path_names_the_same_personas(spark, synthetic: Path, tmp_path: Path) -> None:
    overrides = {"model": {"k_max": 6}}
    local = segment(synthetic, load_settings(None, overrides))
    settings = load_settings(
        None, {**overrides, "engine": {"name": "spark", "spark_collect_max_customers": 0}}
    )
    source = tmp_path / "lines.parquet"
    shutil.copy(synthetic, source)
    remote = segment(source, settings)
    # The session is closed: writing the customers must not read the input again.
    source.unlink()
    assert remote.customers_spark is not None
    assert remote.model["k_selection"]["silhouette_metric"].startswith("squared euclidean")
    written = write_outputs(remote, tmp_path / "out")
    assert (tmp_path / "out" / "customers.parquet").is_dir()
    assert not (tmp_path / "out" / "customers.csv").exists()
    assert {p.name for p in written} >= {"customers.parquet", "segments.csv", "report.html"}
    full = pd.read_parquet(tmp_path / "out" / "customers.parquet")
    assert len(full) == len(local.customers) == remote.quality["customers"]
    both = full.merge(local.customers, on="customer_id", suffixes=("_mllib", "_sklearn"))
    assert len(both) == len(full)
    agree = (both["persona_mllib"].astype(str) == both["persona_sklearn"]).mean()
    assert agree >= 0.95, agree
    # R, F and M scores by the same formula, computed in Spark over all customers.
    for column in ("r_score", "f_score", "m_score", "rfm_code", "rfm_segment"):
        assert (both[f"{column}_mllib"].astype(str) == both[f"{column}_sklearn"].astype(str)).all()
    assert remote.segments["customers"].sum() == len(full)
    # The cohort tables are counted by Spark, with the MLlib personas, as on DuckDB.
    pd.testing.assert_frame_equal(remote.cohorts, local.cohorts)
    assert set(remote.persona_retention["persona"]) == set(local.persona_retention["persona"])
    assert remote.run_log["input_scans"] == 1 and remote.run_log["engine"] == "spark"


def test_folder_of_parquet_files(spark, synthetic: Path, tmp_path: Path) -> None:
    frame = pd.read_parquet(synthetic)
    folder = tmp_path / "lines"
    folder.mkdir()
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[half:].to_parquet(folder / "part-1.parquet", index=False)
    overrides = {"model": {"k": 4, "k_max": 4}}
    remote = segment(str(folder), load_settings(None, {**overrides, **SPARK}))
    local = segment(synthetic, load_settings(None, overrides))
    assert remote.quality["rows_read"] == len(frame)
    pd.testing.assert_frame_equal(remote.customers, local.customers)


def test_cli_runs_on_spark(spark, tiny_csv: Path, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from custseg.cli import app

    result = CliRunner().invoke(
        app, ["run", str(tiny_csv), "--out", str(tmp_path / "out"), "--engine", "spark", "--k", "2"]
    )
    assert result.exit_code == 0, result.output
    log = json.loads((tmp_path / "out" / "run_log.json").read_text())
    assert log["engine"] == "spark"
    quality = json.loads((tmp_path / "out" / "data_quality.json").read_text())
    assert quality["rows_kept"] == 6


def test_missing_pyspark_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from custseg.spark import spark_session

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UserError, match=r"pip install 'custseg\[spark\]'"):
        spark_session("local[1]")


def test_java_datetime_patterns() -> None:
    from custseg.sql import java_datetime_pattern

    assert java_datetime_pattern("%d/%m/%Y %H:%M") == "dd/MM/yyyy HH:mm"
    assert java_datetime_pattern("%Y-%m-%dT%H:%M:%S") == "yyyy-MM-dd'T'HH:mm:ss"
    with pytest.raises(UserError, match="%j is not supported with --engine spark"):
        java_datetime_pattern("%j")


def test_spark_submit_runs_the_cli_unchanged(spark, tiny_csv: Path, tmp_path: Path) -> None:
    import json
    import subprocess

    import pyspark

    import custseg.__main__ as entry

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    proc = subprocess.run(
        [
            str(submit),
            "--master",
            "local[1]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            entry.__file__,
            "run",
            str(tiny_csv),
            "--engine",
            "spark",
            "--k",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        },
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    quality = json.loads((tmp_path / "out" / "data_quality.json").read_text())
    assert quality["rows_kept"] == 6
    # The stage log names the master spark-submit set; no spark-warehouse is left behind.
    assert "on Spark 4" in proc.stdout + proc.stderr
    assert "(local[1])" in proc.stdout + proc.stderr
    assert not (Path.cwd() / "spark-warehouse").exists()


def test_a_command_that_starts_spark_keeps_the_terminal_to_its_own_log(
    spark, tiny_csv: Path, tmp_path: Path
) -> None:
    # custseg starts the JVM (no spark-submit): Spark's start-up warnings (host name on a
    # loopback address, no native Hadoop, "Setting default log level") went to the terminal
    # between custseg's lines; its quiet profile (custseg/data/log4j2-quiet.properties) keeps
    # them out. The engine line names the master.
    import subprocess

    args = ["run", str(tiny_csv), "--engine", "spark", "--spark-master", "local[1]", "--k", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "custseg", *args, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = proc.stderr
    assert "engine   run runs on Apache Spark (local[1])" in said
    assert "on Spark 4" in said
    for noise in ("WARN ", "Setting default log level", "log4j profile", "NativeCodeLoader"):
        assert noise not in said, said[:2000]


def test_the_engine_line_names_the_default_master(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custseg.cli import _say_engine

    for name in ("SPARK_MASTER", "PYSPARK_GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(None, {"engine": {"name": "spark"}})
    with caplog.at_level("INFO", logger="custseg"):
        _say_engine(settings, "cohorts")
        monkeypatch.setenv("SPARK_MASTER", "spark://h:7077")
        _say_engine(settings, "cohorts")
    assert [r.getMessage() for r in caplog.records] == [
        "engine   cohorts runs on Apache Spark (local[*], PySpark's default master)",
        "engine   cohorts runs on Apache Spark (SPARK_MASTER=spark://h:7077)",
    ]


def test_a_users_own_spark_logging_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyspark import SparkContext

    from custseg.spark import _starts_jvm

    monkeypatch.setattr(SparkContext, "_active_spark_context", None)  # no JVM running here
    for name in ("PYSPARK_GATEWAY_PORT", "PYSPARK_SUBMIT_ARGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert _starts_jvm()  # custseg's quiet profile is used
    (tmp_path / "spark-defaults.conf").write_text("spark.master local[2]\n")
    assert _starts_jvm()
    (tmp_path / "spark-defaults.conf").write_text("spark.driver.extraJavaOptions -Dx=1\n")
    assert not _starts_jvm()  # the user's driver options stand
    (tmp_path / "spark-defaults.conf").unlink()
    (tmp_path / "log4j2.properties").write_text("rootLogger.level = info\n")
    assert not _starts_jvm()  # the user's own profile
    (tmp_path / "log4j2.properties").unlink()
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "4242")
    assert not _starts_jvm()  # spark-submit started the JVM
