"""bench/appserver.serve: the one app start-up of bench/browser.py, docs/screenshots.py and the browser tests."""
import json
import socket
import urllib.request
from pathlib import Path

import pytest

from bench.appserver import free_port, serve

pytestmark = pytest.mark.slow


def test_serves_the_warehouse_and_stops(tiny_db):
    with serve(tiny_db) as s:
        assert s.url.startswith("http://127.0.0.1:") and s.started_s > 0
        assert urllib.request.urlopen(s.url + "/_stcore/health", timeout=10).read() == b"ok"
        env = Path(f"/proc/{s.pid}/environ").read_bytes().split(b"\0")
        assert f"LADDER_DB={Path(tiny_db).resolve()}".encode() in env
        host = json.loads(urllib.request.urlopen(s.url + "/_stcore/host-config", timeout=10).read())
        assert host                                   # the app answers, not only the health check
    assert not Path(f"/proc/{s.pid}").exists()        # stopped and reaped


def test_a_server_that_cannot_start_says_why(tiny_db):
    port = free_port()
    with socket.socket() as taken:                    # the port is in use: streamlit exits with its reason
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(RuntimeError, match=f"streamlit on port {port} exited .*{port}"):
            with serve(tiny_db, port=port):
                pass
