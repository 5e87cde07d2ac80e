"""The HTML report in a real browser (headless Chromium through selenium): it loads without
console errors, shows the verdict and every check id, every image decodes and every audio
player has a finite duration.

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
test is skipped locally and fails under CI (the environment variable CI set), so the gate
never passes by skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conformance.cli.main import main as cli_main
from tests.checks.conftest import write

pytestmark = pytest.mark.browser

_INSTALL = "apt-get install -y chromium chromium-driver (as .ci/run does)"
#: Seconds the page may take to load its media.
_LOAD_TIMEOUT = 60


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                       else None)
        if found:
            return found
    return None


def _unavailable(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser test cannot run under CI: {what}; install it: {_INSTALL}",
                    pytrace=False)
    pytest.skip(f"{what} (install: {_INSTALL})")


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (the test extra)")
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if chromium is None or driver_path is None:
        _unavailable("chromium or chromedriver is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(_LOAD_TIMEOUT)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A small report written by `validate --html`: the random-weight checkpoint, loading,
    config and audio quality (which fails the 24 kHz golden thresholds)."""
    tmp = tmp_path_factory.mktemp("browser")
    ckpt = write(tmp)
    page, js = tmp / "report.html", tmp / "report.json"
    rc = cli_main(["validate", str(ckpt), "--family", "encodec_24khz", "--check", "load",
                   "--check", "config", "--check", "audio.quality", "--json", str(js),
                   "--html", str(page), "--no-progress"])
    report = json.loads(js.read_text())
    assert rc == report["exit_code"] == 1
    return page, report


_WAIT_FOR_MEDIA = """
const done = arguments[arguments.length - 1];
const imgs = [...document.images].map(i => i.complete ? Promise.resolve() :
    new Promise(r => { i.onload = r; i.onerror = r; }));
const auds = [...document.querySelectorAll('audio')].map(a => a.readyState >= 1 ?
    Promise.resolve() : new Promise(r => { a.onloadedmetadata = r; a.onerror = r; a.load(); }));
Promise.all([...imgs, ...auds]).then(() => done({
  images: [...document.images].map(i => i.naturalWidth),
  audio: [...document.querySelectorAll('audio')].map(a => ({
      duration: a.duration, error: a.error ? a.error.code : null})),
  text: document.body.textContent,
  verdict: document.getElementById('verdict').dataset.verdict,
  verdictText: document.getElementById('verdict').textContent,
}));
"""


def test_the_report_renders_in_chromium(browser, built):
    page, report = built
    browser.get(page.as_uri())
    state = browser.execute_async_script(_WAIT_FOR_MEDIA)
    severe = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == [], severe
    assert state["verdict"] == report["verdict"] == "not_conformant"
    assert "Not conformant" in state["verdictText"]
    outcomes = report["subjects"][0]["outcomes"]
    missing = [o["id"] for o in outcomes if o["id"] not in state["text"]]
    assert outcomes and missing == []
    assert len(state["images"]) == 4 and all(w > 0 for w in state["images"])
    assert len(state["audio"]) == 12
    for player in state["audio"]:
        assert player["error"] is None, player
        assert isinstance(player["duration"], (int, float)) and 0 < player["duration"] < 60
