"""Every command's outputs on the real data, pinned byte for byte before the code moves.

The pinned files live in ``tests/golden/<scenario>.json.gz`` (text of each output; the
plotly.js bundle inside HTML pages is replaced by its SHA-256, Parquet files by theirs).
``CUSTSEG_UPDATE_GOLDEN=1 pytest tests/e2e/test_golden.py`` rewrites them; a change to a
pinned file is a change of behaviour and its commit says why.

On another machine (a different CPU or library build) the last digits of floating-point
results may differ: the comparison is then numeric, to 1e-9 relative, for CSV and JSON
files, and HTML pages are compared with their embedded figure data left out. The platform
names the CPU's vector extensions: numpy's exp and log differ in the last bit with AVX-512.
The lifetime-value scenarios are compared more loosely there (:func:`compare_ridge`): on the
real data the count models' dropout parameters sit on a flat ridge (BG/NBD's a at its bound,
b free), and a last-bit difference moves the point where the search stops along it (b = 2e4
on an AMD EPYC, 1e6 on an Intel Xeon). Measured between those two: every CSV has the same
rows, columns and text; the point predictions agree to 1e-9 (relative), the intervals,
which draw from the parameters' covariance, to 3e-3. So off the pinned platform every
number of every CSV must agree to 1e-2 (relative, or 1e-6 absolute); the JSON files too,
but for the ridge's own parameters (a, b, s, beta), their standard errors, covariances and
warnings, which say where the search stopped; and the HTML page keeps its headings, table
columns and charts. Only their own platform holds them to the digit.
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
PARQUET = "../shared/data/online_retail.parquet"
XLSX = "../shared/data/online_retail.xlsx"

#: name -> (arguments before --out, files whose content a run makes vary).
SCENARIOS: dict[str, list[str]] = {
    "run": ["run", PARQUET],
    "run_xlsx": ["run", XLSX, "--no-cache"],
    "run_net": ["run", PARQUET, "--returns", "net"],
    "score": ["score", PARQUET, "--model", "{golden_run}/model.json"],
    "migrate": ["migrate", PARQUET, "--as-of", "2011-06-01", "--as-of", "2011-12-10"],
    "clv": ["clv", PARQUET],
    "clv_calibrated": ["clv", PARQUET, "--calibration-end", "2011-09-09"],
    "cohorts": ["cohorts", PARQUET],
}
#: Scenarios run again as a user runs them: a fresh process, which forks the fitting worker
#: (custseg.worker) and must write the same bytes as the test process, which does not.
FORKED = ["run", "cohorts", "migrate", "clv"]
#: Scenarios whose fits stop at a platform-dependent point of a flat ridge (see above).
RIDGE = {"clv", "clv_calibrated"}
#: Files that hold timings or other facts of one run, not results.
VOLATILE = {"run_log.json", "score_log.json"}
_BUNDLE = re.compile(r"<script[^>]*>\s*/\*\*\s*\* plotly\.js.*?</script>", re.S)
# A figure's script, drawn at once or once the page is parsed (DOMContentLoaded).
_FIGURE = re.compile(r"<script[^>]*>(?:(?!</script>).)*?window\.PLOTLYENV.*?</script>", re.S)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def platform_key() -> str:
    """Name what decides the last digits of floating-point results here."""
    import numpy as np
    import sklearn

    cpu = platform.processor() or platform.machine()
    model = vector = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        text = cpuinfo.read_text()
        found = re.search(r"model name\s*:\s*(.*)", text)
        model = found.group(1) if found else ""
        # Two CPUs of one model name can differ in vector width (AVX-512 or not), and numpy's
        # sums then differ in the last bit (silhouettes did, on "AMD EPYC" with and without).
        vector = " ".join(sorted(set(re.findall(r"\b(avx\w*|sse4\w*)\b", text))))
    return f"{cpu}|{model}|{vector}|numpy {np.__version__}|scikit-learn {sklearn.__version__}"


def _normalise(name: str, data: bytes) -> str:
    if name.endswith(".parquet"):
        return "parquet sha256 " + hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8")
    if name.endswith(".html"):
        text = _BUNDLE.sub(
            lambda m: (
                f"<script>plotly.js sha256 {hashlib.sha256(m[0].encode()).hexdigest()}</script>"
            ),
            text,
        )
    return text


def collect(folder: Path) -> dict[str, str]:
    """Return every output under ``folder`` (relative path -> normalised text)."""
    return {
        str(p.relative_to(folder)): _normalise(p.name, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in VOLATILE
    }


def _numbers_close(expected: str, actual: str, rel: float = 1e-9) -> bool:
    """Compare two texts token by token; numbers may differ by ``rel`` (relative)."""
    a_parts, b_parts = _NUMBER.split(expected), _NUMBER.split(actual)
    a_nums, b_nums = _NUMBER.findall(expected), _NUMBER.findall(actual)
    if a_parts != b_parts or len(a_nums) != len(b_nums):
        return False
    return all(
        x == y or abs(float(x) - float(y)) <= rel * max(abs(float(x)), abs(float(y)))
        for x, y in zip(a_nums, b_nums, strict=True)
    )


#: What the ridge leaves free: the dropout parameters of the count models, and what is
#: computed from where the search stopped along it.
RIDGE_FREE = {"a", "b", "s", "beta", "std_errors", "log_cov", "warnings"}
#: Off the pinned platform, the ridge scenarios' numbers agree to this (see above).
RIDGE_RTOL, RIDGE_ATOL = 1e-2, 1e-6
_OUTLINE = re.compile(r"<h[1-3][^>]*>[^<]*</h[1-3]>|<th>[^<]*</th>|<div id=\"fig-[^\"]*\"")


def _close(x: float, y: float) -> bool:
    both_nan = x != x and y != y
    return both_nan or abs(x - y) <= RIDGE_ATOL + RIDGE_RTOL * max(abs(x), abs(y))


def _json_close(want: object, got: object, path: str = "") -> list[str]:
    """Where two JSON values differ beyond the ridge's tolerance (free keys skipped)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if set(want) != set(got):
            return [f"{path}: keys {sorted(want)} != {sorted(got)}"]
        return [
            problem
            for key in want
            if key not in RIDGE_FREE
            for problem in _json_close(want[key], got[key], f"{path}/{key}")
        ]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [
            p
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            for p in _json_close(w, g, f"{path}[{i}]")
        ]
    numbers = (int, float)
    if isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(want, bool):
        return [] if _close(float(want), float(got)) else [f"{path}: {want} != {got}"]
    if isinstance(want, str) and isinstance(got, str):
        a_parts, b_parts = _NUMBER.split(want), _NUMBER.split(got)
        a_nums, b_nums = _NUMBER.findall(want), _NUMBER.findall(got)
        same = a_parts == b_parts and all(
            _close(float(x), float(y)) for x, y in zip(a_nums, b_nums, strict=True)
        )
        return [] if same else [f"{path}: {want!r} != {got!r}"]
    return [] if want == got else [f"{path}: {want!r} != {got!r}"]


