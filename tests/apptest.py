"""One way the tests open a page of the app in Streamlit's AppTest (no server, no browser)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(monkeypatch, db, page: str, timeout: float = 120, **params) -> AppTest:
    """The app on warehouse ``db`` with query ``params`` (``b=aime24``, ``q=...``), switched to ``page``
    (``app_pages/compare.py``); asserts the page ran without an exception."""
    monkeypatch.setenv("LADDER_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
