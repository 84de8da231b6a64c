"""The dashboard in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from custseg.synth import generate_orders

from .conftest import ROOT

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "reports" / "test-artifacts"
SCREENSHOT_DOC = ROOT / "docs" / "dashboard.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian chromium is not installed (CI installs it)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_factory(app_home: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str) -> str:
        port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            *extra,
        ]
        log = open(app_home / f"streamlit-{port}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(cmd, cwd=app_home, stdout=log, stderr=subprocess.STDOUT)
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                    if resp.read() == b"ok":
                        return url
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not become healthy; see {log.name}")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_idle(page: object, timeout: float = 90_000) -> None:
    """Wait until the script has finished and nothing is still loading."""
    page.wait_for_timeout(400)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-testid="stSkeleton"]')
                && !document.querySelector('[data-testid="stStatusWidget"]')
                && !document.querySelector('[data-testid="stSpinner"]');
        }""",
        timeout=timeout,
    )


def full_screenshot(page: object, path: Path) -> None:
    """Screenshot the whole page: Streamlit scrolls inside stMain, so grow the viewport."""
    height = page.evaluate(  # type: ignore[attr-defined]
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 8000)})  # type: ignore[attr-defined]
    wait_idle(page)
    page.wait_for_timeout(800)  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]


def _metric(page: object, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]', has_text=label).first  # type: ignore[attr-defined]
    return str(card.locator('[data-testid="stMetricValue"]').inner_text())


def test_cards_upload_download_and_screenshot(server_factory, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = server_factory()
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(url)
    wait_idle(page)
    assert _metric(page, "Customers") == "600"
    page.get_by_role("tab", name="Segments").click()
    wait_idle(page)
    cards = page.get_by_text("Suggested action:")
    assert cards.count() == 4
    for persona in ("Champions", "At Risk", "New Customers", "Hibernating"):
        # (the Overview's summary names them too, in its hidden tab)
        assert page.get_by_text(persona, exact=True).filter(visible=True).first.is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    full_screenshot(page, ARTIFACTS / "dashboard-segments.png")
    if os.environ.get("CUSTSEG_UPDATE_DOCS"):
        shutil.copyfile(ARTIFACTS / "dashboard-segments.png", SCREENSHOT_DOC)
        # The tabs the picture shows, which tests/dashboard/test_apptest.py compares with
        # the app's: a new tab fails that test until the picture is made again.
        tabs = [t.inner_text().strip() for t in page.get_by_role("tab").all()]
        SCREENSHOT_DOC.with_suffix(".tabs").write_text("\n".join(tabs) + "\n")
    page.set_viewport_size({"width": 1400, "height": 1000})

    # Upload a small CSV through the real file uploader: the figures change.
    lines, _ = generate_orders(120, seed=5)
    upload = tmp_path / "shop.csv"
    lines.to_csv(upload, index=False)
    expected = lines["CustomerID"].dropna().nunique()
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    dropzone = page.locator(".st-key-upload").get_by_test_id("stFileUploaderDropzoneInput")
    dropzone.set_input_files(str(upload))
    page.get_by_text("Uploaded file: shop.csv").wait_for(timeout=90_000)
    wait_idle(page)
    page.get_by_role("tab", name="Overview").click()
    wait_idle(page)  # only the open tab is drawn: wait for the Overview's rerun
    assert _metric(page, "Customers") == f"{expected:,}"

    page.get_by_role("tab", name="Customers").click()
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="All assignments (CSV)").click()
    saved = tmp_path / "downloaded.csv"
    info.value.save_as(saved)
    header = saved.read_text().splitlines()[0]
    assert header == (
        "customer_id,recency_days,frequency,monetary,cluster,persona,"
        "r_score,f_score,m_score,rfm_code,rfm_segment"
    )
    assert len(saved.read_text().splitlines()) == expected + 1
    full_screenshot(page, ARTIFACTS / "dashboard-customers.png")
    page.close()


def test_upload_size_limit(server_factory, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The same mechanism as the documented 200 MB limit (.streamlit/config.toml), set to 1 MB.
    url = server_factory("--server.maxUploadSize", "1")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    wait_idle(page)
    page.get_by_text("Upload a file").click()
    wait_idle(page)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (1024 * 1024 + 1024))
    dropzone = page.locator(".st-key-upload").get_by_test_id("stFileUploaderDropzoneInput")
    dropzone.set_input_files(str(big))
    page.get_by_text("File must be 1.0MB or smaller").wait_for(timeout=30_000)
    assert "Uploaded file" not in page.content()
    page.close()


def test_cohort_migration_and_value_tabs(server_factory, browser) -> None:  # type: ignore[no-untyped-def]
    url = server_factory()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    wait_idle(page)
    page.get_by_role("tab", name="Cohorts").click()
    wait_idle(page)
    page.get_by_text("Monthly cohort retention").first.wait_for(timeout=60_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    full_screenshot(page, ARTIFACTS / "dashboard-cohorts.png")
    page.get_by_role("tab", name="Migration").click()
    page.get_by_text("Compare the two snapshots").click()
    wait_idle(page)
    page.get_by_text("both assigned by the model").first.wait_for(timeout=90_000)
    page.get_by_role("tab", name="Lifetime value").click()
    page.get_by_text("Compute lifetime value").click()
    wait_idle(page)
    page.get_by_text("What-if campaign planner").wait_for(timeout=90_000)
    assert page.get_by_text("Expected profit").first.is_visible()
    full_screenshot(page, ARTIFACTS / "dashboard-value.png")
    page.close()


def test_the_dashboard_serves_this_machine_only(tmp_path: Path) -> None:
    # The project's own .streamlit/config.toml, as `streamlit run app.py` reads it.
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert '\naddress = "127.0.0.1"\n' in config
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while b"URL:" not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            seen += line
        assert f"URL: http://127.0.0.1:{port}".encode() in seen, seen
        assert b"Network URL" not in seen and b"External URL" not in seen
    finally:
        proc.terminate()
        proc.wait(timeout=30)