def _csv_close(name: str, want: str, got: str) -> list[str]:
    """Where two CSV files differ: rows, columns, text, or numbers beyond the tolerance."""
    a = pd.read_csv(io.StringIO(want), dtype=str, keep_default_na=False)
    b = pd.read_csv(io.StringIO(got), dtype=str, keep_default_na=False)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return [f"{name}: columns or rows differ ({a.shape} != {b.shape})"]
    problems = []
    for column in a.columns:
        for row, (x, y) in enumerate(zip(a[column], b[column], strict=True)):
            if x == y:
                continue
            if not (_NUMBER.fullmatch(x) and _NUMBER.fullmatch(y) and _close(float(x), float(y))):
                problems.append(f"{name}: row {row} {column}: {x!r} != {y!r}")
                break
    return problems


def compare_ridge(pinned: dict[str, str], now: dict[str, str]) -> list[str]:
    """:func:`compare` for a ridge scenario off its pinned platform (see the module's doc)."""
    if set(pinned) != set(now):
        return [f"files differ: {sorted(set(pinned) ^ set(now))}"]
    problems: list[str] = []
    for name in sorted(pinned):
        want, got = pinned[name], now[name]
        if want == got:
            continue
        if name.endswith(".csv"):
            problems += _csv_close(name, want, got)
        elif name.endswith(".json"):
            problems += [f"{name}: {p}" for p in _json_close(json.loads(want), json.loads(got))]
        elif name.endswith(".html"):
            if _OUTLINE.findall(want) != _OUTLINE.findall(got):
                problems.append(f"{name}: headings, table columns or charts differ")
        else:
            problems.append(_diff(name, want, got))
    return problems


def _diff(name: str, expected: str, actual: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), f"pinned/{name}", f"now/{name}", lineterm=""
    )
    return "\n".join(line[:300] for line in list(lines)[:40])


def compare(pinned: dict[str, str], now: dict[str, str], same_platform: bool) -> list[str]:
    """Return one message per file that differs (empty when everything matches)."""
    problems = []
    for name in sorted(set(pinned) | set(now)):
        if name not in now or name not in pinned:
            problems.append(f"{name}: {'missing now' if name not in now else 'new file'}")
            continue
        want, got = pinned[name], now[name]
        if want == got:
            continue
        if not same_platform:
            if name.endswith(".html"):
                if _FIGURE.sub("", want) == _FIGURE.sub("", got):
                    continue
            elif _numbers_close(want, got):
                continue
        problems.append(_diff(name, want, got))
    return problems


def _load(name: str) -> dict[str, object]:
    with gzip.open(GOLDEN / f"{name}.json.gz", "rt", encoding="utf-8") as fh:
        data: dict[str, object] = json.load(fh)
    return data


