"""The HTML report in headless Chromium: every chart draws offline; injected text stays text.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); without them
these tests skip and say how to install them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cekura_analytics import extract
from cekura_analytics.improve import ledger as lg
from cekura_analytics.lake.store import Store
from cekura_analytics.mock import MockServer
from cekura_analytics.present.document import report as build_report

REPO = Path(__file__).resolve().parents[2]
INSTALL_HINT = (
    "headless Chromium is not installed: on Debian/Ubuntu run "
    "`sudo apt-get install -y chromium chromium-driver` (and `pip install selenium`, "
    "part of the dev extra), then rerun the tests"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]
PAYLOADS = (
    "<script>window.__xss = 1; document.title = 'pwned'</script>",
    "<img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\">",
    "</script><script>window.__xss = 3</script>",
)
EVIL = " ".join(PAYLOADS)


def _binaries() -> tuple[str, str] | None:
    browser = next(
        (shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None
    )
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium (fresh profile) for the module's tests."""
    webdriver = pytest.importorskip("selenium.webdriver", reason=INSTALL_HINT)
    from selenium.webdriver.chrome.service import Service

    found = _binaries()
    if found is None:
        pytest.skip(INSTALL_HINT)
    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    for flag in FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(found[1]))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir extracted from the mock, plus two finished improve-prompt suggestions."""
    d = tmp_path_factory.mktemp("browser") / "data"
    with MockServer(runs=600, seed=0, api_key="k") as srv:
        extract(d, base_url=srv.base_url, api_key="k", quiet=True)
    failed = pl.read_delta(str(d / "runs")).filter(~pl.col("success"))
    add_jobs(d, [int(r) for r in failed["run_id"].head(2)], "Be kind.\nConfirm the slot.")
    return d


def add_jobs(d: Path, run_ids: list[int], improved: str, summary: str = "Adds a rule.") -> None:
    """Completed prompt jobs in the ledger, as `improve collect` leaves them."""
    prompt = "Be kind.\nBook appointments.\n"
    with Store(d, lock=True) as store:
        ledger = lg.Ledger(store)
        for rid in run_ids:
            sha = lg.sha256_text(prompt)
            row = {**lg.empty_row(), "job_id": lg.make_job_id("prompt", rid, sha)}
            row.update(kind="prompt", run_id=rid, prompt=prompt, prompt_sha256=sha)
            row.update(status=lg.COMPLETED, finished_at=lg.now(), improved_prompt=improved)
            row.update(summary_of_changes=summary)
            ledger.put(row)
        ledger.commit()


def rewrite(d: Path, table: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
    """Replace ``table`` by ``change`` of it (same rows), as one commit."""
    with Store(d, lock=True) as store:
        store.replace_table(table, change(store.read(table)))


def open_report(driver: Any, path: Path) -> None:
    """Load the report and wait until every chart settled (drawn or failed)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what an earlier page logged
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body.dataset.chartsDone === '1'")
    )


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requests_made(driver: Any) -> list[str]:
    """URLs the page asked for: Chromium's Network events plus the page's resource timing."""
    page = driver.current_url
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            params = msg["params"]
            url = params["request"]["url"]
            # chrome:// pages of the browser itself (new-tab page) are not the report's
            if params.get("documentURL") == page or not url.startswith("chrome"):
                urls.append(url)
    urls += driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return urls


def full_screenshot(driver: Any, *paths: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 40, 16000))
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(p)), p
    driver.set_window_size(1280, 1000)


