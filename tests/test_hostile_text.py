"""Untrusted text cannot make the page fetch anything or run anything.

A corpus of hostile strings (every Markdown image form we know of, raw HTML, script, KaTeX
commands that load URLs, javascript: links) goes into every field a user's file can fill: the
benchmark name, question ids, problem text, gold answers, model names, groups, responses (and so
the extracted answers, the step evidence and the search snippets). The warehouse is built through
the real import path; then real Chromium opens every page over `streamlit run`, and every request
the page makes is recorded: none may leave the app's own origin, and no dialog may open.
The URLs point at a local server that records hits, so a fetch that slips past the browser's
request log would still be seen.
"""
from __future__ import annotations

import http.server
import json
import threading
import urllib.parse

import pytest

from app_pages import common
from pipeline import cli
from test_e2e_browser import ARGS, CHROMIUM, REPO, _free_port, _idle, start_server
from test_render import corpus

pytestmark = [pytest.mark.slow, pytest.mark.browser]


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def tracker():
    port = _free_port()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, tracker):
    """A warehouse whose every user-supplied field is hostile; returns (db, benchmark, question ids)."""
    d = tmp_path_factory.mktemp("hostile")
    bad = corpus(tracker)
    bench = f"bench![b](http://{tracker}/bench.png)"
    lines, qids = [], []
    for i, s in enumerate(bad):
        qid = f"q{i}![q](http://{tracker}/qid{i}.png)" if i % 3 == 0 else f"q{i}"
        qids.append(qid)
        gold = s if i % 2 else "42"
        model = f"model![m](http://{tracker}/model.png)" if i % 2 else "<b>model</b>"
        response = (f"Step one: {s}\n\nWait, 2+2=5 here {s}.\n\nLet me check {s}\n\n"
                    f"So the answer is \\boxed{{{gold if i % 4 else s}}}.")
        lines.append({"model": model, "question_id": qid, "problem": f"Problem {i}: {s}", "answer": gold,
                      "sample_idx": 0, "response": response, "pred": s})
    f = d / "hostile.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in lines))
    db = d / "w.duckdb"
    rc = cli.main(["import", "--format", "jsonl", "--benchmark", bench, "--meta",
                   f"group=g![g](http://{tracker}/group.png)", str(f), "--db", str(db)])
    assert rc == 0
    return db, bench, qids


@pytest.fixture(scope="module")
def browser_page(hostile):
    from playwright.sync_api import sync_playwright

    db, _, _ = hostile
    with start_server(db) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        pg.requests, pg.dialogs = [], []
        pg.on("request", lambda r: pg.requests.append(r.url))
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.app_url = url
        yield pg
        browser.close()


def test_no_request_leaves_the_page_and_no_dialog_opens(browser_page, hostile, tracker):
    pg = browser_page
    db, bench, qids = hostile
    b = urllib.parse.quote(bench)
    urls = [f"{pg.app_url}/?b={b}", f"{pg.app_url}/ladder?b={b}", f"{pg.app_url}/coverage?b={b}",
            f"{pg.app_url}/failures?b={b}", f"{pg.app_url}/scaling?b={b}",
            f"{pg.app_url}/step_errors?b={b}", f"{pg.app_url}/trajectories?b={b}&s=answer"]
    urls += [f"{pg.app_url}/trajectories?b={b}&q={urllib.parse.quote(q)}" for q in qids]
    for url in urls:
        pg.goto(url)
        _idle(pg)
        assert pg.locator('[data-testid="stException"]').count() == 0, url
        assert pg.get_by_text(common.FAILED).count() == 0, url
    origin = pg.app_url
    leaving = [u for u in pg.requests if not (u.startswith(origin) or u.startswith("data:") or u.startswith("blob:"))]
    assert leaving == [], leaving
    assert _Recorder.hits == []
    assert pg.dialogs == []
    # the hostile text is shown, literally, not dropped: question 1's gold answer is an image with brackets
    pg.goto(f"{pg.app_url}/trajectories?b={b}&q={urllib.parse.quote(qids[1])}")
    _idle(pg)
    pg.screenshot(path=str(REPO / "artifacts" / "e2e" / "hostile_trajectory.png"), full_page=True)
    assert pg.get_by_text("![a [nested] alt](http", exact=False).count() >= 1
    assert _Recorder.hits == [] and pg.dialogs == []
