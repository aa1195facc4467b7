"""The web UI in a real browser: Debian's chromium (headless, installed by scripts/setup.sh; nothing is downloaded)
opens dagster-webserver's pages of the materialized smoke graph, driven over the DevTools protocol (a websocket),
and the test asserts on what a user sees there: the asset groups in the lineage graph, an asset check's result, and
the plot that an asset's materialization metadata carries as a markdown image."""

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.test_webserver import _free_port, _graphql, _stop

REPO = Path(__file__).resolve().parent.parent
WAIT_S = 60.0  # per page: the single-page app fetches its bundle and queries GraphQL before anything renders

# Visible on screen: laid out, not hidden, at least partly inside the viewport.
_VISIBLE_JS = """const visible = e => { const r = e.getBoundingClientRect();
  return e.checkVisibility({visibilityProperty: true, opacityProperty: true}) && r.width > 0 && r.height > 0
    && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; };"""


class Chromium:
    """A headless chromium with one page, driven over the DevTools protocol."""

    def __init__(self, workdir: Path):
        exe = shutil.which("chromium")
        assert exe, "chromium is not on PATH: scripts/setup.sh installs Debian's chromium (apt-get install chromium)"
        self.workdir, self.shots = workdir, itertools.count()
        profile = workdir / "profile"
        self.log = workdir / "chromium.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions", "--window-size=1600,1000",
                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                 "about:blank"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            active = profile / "DevToolsActivePort"  # chromium writes the port it picked here
            deadline = time.time() + 60
            while not (active.exists() and active.read_text().strip()):
                assert self.proc.poll() is None, f"chromium exited: {self.log.read_text()[-3000:]}"
                assert time.time() < deadline, f"no DevTools port in 60 s: {self.log.read_text()[-3000:]}"
                time.sleep(0.1)
            port = int(active.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
                page = next(t for t in json.loads(r.read()) if t["type"] == "page")
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        except BaseException:
            self.close()
            raise
        self.ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:  # events of enabled domains may come in between; only the answer counts
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == msg_id:
                assert "error" not in msg, (method, msg["error"])
                return msg["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def goto(self, url: str):
        """Loads ``url`` as a new document; returns once that document is the one evaluated in."""
        self.evaluate("window.__left = true")
        self.call("Page.navigate", url=url)
        self.wait_for("!window.__left && document.readyState !== 'loading'", bool, f"the page {url}")

    def screenshot(self, name: str) -> Path:
        path = self.workdir / f"{next(self.shots):02d}_{name}.png"
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot")["data"]))
        return path

    def wait_for(self, expression: str, ok, what: str, timeout: float = WAIT_S):
        """Evaluates ``expression`` until ``ok(value)`` holds; fails naming ``what`` with the page's visible text and
        a screenshot when it does not by the deadline."""
        deadline = time.time() + timeout
        while True:
            value = self.evaluate(expression)
            if ok(value):
                return value
            if time.time() > deadline:
                text = self.evaluate("document.body ? document.body.innerText : ''") or ""
                shot = self.screenshot("failed")
                pytest.fail(f"{what}: not on screen within {timeout:.0f} s (last value {value!r}; screenshot {shot}); "
                            f"the page shows:\n{text[:3000]}")
            time.sleep(0.25)

    def click(self, element_js: str, what: str):
        """Clicks, with the mouse, the middle of the element ``element_js`` evaluates to, as a user would: the click
        lands on whatever is on top there, so the element must not be covered (e.g. by a dialog)."""
        point = self.evaluate(f"""(() => {{ const e = {element_js}; if (!e) return null;
            e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2, top = document.elementFromPoint(x, y);
            return {{x, y, reachable: !!top && (e === top || e.contains(top))}}; }})()""")
        assert point, f"{what}: not on the page"
        assert point["reachable"], f"{what}: covered by another element (screenshot {self.screenshot('covered')})"
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=point["x"], y=point["y"], button="left", clickCount=1)

    def close(self):
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the browser and its renderers
            self.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def ui_port(ingested_campaigns, radiomap_home):
    """dagster-webserver on loopback over the test home, after the smoke site is simulated and its campaigns
    ingested; its port, once GraphQL lists the assets."""
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(radiomap_home / "dagster_home")}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
                             "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                if _graphql(port, "{ assetNodes { id } }").get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            assert time.time() < deadline, "the web server did not answer with asset nodes within 180 s"
            time.sleep(0.5)
        # Dagster greets a browser on a loopback origin with a 'Join the Dagster community' dialog over the page
        # until someone dismisses it once (kept in the instance): dismissed here as a returning user has.
        assert _graphql(port, "mutation { setNuxSeen }")["data"]["setNuxSeen"]
        yield port
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Chromium(tmp_path_factory.mktemp("chromium"))
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def ui_url(ui_port):
    return f"http://127.0.0.1:{ui_port}"


