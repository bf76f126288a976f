"""One way the tests open a page of the app in Streamlit's AppTest (no server, no browser)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def count_calls(monkeypatch, module, name: str) -> list:
    """Count the calls of query ``module.name`` that the app makes (``common.q`` finds a query by its module and name,
    so the counting wrapper keeps both); Streamlit's caches are cleared first, since another test of this process
    may have cached the answer. Returns the list that grows by one each call."""
    import functools

    import streamlit as st

    calls, real = [], getattr(module, name)

    @functools.wraps(real)
    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(module, name, counted)
    st.cache_data.clear()
    return calls


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


def open_drop_zone(at: AppTest) -> AppTest:
    """Open Overview's "Import trace files" (the page reruns): its drop zone is drawn only while it is open."""
    if "ov_import" not in at.session_state or not at.session_state["ov_import"]:
        at.session_state["ov_import"] = True
        at.run()
    return at
