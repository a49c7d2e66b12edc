"""HTML to PDF with headless Chromium, kept running per process.

Launching Chromium costs about 1.5 s, printing a report page about 0.1-0.3 s: a worker that
sends many reports in the same minute keeps one browser and drives it over the DevTools
protocol on a pipe (``--remote-debugging-pipe``: no port, nothing reachable from outside),
one new tab per report. The page is a local file with no scripts or external resources, and
the tab only prints it when its load event has fired, so nothing half-loaded is captured. If
the browser cannot be started or dies, ``print_cli`` (one ``chromium --print-to-pdf`` per
report) is the fallback.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

PDF_TIMEOUT_S = 60
# A4 in inches, 12 mm margins.
PAGE = {"paperWidth": 8.27, "paperHeight": 11.69, "marginTop": 0.47, "marginBottom": 0.47,
        "marginLeft": 0.47, "marginRight": 0.47, "printBackground": True}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-extensions", "--disable-background-networking", "--no-first-run",
         "--disable-sync", "--mute-audio"]


class PdfError(Exception):
    """Chromium printed no PDF (the message says why)."""


def chromium_path() -> str | None:
    return os.environ.get("CAMPAIGN_DASH_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser") or shutil.which("google-chrome")


def print_cli(html: str) -> bytes:
    """One Chromium process per PDF (slow start; the fallback)."""
    browser = chromium_path()
    if browser is None:
        raise PdfError("cannot make the PDF: Chromium is not installed (make browser-deps)")
    with tempfile.TemporaryDirectory(prefix="cd-report-") as folder:
        source, target = os.path.join(folder, "report.html"), os.path.join(folder, "r.pdf")
        with open(source, "w", encoding="utf-8") as handle:
            handle.write(html)
        command = [browser, *FLAGS, "--no-pdf-header-footer",
                   f"--user-data-dir={folder}/profile", f"--print-to-pdf={target}",
                   f"file://{source}"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PDF_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium took over {PDF_TIMEOUT_S} s to print the PDF") from None
        if not os.path.exists(target) or os.path.getsize(target) == 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise PdfError(f"Chromium printed no PDF (exit {done.returncode}): {tail[0][:200]}")
        with open(target, "rb") as handle:
            return handle.read()


_WIRE = """import fcntl, os, sys
a = fcntl.fcntl(int(sys.argv[1]), fcntl.F_DUPFD, 10)
b = fcntl.fcntl(int(sys.argv[2]), fcntl.F_DUPFD, 10)
os.dup2(a, 3)
os.dup2(b, 4)
os.execv(sys.argv[3], sys.argv[3:])
"""


class Browser:
    """One headless Chromium driven over ``--remote-debugging-pipe`` (fds 3 and 4 of the
    child: JSON messages ended by a NUL byte)."""

    def __init__(self, path: str):
        self.folder = tempfile.mkdtemp(prefix="cd-report-browser-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # A small Python step moves the pipe ends to fds 3 and 4 and becomes Chromium (no
        # preexec_fn: the web server and the worker have threads).
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WIRE, str(to_child_r), str(from_child_w), path, *FLAGS,
             "--remote-debugging-pipe", f"--user-data-dir={self.folder}/p", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w))
        os.close(to_child_r)
        os.close(from_child_w)
        os.set_inheritable(self._to_child, False)
        os.set_inheritable(self._from_child, False)
        self._buffer = b""
        self._next_id = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise PdfError(f"Chromium did not answer within {PDF_TIMEOUT_S} s")
            ready, _, _ = select.select([self._from_child], [], [], 0.5)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise PdfError("Chromium closed its pipe (it stopped)")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             *, until_event: str | None = None, deadline: float) -> dict:
        """Send a command; return its result (and wait for ``until_event`` too)."""
        wanted = self._send(method, params, session)
        result, event_seen = None, until_event is None
        while result is None or not event_seen:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise PdfError(f"Chromium: {method}: {message['error'].get('message')}")
                result = message.get("result", {})
            elif until_event and message.get("method") == until_event and \
                    message.get("sessionId") == session:
                event_seen = True
        return result

    def print_pdf(self, path: str) -> bytes:
        deadline = time.monotonic() + PDF_TIMEOUT_S
        target = self.call("Target.createTarget", {"url": "about:blank"},
                           deadline=deadline)["targetId"]
        try:
            session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                deadline=deadline)["sessionId"]
            self.call("Page.enable", session=session, deadline=deadline)
            self.call("Page.navigate", {"url": f"file://{path}"}, session,
                      until_event="Page.loadEventFired", deadline=deadline)
            printed = self.call("Page.printToPDF", PAGE, session, deadline=deadline)
            return base64.b64decode(printed["data"])
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        try:
            self._send("Browser.close")
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


_lock = threading.Lock()
_browser: Browser | None = None


@atexit.register
def _close() -> None:
    if _browser is not None:
        _browser.close()


def html_to_pdf(html: str) -> bytes:
    """The HTML printed to PDF by this process's Chromium (started on first use, restarted if
    it died; one report at a time per process), or by a Chromium of its own as a fallback."""
    global _browser
    path = chromium_path()
    if path is None:
        raise PdfError("cannot make the PDF: Chromium is not installed (make browser-deps)")
    with tempfile.NamedTemporaryFile("w", suffix=".html", prefix="cd-report-",
                                     encoding="utf-8", delete=False) as handle:
        handle.write(html)
    try:
        with _lock:
            try:
                if _browser is None or not _browser.alive():
                    _browser = Browser(path)
                data = _browser.print_pdf(handle.name)
            except (OSError, PdfError, ValueError, KeyError):
                if _browser is not None:
                    _browser.close()
                    _browser = None
                data = print_cli(html)
    finally:
        os.unlink(handle.name)
    if not data.startswith(b"%PDF"):
        raise PdfError("Chromium's output is not a PDF")
    return data
