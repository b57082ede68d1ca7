"""A tiny Chrome DevTools Protocol client over --remote-debugging-pipe (test helper, stdlib only).

Opens a local HTML file in headless Chromium and reports what a reviewer's browser would see:
console errors, uncaught exceptions, every network request, the page text and a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium() -> str | None:
    for c in CHROMIUM_CANDIDATES:
        if os.path.exists(c):
            return c
    return shutil.which("chromium")


@dataclass
class PageVisit:
    text: str = ""
    screenshot: bytes = b""
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    controls_visible: bool = False
    evaluations: dict[str, object] = field(default_factory=dict)


class _Pipe:
    def __init__(self, binary: str, profile: str):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def arrange() -> None:  # runs in the child: the pipe ends become fds 3 and 4
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--window-size=1280,900", "about:blank"]
        # close_fds=False: Python fds are non-inheritable (PEP 446); only the dup2-ed 3 and 4 reach chromium
        self.proc = subprocess.Popen(args, preexec_fn=arrange, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.w, self.r = to_child_w, from_child_r
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self.next_id += 1
        msg: dict = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, name: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == name:
                return self.events.pop(i)
        while True:
            m = self._read(deadline)
            if m.get("method") == name:
                return m
            self.events.append(m)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except TimeoutError:
            pass

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            os.write(self.w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass


def visit(binary: str, html_file: Path, expressions: dict[str, str] | None = None,
          settle: float = 0.5, max_height: int = 6000, top: int = 0,
          scripts: bool = True) -> PageVisit:
    """Open `html_file`, wait for load, collect errors, requests, text and a full-page screenshot."""
    url = html_file.resolve().as_uri()
    out = PageVisit()
    with tempfile.TemporaryDirectory(prefix="nsgcheck-chromium-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", {}, session)
            if not scripts:
                pipe.send("Emulation.setScriptExecutionDisabled", {"value": True}, session)
            pipe.send("Page.navigate", {"url": url}, session)
            pipe.wait_event("Page.loadEventFired")
            pipe.drain(settle)
            for name, expr in (expressions or {}).items():
                res = pipe.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
                out.evaluations[name] = res.get("result", {}).get("value")
            out.text = pipe.send("Runtime.evaluate", {"expression": "document.body.innerText",
                                                      "returnByValue": True}, session)["result"]["value"]
            out.controls_visible = pipe.send("Runtime.evaluate", {
                "expression": "Array.prototype.some.call(document.querySelectorAll('form.controls'),"
                              " function (f) { return !f.hidden; })", "returnByValue": True},
                session)["result"]["value"]
            metrics = pipe.send("Page.getLayoutMetrics", {}, session)
            size = metrics.get("cssContentSize") or metrics.get("contentSize")
            shot = pipe.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": top, "width": 1280,
                         "height": max(1, min(int(size["height"]) - top, max_height)), "scale": 1}},
                session, timeout=60)
            out.screenshot = base64.b64decode(shot["data"])
            pipe.drain(0.2)
        finally:
            pipe.close()
    for e in pipe.events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            out.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            out.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            out.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            out.requests.append(params.get("request", {}).get("url", ""))
    return out


def time_to_ready(binary: str, html_file: Path, ready: str, timeout: float = 120.0) -> dict[str, float]:
    """Seconds from navigation to the load event, to `ready` (a JS expression) being truthy, and to
    the first full layout after it; in a fresh browser with an empty profile (benchmarks)."""
    url = html_file.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="nsgcheck-chromium-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            pipe.send("Page.enable", {}, session)
            pipe.send("Runtime.enable", {}, session)
            start = time.monotonic()
            pipe.send("Page.navigate", {"url": url}, session, timeout=timeout)
            pipe.wait_event("Page.loadEventFired", timeout=timeout)
            loaded = time.monotonic() - start
            while True:
                value = pipe.send("Runtime.evaluate", {"expression": ready, "returnByValue": True},
                                  session)["result"].get("value")
                if value:
                    break
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f"{html_file}: not ready after {timeout} s")
                time.sleep(0.01)
            ready_s = time.monotonic() - start
            pipe.send("Runtime.evaluate", {"expression": "document.body.getBoundingClientRect().height",
                                           "returnByValue": True}, session)
            laid_out = time.monotonic() - start
            errors = [e for e in pipe.events if e.get("method") == "Runtime.exceptionThrown"]
            if errors:
                raise RuntimeError(f"{html_file}: script error {json.dumps(errors[0])[:300]}")
        finally:
            pipe.close()
    return {"load_s": loaded, "ready_s": ready_s, "layout_s": laid_out, "ready_value": value}
