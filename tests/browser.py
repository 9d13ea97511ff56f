"""A headless Chromium driven over the DevTools protocol, for tests that open HTML in a real browser.

The protocol runs over a pipe (`--remote-debugging-pipe`: commands on fd 3, replies on fd 4, each
message JSON ended by NUL), so nothing listens on a port and no extra Python package is needed.
Networking is off: every host name resolves to nothing, every request goes to a dead proxy, and
the page's network is emulated offline, so a page that needs the network fails visibly.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _move_above(fd, lowest):
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, lowest)
    os.close(fd)
    return moved


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable=None, width=1440, height=900, timeout=60):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError(f"no Chromium found (looked for {', '.join(CHROMIUM_NAMES)})")
        self.width, self.height, self.timeout = width, height, timeout
        self.console = []  # (kind, text) for console errors/warnings, exceptions and log entries
        self._next_id = 0
        self._replies = {}
        self._events = queue.Queue()
        self._lock = threading.Lock()

    def __enter__(self):
        self._profile = tempfile.mkdtemp(prefix="deepcis-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child's ends move to fds >= 10, so bash's redirections to 3 and 4 never clash
        to_chrome_r, from_chrome_w = (_move_above(fd, 10) for fd in (to_chrome_r, from_chrome_w))
        flags = [
            "--headless=new", "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
            "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--disable-domain-reliability", "--no-pings",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            f"--window-size={self.width},{self.height}", "--hide-scrollbars", "--allow-file-access-from-files",
        ]  # fmt: skip
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
        # fd 3 and 4 in the child are the two pipe ends the protocol expects
        wrapper = f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-'
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["bash", "-c", wrapper, self.executable, *flags, "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Network.emulateNetworkConditions",
                  {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        return self

    def __exit__(self, *exc):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        shutil.rmtree(self._profile, ignore_errors=True)
        self._stderr.close()

    # -- protocol ---------------------------------------------------------------------------------
    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        self._replies[message["id"]].put(message)
                else:
                    self._on_event(message)
        os.close(self._from_chrome)

    def _on_event(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append((f"console.{params['type']}", text))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console.append(("exception", text))
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            self.console.append((f"log.{entry['level']}", f"{entry.get('text', '')} {entry.get('url', '')}".strip()))
        self._events.put(message)

    def send(self, method, params=None, session=None, timeout=None):
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            self._replies[msg_id] = queue.Queue()
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        try:
            reply = self._replies[msg_id].get(timeout=timeout or self.timeout)
        except queue.Empty:
            self._stderr.seek(0)
            raise BrowserError(f"no reply to {method} in {timeout or self.timeout} s; "
                               f"chromium stderr: {self._stderr.read()[-2000:].decode(errors='replace')}") from None  # fmt: skip
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def call(self, method, params=None, timeout=None):
        """A command to the page."""
        return self.send(method, params, session=self.session, timeout=timeout)

    # -- page actions -----------------------------------------------------------------------------
    def open(self, url):
        while not self._events.empty():
            self._events.get_nowait()
        reply = self.call("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise BrowserError(f"cannot open {url}: {reply['errorText']}")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                event = self._events.get(timeout=1)
            except queue.Empty:
                continue
            if event.get("method") == "Page.loadEventFired":
                return
        raise BrowserError(f"{url} did not finish loading in {self.timeout} s")

    def evaluate(self, expression):
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} raised {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression, timeout=None, what=None):
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"timed out waiting for {what or expression}")

    def wait_stable(self, quiet=0.4, timeout=None):
        """Wait until the page's DOM and styles stop changing for `quiet` seconds (pages that
        build their CSS at run time, like the Tailwind build in Snakemake's report, style late)."""
        signature = ("[document.body.innerHTML.length, [...document.querySelectorAll('style')]"
                     ".reduce((n, s) => n + s.textContent.length, 0), document.readyState].join()")  # fmt: skip
        deadline = time.monotonic() + (timeout or self.timeout)
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            current = self.evaluate(signature)
            if current != last:
                last, since = current, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)
        raise BrowserError(f"the page kept changing for {timeout or self.timeout} s")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
