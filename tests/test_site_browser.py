"""The built site in a real browser: headless Chromium, opened from disk with the network off.

Chromium is driven over the DevTools protocol (websocket-client). Every page must load its
images and stylesheet from file: URLs only, log no console error and render its MathML; the
top of each page is saved as a screenshot in $SITE_SCREENSHOTS (default: a folder
`diffusionlab-site-screenshots` in the system's temporary directory) for a human to look at.
Needs Debian's `chromium` package (or $CHROMIUM pointing at a Chromium binary).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from diffusionlab.site import build_site
from diffusionlab.site.demo import demo

CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
SCREENSHOTS = Path(
    os.environ.get("SITE_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "diffusionlab-site-screenshots"
)
WIDTH, HEIGHT = 1280, 1600

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium)"
)
websocket = pytest.importorskip("websocket", reason="websocket-client is not installed")

PAGE_STATE = """(async () => {
  await document.fonts.ready;
  const images = await Promise.all(Array.from(document.images).map(async (img) => {
    try { await img.decode(); } catch (e) {}
    return {src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0,
            shown: img.getBoundingClientRect().width};
  }));
  const maths = Array.from(document.querySelectorAll("math"))
    .map((m) => m.getBoundingClientRect().height);
  return JSON.stringify({
    images: images,
    maths: maths,
    sheets: document.styleSheets.length,
    column: document.querySelector("main").getBoundingClientRect().width,
    background: getComputedStyle(document.body).backgroundColor,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  });
})()"""


class DevTools:
    """A minimal DevTools protocol client: commands by id, events kept in order."""

    def __init__(self, url: str):
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.events: list[dict] = []
        self.last_id = 0

    def call(self, method: str, **params) -> dict:
        self.last_id += 1
        self.ws.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, since: int, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event["method"] == method:
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("browser")
    manifest, provenance = demo(base / "inputs")
    return build_site(manifest, base / "report", provenance, root=base).parent


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    # Chromium leaves its singleton socket folder in TMPDIR: keep it inside pytest's tmp folder.
    scratch = tmp_path_factory.mktemp("chromium-tmp")
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable")
        tools.call(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )
        yield tools
        tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def open_page(browser: DevTools, path: Path) -> tuple[dict, list[dict]]:
    """Load a page; return its state and the protocol events its loading caused."""
    since = len(browser.events)
    browser.call("Page.navigate", url=path.as_uri())
    browser.wait_for("Page.loadEventFired", since)
    result = browser.call("Runtime.evaluate", expression=PAGE_STATE, awaitPromise=True)
    if "exceptionDetails" in result:
        raise RuntimeError(f"{path.name}: {result['exceptionDetails']}")
    state = json.loads(result["result"]["value"])
    return state, browser.events[since:]


def problems(events: list[dict]) -> list[str]:
    found = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:")):
                found.append(f"network request to {url}")
        elif method == "Network.loadingFailed":
            found.append(f"failed to load: {params.get('errorText')}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(f"console.{params['type']}: {params['args']}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry']['text']}")
    return found


def test_pages_load_cleanly_from_disk(site, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = sorted(site.glob("*.html"))
    assert len(pages) == 4
    equations = {}
    for page in pages:
        state, events = open_page(browser, page)
        assert problems(events) == [], page.name
        assert state["images"] or page.name in ("index.html", "evaluation.html")
        broken = [i["src"] for i in state["images"] if not i["ok"] or i["shown"] <= 0]
        assert broken == [], f"{page.name}: images not shown: {broken}"
        # the stylesheet applied: its background colour and a text column of 46-52rem
        assert state["sheets"] == 1 and state["background"] == "rgb(251, 251, 249)"
        assert 46 * 16 <= state["column"] <= 52 * 16, state["column"]
        assert state["overflow"] <= 0, f"{page.name} scrolls sideways"
        assert all(height > 0 for height in state["maths"]), f"{page.name}: empty MathML"
        equations[page.name] = len(state["maths"])
        shot = browser.call("Page.captureScreenshot", format="png")
        path = SCREENSHOTS / f"{page.stem}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        assert path.read_bytes().startswith(b"\x89PNG")
    assert equations["part-b.html"] >= 5 and equations["index.html"] == 0
