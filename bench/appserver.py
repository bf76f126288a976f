"""The one way our scripts and tests start the app: `python -m app_pages.server` (`streamlit run app.py` with the
pages' modules loaded first) over a warehouse on a localhost port.

Used by bench/browser.py, docs/screenshots.py and the browser tests (tests/test_e2e_browser.py's
``start_server``). The server watches no files and sends no usage statistics; its stderr goes to a temporary
file, whose tail is the error when it does not start (a pipe nobody reads could fill and stall it)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Served:
    url: str            # http://127.0.0.1:PORT
    pid: int            # the streamlit process
    started_s: float    # seconds from the start until /_stcore/health answered


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(db, port: int | None = None, timeout_s: float = 120, env: dict | None = None):
    """Serve warehouse ``db`` (LADDER_DB) on ``port`` (default: a free one) until the block ends; yields a
    `Served` once the server answers its health check. Raises RuntimeError (with its stderr's tail) when it
    exits or does not answer within ``timeout_s``."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "app_pages.server", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                cwd=ROOT, env=dict(os.environ, **(env or {}), LADDER_DB=str(Path(db).resolve())),
                                stdout=subprocess.DEVNULL, stderr=err, text=True)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err.seek(0)
                        why = (f"exited ({proc.returncode})" if proc.poll() is not None
                               else f"did not answer /_stcore/health within {timeout_s:.0f} s")
                        raise RuntimeError(f"streamlit on port {port} {why}: {err.read()[-2000:]}")
                    time.sleep(0.2)
            yield Served(url, proc.pid, time.perf_counter() - t0)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
