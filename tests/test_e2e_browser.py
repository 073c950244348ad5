"""End to end in a real browser: Debian's chromium driven by Playwright against `streamlit run`.

Chromium comes from apt (.ci/run installs it); `playwright install` is never used.
Screenshots of each page are written to docs/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "SYMBIOSIS_DB_URL": f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("streamlit did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(120_000)
        pg.goto(server)
        yield pg
        browser.close()


def _settle(page) -> None:
    time.sleep(0.3)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached")
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=180_000)


def _goto(page, name: str) -> None:
    page.get_by_role("link", name=name).click()
    _settle(page)


def test_open_switch_language_filter_and_add_a_firm(page, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    _settle(page)
    sync_api.expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
    sync_api.expect(page.get_by_text("Số liên kết").first).to_be_visible()
    # the per-park table is drawn on a canvas after the page settles: wait for it before the screenshot
    page.locator("[data-testid='stDataFrame'] canvas").first.wait_for(state="visible")
    time.sleep(1.0)
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

    # language switch
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="English").click()
    _settle(page)
    sync_api.expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    sync_api.expect(page.get_by_text("Kept from landfill (t/yr)").first).to_be_visible()

    # map with a material filter
    _goto(page, "Symbiosis map")
    page.wait_for_selector("canvas", state="attached")
    material = page.locator(".st-key-map_material [data-testid='stMultiSelect']")
    material.click()
    page.keyboard.type("Brewer")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _settle(page)
    sync_api.expect(material).to_contain_text("Brewer")
    page.screenshot(path=str(SHOTS / "map.png"), full_page=True)

    _goto(page, "Network")
    page.screenshot(path=str(SHOTS / "network.png"), full_page=True)

    # add a firm with an output stream next to a brick maker, by uploading a file
    csv_firm = tmp_path / "firms.csv"
    csv_firm.write_text("firm_id,name,park_id,sector_code\nE2E-001,DN thử nghiệm E2E – Lò hơi,KCN-PHO-NOI-A,II.1\n",
                        encoding="utf-8")
    _goto(page, "Firm data")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv_firm))
    _settle(page)
    sync_api.expect(page.get_by_text("Saved: 1 added")).to_be_visible()
    csv_stream = tmp_path / "streams.csv"
    csv_stream.write_text("stream_id,firm_id,direction,material_id,quantity,unit,frequency,waste_code,hazard_test_result\n"
                          "E2E-S1,E2E-001,output,boiler_ash_mixed,900,t,year,99 00 02,non_hazardous\n", encoding="utf-8")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv_stream))
    _settle(page)
    sync_api.expect(page.get_by_text("Saved: 1 added")).to_be_visible()
    page.screenshot(path=str(SHOTS / "firm_data.png"), full_page=True)

    # the new firm's ash now appears among the proposed exchanges
    _goto(page, "Opportunities")
    page.locator(".st-key-explain_pick [data-testid='stSelectbox']").click()
    page.keyboard.type("E2E-001")
    sync_api.expect(page.get_by_role("option").filter(has_text="E2E-001").first).to_be_visible()
    page.keyboard.press("Escape")
    page.screenshot(path=str(SHOTS / "opportunities.png"), full_page=True)

    _goto(page, "Parameters")
    page.screenshot(path=str(SHOTS / "parameters.png"), full_page=True)


def test_planner_builds_and_compares_a_scenario(page):
    """Scenarios page in the browser: write a scenario (maximum haul 20 km) as JSON, save it,
    compare it with today and see the trade-off curve (page is in English after the test above)."""
    _goto(page, "Scenarios")
    page.locator(".st-key-scn_name input").fill("Haul 20 km")
    page.locator(".st-key-scn_author input").fill("E2E planner")
    page.locator(".st-key-scn_name input").press("Enter")
    _settle(page)
    page.get_by_text("Advanced: enter a list of changes as JSON").click()  # the JSON box sits in an expander
    page.locator(".st-key-scn_json textarea").fill('[{"kind": "set_parameter", "parameter_id": "max_haul_km", "value": 20}]')
    page.locator(".st-key-scn_json textarea").press("Control+Enter")
    _settle(page)
    page.locator(".st-key-scn_json_add button").click()
    _settle(page)
    sync_api.expect(page.get_by_text("Changes added to the list: 1.")).to_be_visible()
    page.locator(".st-key-scn_save button").click()
    _settle(page)
    sync_api.expect(page.get_by_text("Saved scenario “Haul 20 km” (1 changes).")).to_be_visible()
    page.get_by_role("tab", name="Compare").click()
    _settle(page)
    sync_api.expect(page.locator("[data-testid='stMetric']").first).to_be_visible()
    page.wait_for_selector("canvas", state="attached")
    sync_api.expect(page.get_by_role("combobox", name="Scenario B")).to_have_value("Haul 20 km")
    page.screenshot(path=str(SHOTS / "scenarios_compare.png"), full_page=True)
    page.get_by_role("tab", name="Landfill–transport trade-off").click()
    _settle(page)
    page.wait_for_selector(".js-plotly-plot", state="attached")
    page.screenshot(path=str(SHOTS / "scenarios_tradeoff.png"), full_page=True)
