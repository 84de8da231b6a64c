"""The command line: outputs, messages, exit codes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_run_writes_outputs_and_prints_the_summary(synthetic: Path, tmp_path: Path) -> None:
    result = _run("run", str(synthetic), "--out", str(tmp_path), "--k", "4")
    assert result.exit_code == 0, result.output
    assert "Customer segments" in result.stdout and "Champions" in result.stdout
    assert "Why k=4: k=4 was set by the user (--k)." in result.stdout
    for stage in ("ingest", "clean", "rfm", "k-select", "segment", "outputs"):
        assert re.search(rf"^{stage}\s", result.stderr, re.M), stage
    assert re.search(r"^clean .*\(\d+\.\d\d s\)$", result.stderr, re.M)
    assert (tmp_path / "customers.csv").is_file()


def test_quiet_silences_stage_logs(synthetic: Path, tmp_path: Path) -> None:
    result = _run("run", str(synthetic), "--out", str(tmp_path), "--quiet", "--k", "3")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Champions" in result.stdout


def test_options_reach_the_pipeline(tiny_csv: Path, tmp_path: Path) -> None:
    result = _run(
        "run",
        str(tiny_csv),
        "--out",
        str(tmp_path / "out"),
        "--as-of",
        "2011-01-12",
        "--drop-duplicates",
        "--k",
        "2",
        "--customer-col",
        "customerid",
        "--seed",
        "3",
    )
    assert result.exit_code == 0, result.output
    quality = json.loads((tmp_path / "out" / "data_quality.json").read_text())
    assert quality["as_of"] == "2011-01-12T00:00:00" and quality["as_of_source"] == "option"
    assert quality["dropped"]["duplicate_row"] == 1
    assert quality["input"]["mapping"]["customer"] == "CustomerID"
    model = json.loads((tmp_path / "out" / "model.json").read_text())
    assert model["seed"] == 3 and model["k"] == 2


def test_config_file_is_used(tiny_csv: Path, tmp_path: Path) -> None:
    conf = tmp_path / "p.yml"
    conf.write_text("model:\n  k: 2\n  k_max: 2\ncleaning:\n  drop_duplicates: true\n")
    result = _run("run", str(tiny_csv), "--out", str(tmp_path / "o"), "--config", str(conf))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "data_quality.json").read_text())["rows_kept"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.csv"], r"Input file missing.csv does not exist"),
        (
            ["run", "{tiny}", "--customer-col", "Klient"],
            r"column 'Klient' \(--customer-col\) not found",
        ),
        (["run", "{tiny}", "--k", "3"], r"--k 3 is not smaller than the 3 customers"),
        (["run", "{tiny}", "--k", "lots"], r"k must be 'auto' or an integer, got 'lots'"),
        (["run", "{tiny}", "--as-of", "yesterday"], r"as_of must be a date"),
        (["run", "{tiny}", "--decimal", ";"], r"Invalid value for --decimal: "),
        (["run", "{tiny}", "--encoding", "klingon"], r"Unknown --encoding 'klingon'"),
        (
            ["run", "{tiny}", "--as-of", "2010-01-01"],
            r"all 6 rows that pass the cleaning rules are at or after the as-of date 2010-01-01 "
            r"00:00, so no purchase comes before it: choose a later --as-of",
        ),
        (["run", "{garbage}"], r"not a valid \.xlsx file"),
        (["run", "{tiny}", "--config", "{badconf}"], r"unknown parameter 'modell'"),
        (
            ["clv", "{tiny}", "--discount-rate", "5"],
            r"Invalid value for --discount-rate: 5\.0 \(the yearly rate as a fraction from 0 "
            r"to 1: use 0\.1 for 10%\)\.",
        ),
        (["run", "{junk}"], r"it holds binary bytes, not text"),
        (["run", "{tiny}", "--config", "{baddate}"], r"invalid value for 'as_of': .*2011-13-01"),
    ],
)
def test_user_errors_exit_2_with_one_sentence(
    args: list[str], message: str, tiny_csv: Path, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"PK\x03\x04not really a zip")
    badconf = tmp_path / "bad.yml"
    badconf.write_text("modell: {}\n")
    baddate = tmp_path / "date.yml"
    baddate.write_text("as_of: 2011-13-01\n")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)))
    out = tmp_path / "out"
    named = {"garbage": garbage, "badconf": badconf, "baddate": baddate, "junk": junk}
    filled = [a.format(tiny=tiny_csv, **named) for a in args]
    result = _run(*filled, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert re.search(message, result.stderr), result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_console_script_error_has_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("custseg")
    proc = subprocess.run(
        [str(exe), "run", str(tmp_path / "nope.parquet"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "error: Input file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("stream", ["both", "stdout"])
def test_a_reader_that_stops_early_does_not_stop_the_command(
    synthetic: Path, tmp_path: Path, stream: str
) -> None:
    # `custseg run ... 2>&1 | head -1` (both) and `custseg run ... | head -1` (stdout): the
    # reader leaves after one line; the command's next writes meet a broken pipe.
    exe = Path(sys.executable).with_name("custseg")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(exe), "run", str(synthetic), "--k", "3", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if stream == "both" else subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=300) == 0
    assert first.startswith(b"input:" if stream == "both" else b"Customer segments")
    written = json.loads((out / ".custseg-outputs.json").read_text())["files"]
    assert {"customers.csv", "report.html", "model.json"} <= set(written)
    assert all((out / name).is_file() for name in written)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--seed", "abc"], "error: Invalid value for '--seed': Input should be a valid"),
        (["run", "--bogus"], "error: No such option: --bogus"),
        # Suggestions alike by their words: --frobnicate is not --force for sharing '--f'.
        (
            ["run", "--frobnicate"],
            "error: No such option: --frobnicate (see 'custseg run --help').",
        ),
        (["run", "--sed"], "error: No such option: --sed (Possible options: --seed) (see"),
        (["frob"], "error: No such command 'frob' (see 'custseg --help')."),
    ],
)
def test_usage_mistakes_are_one_line_exit_2(args: list[str], message: str) -> None:
    exe = Path(sys.executable).with_name("custseg")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "╭" not in proc.stderr


def test_no_input_uses_the_synthetic_default_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "parameters.yml").write_text("synthetic_customers: 400\n")
    result = _run("run")
    assert result.exit_code == 0, result.output
    assert "synthetic default (400 customers, seed 0)" in result.stderr
    assert "data/raw/online-retail.xlsx is absent" in result.stderr
    assert result.stdout.startswith("Customer segments of the synthetic default data")
    # Even --quiet says so: results of made-up data must not pass for the user's.
    quiet = _run("run", "-q", "--force")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr.startswith("input: synthetic default (400 customers, seed 0)")
    assert len(quiet.stderr.strip().splitlines()) == 1
    assert quiet.stdout.startswith("Customer segments of the synthetic default data")
    quality = json.loads((tmp_path / "data" / "processed" / "data_quality.json").read_text())
    assert quality["input"]["path"] == "data/interim/synthetic-orders.parquet"


def test_synth_command(tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    result = _run("synth", "--customers", "40", "--seed", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "s_truth.csv").is_file()
    assert "latent types in" in result.stderr


def test_make_help_lists_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):.*## ", makefile, re.M))
    phony = set(re.search(r"^\.PHONY: (.*)$", makefile, re.M).group(1).split())  # type: ignore[union-attr]
    assert targets == phony
    proc = subprocess.run(
        ["make", "-s", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    listed = {
        line.split()[0]
        for line in re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout).splitlines()
        if line.strip()
    }
    assert listed == targets


def test_unexpected_failure_is_one_line_exit_1(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import custseg.commands.run

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(custseg.commands.run, "segment", boom)
    result = _run("run", str(synthetic), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "internal error: RuntimeError: disk on fire. No output was changed" in result.stderr
    assert "second line" not in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_progress_bars_in_a_terminal(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    import custseg.cli.console

    screen = io.StringIO()
    monkeypatch.setattr(
        custseg.cli.console, "err", Console(file=screen, force_terminal=True, width=120)
    )
    result = _run("run", str(synthetic), "--out", str(tmp_path), "--k-max", "5")
    assert result.exit_code == 0, result.output
    text = screen.getvalue()
    assert "K-Means for k=2..5" in text and "reading orders.parquet" in text
    assert "k-select scored k=2..5; k=4 chosen by the auto rule" in text


def test_kept_returns_that_make_spend_negative_are_refused(tiny_csv: Path, tmp_path: Path) -> None:
    result = _run(
        "run", str(tiny_csv), "--out", str(tmp_path / "out"), "--keep-returns", "--k", "2"
    )
    assert result.exit_code == 2
    assert "1 customer(s) have a total spend <= 0 (e.g. customer 4: -8)" in result.stderr


def test_rule_switches_are_applied_and_recorded(tiny_csv: Path, tmp_path: Path) -> None:
    result = _run(
        "run", str(tiny_csv), "--out", str(tmp_path / "o"), "--keep-non-positive-price", "--k", "2"
    )
    assert result.exit_code == 0, result.output
    quality = json.loads((tmp_path / "o" / "data_quality.json").read_text())
    # 1007 (price 0, customer 3) is now kept: 7 rows.
    assert quality["rows_kept"] == 7 and quality["dropped"]["non_positive_price"] == 0
    assert {r["reason"]: r["applied"] for r in quality["rules"]}["non_positive_price"] is False


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("customer,date,amount\n", [], r"has no data rows \(only a header\)"),
        (
            "customer,date,amount\na,2020-01-01,1\na,2020-01-03,5\n",
            [],
            r"only 1 customer\(s\) left after cleaning; segmentation needs at least 3",
        ),
        (
            "customer,date,amount\na,2020-01-01,1\nb,2020-01-01,1\nc,2020-01-01,1\n",
            [],
            r"every customer left after cleaning has the same recency, frequency and spend",
        ),
        (
            "customer,date,amount\na,2020-01-01,1\nb,2020-01-01,1\nc,2020-01-02,5\nd,2020-01-02,5\n",
            ["--k", "3"],
            r"--k 3 is more than the 2 distinct customer profiles",
        ),
        (
            "customer,date,amount\na,2020-01-01,1\n",
            ["--customer-col", "amount"],
            r"column 'amount' is given two roles \(customer and amount\)",
        ),
        (
            "customer,date,amount\na,tuesday 10:00,1\n",
            [],
            r"0 valid purchases left after cleaning 1 row \(1 invalid date\); e\.g\. a row "
            r"counted as invalid date has customer 'a', date 'tuesday 10:00', amount '1': "
            r"check --date-format",
        ),
        (
            "customer,date,amount\na,12/02/2011 10:00,1\n",
            [],
            r"dates in column 'date' such as '12/02/2011 10:00' read both day-first and "
            r"month-first; say which with --date-format",
        ),
    ],
)
def test_more_user_errors(tmp_path: Path, text: str, args: list[str], message: str) -> None:
    path = _csv(tmp_path, "orders.csv", text)
    result = _run("run", str(path), "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2, result.output
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.output


def test_out_is_a_file(tiny_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    for command in ("run", "cohorts", "clv"):
        result = _run(command, str(tiny_csv), "--out", str(target), "--k", "2")
        assert result.exit_code == 2 and "is a file; give a folder" in result.stderr
        # Refused before any work: no stage ran (it was refused after the whole run).
        assert "clean " not in result.stderr and "k-select" not in result.stderr, result.stderr
    assert target.read_text() == "x"
    # A folder under the file cannot be made: refused before any work too.
    result = _run("run", str(tiny_csv), "--out", str(target / "sub" / "out"), "--k", "2")
    assert result.exit_code == 2, result.output
    assert f"--out {target / 'sub' / 'out'} cannot be made: {target} is a file; give a " in (
        " ".join(result.stderr.split())
    )
    assert "clean " not in result.stderr


def test_decimal_comma_refuses_dot_decimals_and_gzip_is_read_from_content(tmp_path: Path) -> None:
    import gzip

    text = (
        "customer;date;amount\na;2020-01-01 10:00:00;45.8\nb;2020-01-02 10:00:00;1.234,5\n"
        "c;2020-01-03 10:00:00;12,5\nd;2020-01-04 10:00:00;3\n"
    )
    path = tmp_path / "eu.csv"  # gzip content under a plain .csv name
    path.write_bytes(gzip.compress(text.encode()))
    result = _run("run", str(path), "--out", str(tmp_path / "o"), "--decimal", ",", "--k", "2")
    assert result.exit_code == 0, result.output
    quality = json.loads((tmp_path / "o" / "data_quality.json").read_text())
    # 45.8 is not a decimal-comma number: counted invalid, not read as 458.
    assert quality["dropped"]["invalid_amount"] == 1
    assert quality["examples"]["invalid_amount"][0]["amount"] == "45.8"
    assert quality["revenue"] == 1234.5 + 12.5 + 3
    assert quality["orders"] == 3  # no invoice column: distinct (customer, timestamp)
    assert quality["input"]["reader_options"]["compression"] == "gzip"


def test_transcoded_copies_are_removed(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(tiny_csv.read_text().replace("UK", "Bénin").encode("cp1252"))
    result = _run(
        "run", str(latin), "--out", str(tmp_path / "o"), "--encoding", "cp1252", "--k", "2"
    )
    assert result.exit_code == 0, result.output
    assert list(scratch.iterdir()) == []
    options = json.loads((tmp_path / "o" / "data_quality.json").read_text())["input"][
        "reader_options"
    ]
    assert options["transcoded_from"] == "cp1252"


def test_a_date_format_a_csv_reader_used_is_not_said_to_be_ignored(tmp_path: Path) -> None:
    # The reader typed the column with the format, and the note said it was ignored.
    from custseg.synth import generate_orders

    lines, _ = generate_orders(40, 2)
    lines["InvoiceDate"] = lines["InvoiceDate"].dt.strftime("%d/%m/%Y %H:%M")
    path = tmp_path / "days-first.csv"
    lines.to_csv(path, index=False)
    result = _run("run", str(path), "--out", str(tmp_path / "o"), "--date-format", "%d/%m/%Y %H:%M")
    assert result.exit_code == 0, result.output
    assert "date-format" not in result.stderr
    quality = json.loads((tmp_path / "o" / "data_quality.json").read_text())
    assert quality["input"]["reader_options"]["timestampformat"] == "%d/%m/%Y %H:%M"


def test_ignored_options_are_said(real_parquet: Path, tmp_path: Path) -> None:
    result = _run(
        "run",
        str(real_parquet),
        "--out",
        str(tmp_path),
        "--sheet",
        "X",
        "--date-format",
        "%d",
        "--k",
        "3",
        "--k-max",
        "3",
        "--spark-master",
        "local[2]",
    )
    assert result.exit_code == 0, result.output
    assert "--sheet is ignored: " in result.stderr and "is a parquet file" in result.stderr
    assert (
        "--date-format (csv.date_format) is ignored: column 'InvoiceDate' already holds "
        "timestamp values (as the reader typed it)" in " ".join(result.stderr.split())
    )
    assert "--spark-master is ignored: the engine is DuckDB" in result.stderr
    assert "--k-max is ignored: --k = 3: only that k is scored" in result.stderr
    config = tmp_path / "k.yml"
    config.write_text("model:\n  k: 4\n")
    out = tmp_path / "from-config"
    result = _run(
        "run", str(real_parquet), "--out", str(out), "--config", str(config), "--k-min", "3"
    )
    assert result.exit_code == 0, result.output
    assert "--k-min is ignored: k in the config file = 4: only that k is scored" in result.stderr
    # With a saved model nothing is fitted and its cleaning rules hold.
    result = _run(
        "cohorts",
        str(real_parquet),
        "--out",
        str(tmp_path / "cohorts"),
        "--model",
        str(tmp_path / "model.json"),
        "--k",
        "4",
        "--seed",
        "1",
        "--keep-cancelled",
    )
    assert result.exit_code == 0, result.output
    assert "--k, --seed are ignored: the personas come from the model" in result.stderr
    assert "--keep-cancelled is ignored: the model's own cleaning rules" in result.stderr


def test_a_mass_drop_stops_the_run_until_allowed(synthetic: Path, tmp_path: Path) -> None:
    # Invoices ending 0-7 read as cancellations: about 80% of the lines that reach the rule.
    args = ["run", str(synthetic), "--k", "3", "--cancelled-pattern", "[0-9]*[0-7]"]
    stopped = _run(*args, "--out", str(tmp_path / "a"))
    assert stopped.exit_code == 2
    assert re.search(
        r"the rule cancelled_invoice drops [\d,]+ of the [\d,]+ rows that reach it \(\d+%\); "
        r"e\.g\. InvoiceNo '\d+' and '\d+'\. The data may be read wrong: --cancelled-pattern",
        stopped.output,
    ), stopped.output
    assert not (tmp_path / "a").exists()
    allowed = _run(*args, "--allow-large-drops", "--out", str(tmp_path / "b"))
    assert allowed.exit_code == 0, allowed.output
    quality = json.loads((tmp_path / "b" / "data_quality.json").read_text())
    reaching = quality["rows_read"] - quality["dropped"]["missing_customer_id"]
    assert quality["dropped"]["cancelled_invoice"] * 2 > reaching
    assert f"of the {reaching:,} rows that reach it" in stopped.output


def test_shop_exports_run_without_flags(tmp_path: Path) -> None:
    from tests.io.exports import SHOPIFY, WOOCOMMERCE

    shop = tmp_path / "orders_export.csv"
    shop.write_text(SHOPIFY)
    result = _run("run", str(shop), "--out", str(tmp_path / "s"), "--k", "2")
    assert result.exit_code == 0, result.output
    assert "layout   Shopify orders export (recognised by its header)" in result.stderr
    assert "time     times with UTC offsets read as instants; calendar in UTC" in result.stderr
    assert "currency USD (the one currency of the file)" in result.stderr
    assert "7 of 9 rows kept; dropped: cancelled_order 2" in result.stderr
    quality = json.loads((tmp_path / "s" / "data_quality.json").read_text())
    assert (quality["input"]["layout"], quality["input"]["currency"]) == ("shopify", "USD")
    report = (tmp_path / "s" / "report.html").read_text()
    assert (
        "Input read as: the Shopify orders export layout; spend in USD; times with UTC "
        "offsets read as instants, calendar in UTC." in report
    )
    woo = tmp_path / "woo.csv"
    woo.write_text(WOOCOMMERCE)
    result = _run("run", str(woo), "--out", str(tmp_path / "w"), "--k", "2")
    assert result.exit_code == 2
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: ") and error.endswith("Choose one with --currency EUR.")
    result = _run(
        "run", str(woo), "--out", str(tmp_path / "w"), "--currency", "EUR", "--k", "2",
        "--layout", "woocommerce", "--timezone", "Europe/Paris",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "currency EUR (--currency); 1 lines in others left out" in result.stderr
    assert "--timezone is ignored: the times carry no UTC offset" in result.stderr
    result = _run("run", str(woo), "--out", str(tmp_path / "w"), "--layout", "shopify")
    assert result.exit_code == 2 and "--layout shopify needs the columns" in result.stderr


def test_an_out_folder_holding_the_input_is_refused(tiny_csv: Path, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    source = exports / "customers.csv"
    source.write_bytes(tiny_csv.read_bytes())
    before = source.read_bytes()
    for command in ("run", "cohorts", "clv"):
        result = _run(command, str(source), "--out", str(exports))
        assert result.exit_code == 2, (command, result.output)
        assert f"--out {exports} holds the input {source}" in result.stderr
    assert source.read_bytes() == before and sorted(exports.iterdir()) == [source]
    # A folder read as input (Spark reads folders) cannot hold the outputs either.
    result = _run("run", str(exports), "--out", str(exports / "out"))
    assert result.exit_code == 2
    assert f"--out {exports / 'out'} lies in the input folder {exports}" in result.stderr


def test_an_out_folder_holding_a_model_or_a_run_read_is_refused(
    tiny_csv: Path, tmp_path: Path
) -> None:
    # A model read with --model, a run read by report, a clv folder read by plan: writing
    # the outputs over them would replace what is being read.
    run_dir = tmp_path / "run"
    assert _run("run", str(tiny_csv), "--out", str(run_dir), "--k", "2").exit_code == 0
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    model = run_dir / "model.json"
    for command in ("score", "cohorts", "migrate"):
        args = [command, str(tiny_csv), "--model", str(model), "--out", str(run_dir)]
        if command == "migrate":
            args += ["--as-of", "2011-01-01", "--as-of", "2011-06-01"]
        result = _run(*args)
        assert result.exit_code == 2, (command, result.output)
        assert f"--out {run_dir} holds the input {model}" in result.stderr
    result = _run("report", str(run_dir), "--figures", str(run_dir))
    assert result.exit_code == 2 and f"--figures {run_dir} holds the input" in result.stderr
    campaigns = tmp_path / "campaigns.yml"
    campaigns.write_text("- persona: Champions\n")
    result = _run("plan", str(campaigns), "--clv", str(run_dir), "--out", str(run_dir))
    assert result.exit_code == 2 and f"--out {run_dir} holds the input {run_dir}" in result.stderr
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_a_tilde_out_is_the_home_folder(tiny_csv: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    result = _run("run", str(tiny_csv), "--out", "~/results", "--k", "2")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "results" / "customers.csv").is_file()
    assert not (tmp_path / "~").exists()


def test_the_console_script_prints_everything_and_stops_its_worker_on_leaving(
    synthetic: Path, tmp_path: Path
) -> None:
    exe = Path(sys.executable).with_name("custseg")
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(exe), "run", str(synthetic), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "CUSTSEG_WORKER"},
    )
    assert proc.returncode == 0, proc.stderr
    # The summary and the last line, written just before the process leaves, are all there.
    assert "Customer segments" in proc.stdout
    # Into a pipe, without the spaces Rich pads a table's lines with to its width.
    padded = [line for line in proc.stdout.splitlines() if line.endswith(" ")]
    assert not padded and "  0   " in proc.stdout, padded
    assert proc.stdout.rstrip().splitlines()[-1].rstrip().endswith(").")
    assert json.loads((out / "run_log.json").read_text())["fitting_process"] == "a forked worker"
    # The worker left with it: no process is left whose parent was the command.
    children = subprocess.run(
        ["pgrep", "-f", f"custseg run {synthetic}"], capture_output=True, text=True, check=False
    )
    assert children.stdout.strip() == ""


@pytest.mark.parametrize("thread", [False, True], ids=["plain", "a-thread-still-running"])
def test_leaving_runs_the_exit_handlers_flushes_and_keeps_the_code(
    tmp_path: Path, thread: bool
) -> None:
    marker = tmp_path / "handler-ran"
    script = tmp_path / "leave.py"
    script.write_text(
        "import atexit, pathlib, sys, threading, time\n"
        "from custseg.cli.console import leave\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('yes'))\n"
        + (
            "threading.Thread(target=lambda: (time.sleep(0.5), print('thread done'))).start()\n"
            if thread
            else ""
        )
        + "sys.stdout.write('no newline, buffered')\n"
        "leave(3)\n",
        encoding="utf-8",
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 3
    assert proc.stdout.startswith("no newline, buffered")
    assert marker.read_text() == "yes"
    # A thread that still runs is waited for, as a normal exit would.
    assert ("thread done" in proc.stdout) is thread


def test_running_out_of_memory_names_the_option(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In the scan: DuckDB stops at its limit (not "the file may be damaged").
    result = _run(
        "run", str(synthetic), "--drop-duplicates", "--memory-limit", "1MB",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    said = result.stderr.replace("\n", "")
    assert f"error: {synthetic}: the engine ran out of its memory limit (" in said
    assert "raise it with --memory-limit (engine.memory_limit), e.g. --memory-limit 4GB" in said
    assert "damaged" not in said and not (tmp_path / "o").exists()

    # Anywhere else (a later stage, or Python itself): the same advice, not "internal error".
    import duckdb

    import custseg.commands.run

    def full(*args: object, **kwargs: object) -> None:
        raise duckdb.OutOfMemoryException("Out of Memory Error: (1.0 GiB/1.0 GiB used)\nmore")

    monkeypatch.setattr(custseg.commands.run, "segment", full)
    result = _run("run", str(synthetic), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "error: the engine ran out of its memory limit (1.0 GiB/1.0 GiB used); raise" in (
        result.stderr.replace("\n", "")
    )
    assert "internal error" not in result.stderr

    def python_full(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(custseg.commands.run, "segment", python_full)
    result = _run("run", str(synthetic), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "error: ran out of memory; free some memory or run it on a larger machine." in (
        result.stderr.replace("\n", " ")
    )