def test_report_draws_every_chart_offline(browser: Any, data_dir: Path, tmp_path: Path) -> None:
    report = build_report(data_dir, tmp_path / "report.html")
    open_report(browser, report)
    sections = browser.find_elements("css selector", "section[data-chart]")
    expected = [s for s in sections if not s.get_attribute("data-skipped")]
    assert len(expected) >= 6, [s.get_attribute("data-chart") for s in sections]
    for s in expected:
        drawn = s.find_elements("css selector", "svg.marks, canvas.marks, svg, canvas")
        assert drawn, f"chart {s.get_attribute('data-chart')} did not draw"
    body = browser.find_element("tag name", "body")
    assert body.get_attribute("data-charts-failed") == "0"
    assert int(body.get_attribute("data-charts-drawn")) == len(expected)
    assert console_errors(browser) == []
    leaving = [u for u in requests_made(browser) if not u.startswith(("file:", "data:", "blob:"))]
    assert leaving == [], f"the report asked the network for {leaving}"
    text = body.text
    assert "overall metric pass rate" in text and "Worst cells" in text
    assert "+Confirm the slot." in text  # the suggestion's diff
    # the first screen, as a reader opens the file: it should answer on its own
    browser.set_window_size(1280, 1000)
    first = REPO / "bench" / "out" / "report_first_screen.png"
    first.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(first))
    assert "What got worse" in browser.find_element("css selector", "section.answer").text
    full_screenshot(browser, tmp_path / "report.png", REPO / "bench" / "out" / "report.png")
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_injected_markup_does_not_execute(browser: Any, data_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "evil"
    shutil.copytree(data_dir, d)
    evil_text = pl.lit(EVIL + "\n") + pl.col("transcript").fill_null("")
    rewrite(d, "runs", lambda df: df.with_columns(transcript=evil_text, scenario_name=pl.lit(EVIL)))
    rewrite(d, "scenarios", lambda df: df.with_columns(name=pl.lit(EVIL)))
    # Metric and personality names travel inside the chart specs (JSON in <script>).
    rewrite(d, "run_metrics", lambda df: df.with_columns(metric_name=pl.col("metric_name") + EVIL))
    rewrite(d, "metrics", lambda df: df.with_columns(name=pl.col("name") + EVIL))
    rewrite(d, "personalities", lambda df: df.with_columns(name=pl.col("name") + EVIL))
    failed = pl.read_delta(str(d / "runs")).filter(~pl.col("success"))
    add_jobs(d, [int(failed["run_id"][5])], EVIL, summary=EVIL)

    report = build_report(d, tmp_path / "report.html")
    html = report.read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert payload not in html  # escaped in HTML, \u003c-escaped in JSON
    open_report(browser, report)
    assert browser.execute_script("return window.__xss") is None
    assert browser.title == "Cekura analytics report"
    assert browser.find_elements("css selector", "main img") == []
    text = browser.execute_script("return document.body.textContent")
    assert PAYLOADS[0] in text and PAYLOADS[1] in text  # shown, as text
    body = browser.find_element("tag name", "body")
    assert body.get_attribute("data-charts-failed") == "0"
    assert console_errors(browser) == []  # not even a CSP refusal: nothing tried to run
    full_screenshot(browser, tmp_path / "evil.png")


def test_control_characters_and_backslashes_in_names_draw(browser: Any, tmp_path: Path) -> None:
    """A backslash in a version name broke the version chart's tooltip expression; control
    characters broke the SVG text: every chart draws with them, and the console stays quiet."""
    from datetime import timedelta

    from factories import T0, result, run, write_tables

    hostile = 'Cla\x1b[31mrity\x07 \\ "q" </script>'
    runs, rows = [], []
    for i in range(1, 121):
        version = "v\\1\x08" if i <= 60 else "v2\x1b[31m"
        runs.append(run(i, agent_version=version, timestamp=T0 + timedelta(hours=5 * i)))
        rows.append(result(i, 1, metric_name=hostile, metric_type="binary", score=i % 4 != 0))
    d = write_tables(
        tmp_path / "d",
        runs=runs,
        run_metrics=rows,
        metrics=[{"metric_id": 1, "name": hostile, "eval_type": "binary"}],
    )
    open_report(browser, build_report(d, tmp_path / "report.html"))
    body = browser.find_element("tag name", "body")
    assert body.get_attribute("data-charts-failed") == "0"
    assert int(body.get_attribute("data-charts-drawn")) >= 4
    assert console_errors(browser) == []