def _save(name: str, files: dict[str, str]) -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # mtime=0: the same outputs give the same bytes.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as fh:
        fh.write(json.dumps({"platform": platform_key(), "files": files}, indent=0).encode())
    (GOLDEN / f"{name}.json.gz").write_bytes(buffer.getvalue())


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run every scenario once, from the repository root (paths in the outputs are relative)."""
    out = tmp_path_factory.mktemp("golden")
    runner = CliRunner()
    folders: dict[str, Path] = {}
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        for name, args in SCENARIOS.items():
            folder = out / name
            filled = [a.format(golden_run=out / "run") for a in args]
            result = runner.invoke(app, [*filled, "--out", str(folder), "--quiet"])
            assert result.exit_code == 0, f"{name}: {result.output}"
            folders[name] = folder
    finally:
        os.chdir(cwd)
    return folders


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_outputs_match_the_pinned_ones(name: str, produced: dict[str, Path]) -> None:
    now = collect(produced[name])
    if os.environ.get("CUSTSEG_UPDATE_GOLDEN"):
        _save(name, now)
        pytest.skip(f"rewrote tests/golden/{name}.json.gz")
    pinned = _load(name)
    files = pinned["files"]
    assert isinstance(files, dict)
    same = pinned["platform"] == platform_key()
    problems = (
        compare_ridge(files, now) if not same and name in RIDGE else compare(files, now, same)
    )
    assert not problems, f"{name}: outputs differ from the pinned ones\n" + "\n\n".join(problems)


def test_customers_parquet_holds_what_customers_csv_says(produced: dict[str, Path]) -> None:
    folder = produced["run"]
    csv = pd.read_csv(folder / "customers.csv", dtype={"customer_id": str, "rfm_code": str})
    parquet = pd.read_parquet(folder / "customers.parquet")
    pd.testing.assert_frame_equal(parquet, csv, check_dtype=False)
    # The workbook and its Parquet twin give the same file, column types included (number
    # ids read from Parquet were once written as Arrow string, the workbook's as large_string).
    from_workbook = produced["run_xlsx"] / "customers.parquet"
    assert from_workbook.read_bytes() == (folder / "customers.parquet").read_bytes()


@pytest.mark.skipif(sys.platform != "linux", reason="the fitting worker forks on Linux only")
@pytest.mark.parametrize("name", FORKED)
def test_a_command_whose_fits_run_in_the_worker_writes_the_pinned_outputs(
    name: str, tmp_path: Path
) -> None:
    pinned = _load(name)
    same = pinned["platform"] == platform_key()
    folder = tmp_path / name
    env = {k: v for k, v in os.environ.items() if k != "CUSTSEG_WORKER"}
    done = subprocess.run(
        [sys.executable, "-m", "custseg", *SCENARIOS[name], "--out", str(folder), "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if name != "migrate":  # migration_log.json records no process facts
        log = json.loads((folder / "run_log.json").read_text())
        assert log["fitting_process"] == "a forked worker"
    files = pinned["files"]
    assert isinstance(files, dict)
    now = collect(folder)
    problems = (
        compare_ridge(files, now) if not same and name in RIDGE else compare(files, now, same)
    )
    assert not problems, f"{name}: outputs differ from the pinned ones\n" + "\n\n".join(problems)


def test_the_ridge_comparison_lets_only_the_ridge_move() -> None:
    csv = "customer_id,persona,clv\n1,Champions,100.0\n2,Hibernating,0.5\n"
    params = {"r": 0.72, "a": 1e-6, "b": 20072.7, "warnings": ["b is flat"], "choice": "bg_nbd"}
    html = '<h2>Parameters</h2><th>Estimate</th><div id="fig-clv_deciles"><td>20,073</td>'
    pinned = {"clv.csv": csv, "clv_params.json": json.dumps(params), "clv.html": html}
    # The ridge moved: b, its warning and the table cell showing it; the rest by 1e-3.
    moved = dict(params, r=0.72072, b=999998.6, warnings=["b is at its bound"])
    now = {
        "clv.csv": csv.replace("100.0", "100.1"),
        "clv_params.json": json.dumps(moved),
        "clv.html": html.replace("20,073", "999,999"),
    }
    assert compare_ridge(pinned, now) == []
    # What is not the ridge must still hold.
    assert compare_ridge(pinned, dict(now, **{"clv.csv": csv.replace("100.0", "103.0")})) == [
        "clv.csv: row 0 clv: '100.0' != '103.0'"
    ]
    assert compare_ridge(pinned, dict(now, **{"clv.csv": csv.replace("Champions", "Loyal")}))
    assert compare_ridge(pinned, dict(now, **{"clv.csv": csv + "3,Loyal,1.0\n"}))
    chosen = json.dumps(dict(moved, choice="pareto_nbd"))
    assert compare_ridge(pinned, dict(now, **{"clv_params.json": chosen})) == [
        "clv_params.json: /choice: 'bg_nbd' != 'pareto_nbd'"
    ]
    shifted = json.dumps(dict(moved, r=0.8))
    assert compare_ridge(pinned, dict(now, **{"clv_params.json": shifted})) == [
        "clv_params.json: /r: 0.72 != 0.8"
    ]
    no_chart = html.replace("fig-clv_deciles", "fig-other")
    assert compare_ridge(pinned, dict(now, **{"clv.html": no_chart}))
    assert compare_ridge(pinned, {"clv.csv": csv})
