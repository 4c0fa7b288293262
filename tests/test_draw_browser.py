"""The interactive HTML in a real browser: headless Chromium driven over the Chrome
DevTools Protocol (a websocket, from Python: no npm, no driver binary to match).

For every spec in specs/: the page logs no console error and fetches nothing but its own
file, every node is drawn, no two
node boxes overlap, no edge runs through a node box, clicking a block's title collapses it
(fewer nodes drawn, the box drawn as one) and clicking the collapsed box expands it again;
a screenshot of each is written to build/draw-gallery/ (docs/images/draw/ keeps copies of
the README's).

Chromium: Debian's `chromium` package (.ci/run installs it when missing). Without it
these tests are skipped, saying so; with CI=true a missing browser is a failure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import netdsl
from netdsl.draw import draw_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))
GALLERY = ROOT / "build" / "draw-gallery"  # the README's pictures are copies of some
#: The README's pictures: spec, drawing options.
README_PICTURES = {"resnet18": {"depth": 4, "color": "macs"},
                   "unet": {"color": "activation", "direction": "TB"}}
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0", "--window-size=1400,1000"]

if BROWSER is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the drawing tests: apt-get install chromium")
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)

websocket = pytest.importorskip("websocket", reason="pip install websocket-client")


class Page:
    """One Chromium tab over CDP: evaluate scripts, click, screenshot, collect errors."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.errors: list[str] = []
        self.requests: list[str] = []  # every URL the page asked for
        self.send("Network.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")
        self.send("Page.enable")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description")))
                                        for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_renders(self, count: int, timeout: float = 60.0) -> None:
        """Wait until the picture has finished `count` layouts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.eval("(() => { const e = document.getElementById('netdsl-picture');"
                              " return e ? [e.dataset.renders, e.dataset.ready] : [null]; })()")
            if state[0] is not None and int(state[0]) >= count and state[1] == "1":
                return
            time.sleep(0.05)
        raise TimeoutError(f"the picture did not finish layout {count}; errors: {self.errors}")

    def click(self, x: float, y: float) -> None:
        """A real mouse click at page coordinates."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def screenshot(self, path: Path, max_height: int = 3000) -> None:
        size = self.eval("[document.documentElement.scrollWidth,"
                         " document.documentElement.scrollHeight]")
        width, height = min(size[0], 2400), min(size[1], max_height)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[subprocess.Popen, int]]:
    """One headless Chromium for the module, its DevTools port."""
    profile = tempfile.mkdtemp(prefix="netdsl-chromium-")
    process = subprocess.Popen([BROWSER, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.monotonic() + 60
    assert process.stderr is not None
    while port is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
        if found:
            port = int(found.group(1))
        elif not line and process.poll() is not None:
            break
    if port is None:
        process.kill()
        raise RuntimeError("chromium did not start its DevTools server")
    # keep draining stderr so that Chromium never blocks on a full pipe
    import threading

    threading.Thread(target=process.stderr.read, daemon=True).start()
    yield process, port
    process.terminate()
    process.wait(timeout=30)
    shutil.rmtree(profile, ignore_errors=True)


def open_page(port: int, url: str) -> Page:
    """A new tab, listening (errors, requests) before it navigates to `url`."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                     method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        target = json.loads(response.read())
    page = Page(target["webSocketDebuggerUrl"])
    page.target_id, page.port = target["id"], port  # type: ignore[attr-defined]
    page.send("Page.navigate", url=url)
    return page


def close_page(page: Page) -> None:
    page.ws.close()
    urllib.request.urlopen(f"http://127.0.0.1:{page.port}/json/close/{page.target_id}",  # type: ignore[attr-defined]
                           timeout=30).close()


# Geometry of what is drawn, read from the live DOM (boxes in page coordinates).
_GEOMETRY = """(() => {
  const box = el => { const r = el.getBoundingClientRect();
    return [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY]; };
  const nodes = [...document.querySelectorAll('svg.netdsl g.node')].map(g =>
    ({name: g.dataset.node, box: box(g.querySelector('rect'))}));
  const collapsed = [...document.querySelectorAll('svg.netdsl g.collapsed')].map(g =>
    ({id: g.dataset.block, box: box(g.querySelector('rect'))}));
  const toggles = [...document.querySelectorAll('svg.netdsl text.toggle')].map(t =>
    ({id: t.dataset.toggle, box: box(t)}));
  const edges = [...document.querySelectorAll('svg.netdsl path.edge')].map(p => {
    const m = p.getScreenCTM(), d = p.getAttribute('d');
    return d.slice(1).split(' L').map(s => { const [x, y] = s.split(',').map(Number);
      return [x * m.a + m.e + scrollX, y * m.d + m.f + scrollY]; }); });
  return {nodes, collapsed, toggles, edges};
})()"""


def overlaps(a: list[float], b: list[float]) -> bool:
    """Whether two boxes share more than a hairline (0.5 px) of area."""
    return min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and min(a[3], b[3]) - max(a[1], b[1]) > 0.5


def crossing(points: list[list[float]], box: list[float]) -> bool:
    """Whether an orthogonal polyline passes through the inside of a box (its ends may
    touch the box's border: that is where edges start and end)."""
    inner = [box[0] + 1.5, box[1] + 1.5, box[2] - 1.5, box[3] - 1.5]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        lo_x, hi_x, lo_y, hi_y = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        if hi_x >= inner[0] and lo_x <= inner[2] and hi_y >= inner[1] and lo_y <= inner[3]:
            return True
    return False


def check_picture(geometry: dict[str, Any]) -> None:
    boxes = [n["box"] for n in geometry["nodes"]] + [c["box"] for c in geometry["collapsed"]]
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    for i, a in enumerate(order):  # sweep along x: only boxes that meet in x are compared
        for b in order[i + 1:]:
            if boxes[b][0] >= boxes[a][2]:
                break
            assert not overlaps(boxes[a], boxes[b]), (boxes[a], boxes[b])
    for points in geometry["edges"]:
        for box in boxes:
            assert not crossing(points, box), f"an edge crosses the node box {box}"


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_in_browser(browser: tuple[subprocess.Popen, int], tmp_path: Path,
                         path: Path) -> None:
    drawing = draw_spec(netdsl.load(path), color="macs")
    page_file = tmp_path / f"{path.stem}.html"
    drawing.save(page_file)
    page = open_page(browser[1], page_file.as_uri())
    try:
        page.wait_renders(1)
        geometry = page.eval(_GEOMETRY)
        drawn = {n["name"] for n in geometry["nodes"]}
        assert drawn == {n["name"] for n in drawing.model["nodes"]}
        assert len(geometry["nodes"]) == len(drawing.model["nodes"])
        check_picture(geometry)
        GALLERY.mkdir(parents=True, exist_ok=True)
        page.screenshot(GALLERY / f"{path.stem}.png")
        if geometry["toggles"]:
            # collapse the first block whose title is drawn: fewer nodes, one box more
            toggle = geometry["toggles"][0]
            x, y = (toggle["box"][0] + toggle["box"][2]) / 2, (toggle["box"][1] + toggle["box"][3]) / 2
            page.eval(f"window.scrollTo(0, {max(y - 200, 0)})")
            page.click(x, y - page.eval("scrollY"))
            page.wait_renders(2)
            folded = page.eval(_GEOMETRY)
            assert len(folded["nodes"]) < len(geometry["nodes"])
            assert toggle["id"] in {c["id"] for c in folded["collapsed"]}
            check_picture(folded)
            # and expand it again by clicking the collapsed box
            box = next(c["box"] for c in folded["collapsed"] if c["id"] == toggle["id"])
            x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            page.eval(f"window.scrollTo(0, {max(y - 200, 0)})")
            page.click(x, y - page.eval("scrollY"))
            page.wait_renders(3)
            again = page.eval(_GEOMETRY)
            assert {n["name"] for n in again["nodes"]} == drawn
        assert page.errors == []
        page.eval("1")  # collect the events sent so far
        assert page.requests == [page_file.as_uri()]  # nothing fetched but the page
    finally:
        close_page(page)


def test_error_picture_in_browser(browser: tuple[subprocess.Popen, int], tmp_path: Path) -> None:
    """A spec with a mistake: the nodes up to it, the failing call and the message drawn."""
    spec = netdsl.loads("network broken() {\n    input x: [3, 32, 32]\n"
                        "    x -> conv(8, 3) -> add(conv(8, 3), conv(9, 3, padding = 1)) -> relu\n}\n",
                        "broken.net")
    drawing = draw_spec(spec)
    assert drawing.error is not None
    drawing.save(tmp_path / "broken.html")
    page = open_page(browser[1], (tmp_path / "broken.html").as_uri())
    try:
        page.wait_renders(1)
        geometry = page.eval(_GEOMETRY)
        assert {n["name"] for n in geometry["nodes"]} == {"x", "conv0", "conv1", "conv2",
                                                         "error", "message"}
        check_picture(geometry)
        text = page.eval("document.querySelector('g.message').textContent")
        assert "add() got branches of different shapes" in text
        GALLERY.mkdir(parents=True, exist_ok=True)
        page.screenshot(GALLERY / "error.png")
        assert page.errors == []
    finally:
        close_page(page)


@pytest.mark.parametrize("name", list(README_PICTURES))
def test_readme_pictures(browser: tuple[subprocess.Popen, int], tmp_path: Path, name: str) -> None:
    """The pictures of the README (build/draw-gallery/readme-NAME.png), checked like the rest."""
    drawing = draw_spec(netdsl.load(SPECS[0].parent / f"{name}.net"), **README_PICTURES[name])
    drawing.save(tmp_path / f"{name}.html")
    page = open_page(browser[1], (tmp_path / f"{name}.html").as_uri())
    try:
        page.wait_renders(1)
        check_picture(page.eval(_GEOMETRY))
        GALLERY.mkdir(parents=True, exist_ok=True)
        page.screenshot(GALLERY / f"readme-{name}.png", max_height=1500)
        assert page.errors == []
    finally:
        close_page(page)