def test_asset_graph_shows_the_asset_groups(browser, ui_port, ui_url):
    """Every group of the code location (as GraphQL lists them) is a node of the global lineage graph."""
    groups = sorted({n["groupName"] for n in _graphql(ui_port, "{ assetNodes { groupName } }")["data"]["assetNodes"]})
    assert {"simulation", "ingestion", "model", "evaluation"} <= set(groups), groups
    browser.goto(f"{ui_url}/asset-groups")
    names = json.dumps(groups)
    shown = browser.wait_for(f"""(() => {{ {_VISIBLE_JS}
        const nodes = Array.from(document.querySelectorAll('svg foreignObject *'));
        return {names}.filter(g => nodes.some(e => e.childElementCount === 0 && e.textContent.trim() === g
                                                   && visible(e))); }})()""",
                             lambda v: set(v or ()) == set(groups), f"the asset groups {groups} in the lineage graph")
    assert sorted(shown) == groups


@pytest.mark.parametrize("asset,check", [("raw_channel_measurements", "measurement_power_range"),
                                         ("masked_sparse_csi", "mask_density")])
def test_asset_page_shows_the_check_result(browser, ui_url, asset, check):
    browser.goto(f"{ui_url}/assets/{asset}?view=checks&checkDetail={check}")
    # the checks list: the check's row with the status of its latest execution; the check's panel (its name, then
    # the Execute button): the evaluation result of its latest execution
    found = browser.wait_for(f"""(() => {{ {_VISIBLE_JS}
        const text = document.body.innerText, panel = text.indexOf({json.dumps(check + chr(10) + "Execute")});
        const status = /^(Succeeded|Failed|Warning|Execution failed|Skipped|Not evaluated|Running)$/;
        const row = Array.from(document.querySelectorAll('div')).map(d => [d, (d.innerText || '').trim().split('\\n')])
            .find(([d, lines]) => lines.length > 1 && lines.slice(0, -1).every(l => l.trim() === {json.dumps(check)})
                                  && status.test(lines[lines.length - 1].trim()) && visible(d));
        return {{row: row ? row[1][row[1].length - 1].trim() : null,
                 evaluation: panel < 0 ? null
                     : (text.slice(panel).match(/Evaluation result\\s*\\n\\s*(\\S+)/) || [])[1] || null}}; }})()""",
                                 lambda v: v and v["row"] and v["evaluation"], f"the check {check} of {asset}")
    assert found == {"row": "Succeeded", "evaluation": "Passed"}, found


def test_asset_page_shows_the_plot_of_its_materialization(browser, ui_url):
    """ground_truth_beam_map (materialized by the simulated_site fixture) carries its beam maps as a markdown image
    in the metadata entry bs0_beams: the overview's metadata table offers it as [Show Markdown], which opens it."""
    browser.goto(f"{ui_url}/assets/ground_truth_beam_map")
    row = ("Array.from(document.querySelectorAll('tr')).find(tr => tr.cells[0] "
           "&& tr.cells[0].innerText.trim() === 'bs0_beams')")
    link = f"({row} || {{querySelector: () => null}}).querySelector('a')"
    browser.wait_for(f"(() => {{ const a = {link}; return a ? a.innerText.trim() : null; }})()",
                     lambda v: v == "[Show Markdown]", "the metadata entry bs0_beams of ground_truth_beam_map")
    browser.click(link, "[Show Markdown] of bs0_beams")
    img = browser.wait_for(f"""(() => {{ {_VISIBLE_JS}
        const dialog = Array.from(document.querySelectorAll('[role=dialog]')).find(d => visible(d));
        const img = dialog && Array.from(dialog.querySelectorAll('img')).find(i => visible(i));
        return img ? {{title: dialog.innerText.trim().split('\\n')[0], src: img.src.slice(0, 22),
                      decoded: img.complete && img.naturalWidth > 0, width: img.naturalWidth,
                      height: img.naturalHeight}} : null; }})()""",
                           lambda v: v and v["decoded"], "the plot of bs0_beams in its markdown dialog")
    assert img["title"] == "bs0_beams", img
    assert img["src"] == "data:image/png;base64,", img
    assert img["width"] >= 200 and img["height"] >= 200, img  # a decoded figure, not a broken-image placeholder
