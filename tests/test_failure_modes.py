"""Failure modes (issue 25): embeddings of what wrong trajectories did, clusters named by class-based TF-IDF,
`python -m pipeline annotate --clusters`, the Exh failures section and "more like this" on Trajectories.
Real data: the demo warehouse's AIME24 wrong trajectories (a copy: the command writes)."""
import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analysis import failure_modes
from pipeline import cli
from derivation import embed
from pipeline.derive.annotate import cluster_warehouse, embed_warehouse
from warehouse import clusters, db
from warehouse.filters import Selection

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _copy(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    if Path(f"{src}.search").is_dir():
        shutil.copytree(f"{src}.search", f"{dst}.search")
    return dst


@pytest.fixture(scope="module")
def clustered(app_db, tmp_path_factory):
    """A copy of the demo warehouse after `annotate --clusters --benchmark aime24`."""
    path = _copy(app_db, tmp_path_factory.mktemp("fm") / "demo.duckdb")
    assert cli.main(["annotate", "--clusters", "--benchmark", "aime24", "--db", str(path)]) == 0
    return path


def _stored(path):
    with db.reader(path) as con:
        return (clusters.clustering(con, "aime24"), clusters.clusters(con, "aime24"),
                db.query(con, "SELECT trajectory_id, cluster_id, distance FROM cluster_assignments "
                              "WHERE benchmark = 'aime24' ORDER BY trajectory_id"))


# --- pure pieces --------------------------------------------------------------------------------------
def test_kmeans_is_seeded_and_finds_separated_groups():
    rng = np.random.default_rng(5)
    centres = embed._unit(rng.normal(size=(3, 16)))
    X = embed._unit(np.repeat(centres, 30, axis=0) + 0.05 * rng.normal(size=(90, 16)))
    a, b = embed.cluster(X, seed=3), embed.cluster(X, seed=3)
    assert a.k == 3 and np.array_equal(a.labels, b.labels) and a.scores == b.scores
    truth = np.repeat([0, 1, 2], 30)
    assert failure_modes.adjusted_rand(a.labels, truth) == pytest.approx(1.0)
    assert a.silhouette > 0.8
    assert embed.silhouette(X, truth) == pytest.approx(a.silhouette)


def test_adjusted_rand_of_a_relabelling_is_one_and_of_chance_near_zero():
    assert failure_modes.adjusted_rand([0, 0, 1, 1, 2], [5, 5, 7, 7, 1]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert abs(failure_modes.adjusted_rand(rng.integers(0, 4, 2000), rng.integers(0, 4, 2000))) < 0.02


def test_distinctive_terms_come_from_the_clusters_own_text():
    texts = ["the modular inverse mod 7 is wrong", "modular inverse again", r"\frac{1}{2} the torus radius",
             "torus radius circle", "torus radius"]
    terms = failure_modes.distinctive_terms(texts, [0, 0, 1, 1, 1])
    assert terms[0][0] in ("modular", "inverse", "modular inverse") and "torus" not in " ".join(terms[0])
    assert "frac" not in terms[1] and terms[1][0] in ("torus", "radius", "torus radius")


def test_views_take_the_final_steps_the_error_step_and_the_answer():
    text = "First. Second step. Third wrong step. Final: 42"
    spans = [(0, 6), (7, 19), (20, 37), (38, len(text))]
    v = embed.views(text, spans, 2, "42", {**embed.PARAMS, "final_steps": 2})
    assert v == {"final": "Third wrong step. Final: 42", "error": "Third wrong step.", "answer": "final answer: 42"}
    assert set(embed.views("", [], None, None)) == set()


# --- the command on real data ------------------------------------------------------------------------
def test_every_wrong_trajectory_is_assigned_once(clustered):
    fm, found, assigned = _stored(clustered)
    with db.reader(clustered) as con:
        wrong = db.query(con, "SELECT trajectory_id FROM outcomes WHERE benchmark = 'aime24' AND NOT is_correct")
    assert assigned["trajectory_id"].n_unique() == assigned.height == wrong.height == fm["n_trajectories"]
    assert set(assigned["trajectory_id"]) == set(wrong["trajectory_id"])
    assert 2 <= fm["k"] <= embed.K_MAX and found.height == fm["k"]
    assert found["size"].sum() == assigned.height
    assert fm["scores"][str(fm["k"])] == max(fm["scores"].values())     # k: the best silhouette tried
    for r in found.iter_rows(named=True):                               # 3 representatives, its own members
        members = set(assigned.filter(pl.col("cluster_id") == r["cluster_id"])["trajectory_id"])
        assert len(r["examples"]) == 3 and set(r["examples"]) <= members


def test_labels_are_drawn_from_the_clusters_own_text(clustered):
    _, found, assigned = _stored(clustered)
    with db.reader(clustered) as con:
        texts = db.query(con, "SELECT trajectory_id, string_agg(text, ' ') AS text FROM trajectory_embeddings "
                              "WHERE view IN ('final', 'error') GROUP BY ALL")
    own = assigned.join(texts, on="trajectory_id").group_by("cluster_id").agg(pl.col("text").str.join(" "))
    own = {r["cluster_id"]: re.sub(r"\\[a-zA-Z]+", " ", r["text"]).lower() for r in own.iter_rows(named=True)}
    for r in found.iter_rows(named=True):
        assert r["label"] == " · ".join(r["terms"][:3])
        for term in r["terms"]:
            assert all(w in own[r["cluster_id"]] for w in term.split(" ")), (r["cluster_id"], term)


def test_cluster_by_tier_counts_equal_a_direct_recount(clustered):
    sel = Selection("aime24")
    with db.reader(clustered) as con:
        assigned = clusters.assignments(con, sel)
        direct = db.query(con, """SELECT a.cluster_id, coalesce(t.tier, '(none)') AS tier, count(*) AS n
            FROM cluster_assignments a JOIN outcomes o USING (trajectory_id)
            LEFT JOIN question_tiers t ON t.benchmark = o.benchmark AND t.question_id = o.question_id
                 AND t.scheme = 'paper'
            WHERE a.benchmark = 'aime24' GROUP BY ALL""")
    got = failure_modes.counts(assigned, "tier")
    key = ["cluster_id", "tier"]
    assert sorted(got.select(*key, "n").rows()) == sorted(direct.select(*key, "n").rows())
    exh = Selection("aime24", tiers=("Exh",))
    with db.reader(clustered) as con:
        only = clusters.assignments(con, exh)
    assert set(only["tier"]) == {"Exh"} and only.height == direct.filter(pl.col("tier") == "Exh")["n"].sum()
    table = failure_modes.cluster_table(_stored(clustered)[1], assigned)
    assert table["n"].sum() == assigned.height and table["share"].sum() == pytest.approx(1.0)


def test_determinism_and_idempotence(clustered, capsys):
    before = _stored(clustered)
    with db.reader(clustered) as con:
        n_vec = con.execute("SELECT count(*) FROM trajectory_embeddings").fetchall()[0][0]
    capsys.readouterr()
    assert cli.main(["annotate", "--clusters", "--benchmark", "aime24", "--db", str(clustered)]) == 0
    assert '"embedded": 0' in capsys.readouterr().out                  # nothing to embed again
    after = _stored(clustered)
    assert before[0] == after[0]
    assert before[1].equals(after[1]) and before[2].equals(after[2])    # same clusters, names, assignments
    with db.reader(clustered) as con:
        assert con.execute("SELECT count(*) FROM trajectory_embeddings").fetchall()[0][0] == n_vec
        versions = con.execute("SELECT DISTINCT version, embedder FROM trajectory_embeddings").fetchall()
    assert versions == [(embed.version(), embed.EMBEDDER)]


def test_a_change_of_embedding_parameters_recomputes(app_db, tmp_path):
    path = _copy(app_db, tmp_path / "demo.duckdb")
    first = embed_warehouse(path, "math_cot_100")
    assert first["embedded"] > 0 and embed_warehouse(path, "math_cot_100")["embedded"] == 0
    params = {**embed.PARAMS, "final_steps": 2}
    again = embed_warehouse(path, "math_cot_100", params=params)
    assert again["embedded"] == first["embedded"] and again["embedding"]["version"] != first["embedding"]["version"]
    with db.reader(path) as con:
        assert con.execute("SELECT DISTINCT version FROM trajectory_embeddings").fetchall() == \
            [(embed.version(params),)]
    out = cluster_warehouse(path, "math_cot_100", params=params)
    assert out[0]["n_trajectories"] == 71


def test_too_few_wrong_trajectories_are_not_grouped(tmp_path, monkeypatch):
    import tiny

    path = tiny.build(tmp_path)
    embed_warehouse(path)
    out = cluster_warehouse(path)
    with db.reader(path) as con:
        n = clusters.n_wrong(con, tiny.BENCHMARK)
        fm = clusters.clustering(con, tiny.BENCHMARK)
    assert 0 < n < embed.MIN_TRAJECTORIES and fm["k"] == 0 and fm["n_trajectories"] == n
    assert out[0]["note"] == f"too few wrong trajectories to group ({n}); need at least {embed.MIN_TRAJECTORIES}"
    at = _app(monkeypatch, path, b=tiny.BENCHMARK)
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Too few wrong trajectories to group ({n}); need at least" in i.value for i in at.info)


def test_unknown_benchmark_is_a_one_line_error(clustered, capsys):
    assert cli.main(["annotate", "--clusters", "--benchmark", "nope", "--db", str(clustered)]) == 2
    assert "no benchmark 'nope'" in capsys.readouterr().err


# --- the views ------------------------------------------------------------------------------------------
def _app(monkeypatch, path, **params) -> AppTest:
    monkeypatch.setenv("LADDER_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at


def test_failures_page_shows_the_failure_modes(clustered, monkeypatch):
    at = _app(monkeypatch, clustered, b="aime24")
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Failure modes" in [h.value for h in at.subheader]
    fm, found, _ = _stored(clustered)
    pick = at.selectbox(key="fail_fm_pick")
    assert set(pick.options) <= {f"#{k} {v}" for k, v in zip(found["cluster_id"], found["label"])}
    pick.set_value(int(found["cluster_id"][-1])).run()
    assert not at.exception
    assert any("wrong trajectories in this selection" in m.value for m in at.markdown)
    at.segmented_control(key="fail_fm_by").set_value("model").run()
    assert not at.exception


def test_failures_page_without_clusters_says_how_to_get_them(app_db, monkeypatch):
    at = _app(monkeypatch, app_db, b="aime24")
    at.switch_page("app_pages/failures.py").run()
    assert not at.exception
    assert any("No failure modes stored" in i.value for i in at.info)
    assert any("annotate --clusters --benchmark" in c.value for c in at.code)      # the command, copyable


def test_trajectories_page_more_like_this(clustered, monkeypatch):
    _, found, _ = _stored(clustered)
    tid = int(found["examples"][0][0])
    with db.reader(clustered) as con:
        qid = con.execute("SELECT question_id FROM outcomes WHERE trajectory_id = ?", [tid]).fetchall()[0][0]
        near = clusters.neighbours(con, tid, 10, False)
    assert near.height == 10 and tid not in near["trajectory_id"].to_list()
    assert near["similarity"].is_sorted(descending=True)
    at = _app(monkeypatch, clustered, b="aime24", q=qid, t=str(tid))
    at.switch_page("app_pages/trajectories.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "More like this" in [h.value for h in at.subheader]
    at.toggle(key="traj_more_same").set_value(True).run()
    assert not at.exception


def test_vectorised_silhouette_equals_the_textbook_loop():
    rng = np.random.default_rng(1)
    X = embed._unit(rng.normal(size=(60, 8))).astype(np.float64)
    labels = rng.integers(4, size=60)
    labels[7] = 4                                   # a cluster of one counts 0
    D = np.maximum(1 - X @ X.T, 0)
    want = []
    for i in range(60):
        own = (labels == labels[i]) & (np.arange(60) != i)
        if not own.any():
            want.append(0.0)
            continue
        a = D[i, own].mean()
        b = min(D[i, labels == j].mean() for j in set(labels.tolist()) - {labels[i]})
        want.append((b - a) / max(a, b))
    assert embed.silhouette(X, labels) == pytest.approx(np.mean(want))


def test_k_is_chosen_on_a_sample_and_every_point_is_clustered_deterministically(monkeypatch):
    """More points than SILHOUETTE_SAMPLE: k is chosen on the seeded sample, the chosen k runs on every point;
    two runs give the same assignments, and the well-separated groups are found."""
    monkeypatch.setattr(embed, "SILHOUETTE_SAMPLE", 200)
    rng = np.random.default_rng(2)
    centres = embed._unit(rng.normal(size=(4, 32)))
    truth = rng.integers(4, size=1500)
    X = embed._unit(centres[truth] + 0.1 * rng.normal(size=(1500, 32)))
    a, b = embed.cluster(X, seed=0), embed.cluster(X, seed=0)
    assert a.k == 4 and len(a.labels) == 1500 and np.array_equal(a.labels, b.labels) and a.scores == b.scores
    assert failure_modes.adjusted_rand(a.labels, truth) == pytest.approx(1.0)
    assert set(a.scores) == set(range(2, embed.K_MAX + 1))


def test_assign_gives_the_nearest_members_mean():
    rng = np.random.default_rng(3)
    X = embed._unit(rng.normal(size=(50, 6))).astype(np.float64)
    labels = rng.integers(3, size=50)
    new = embed._unit(rng.normal(size=(10, 6))).astype(np.float64)
    got, dist = embed.assign(X, labels, 3, new)
    C = np.array([X[labels == j].mean(axis=0) for j in range(3)])
    assert got.tolist() == [int(np.argmin(((C - x) ** 2).sum(axis=1))) for x in new]
    unit = C / np.linalg.norm(C, axis=1, keepdims=True)
    assert dist == pytest.approx([1 - x @ unit[j] for x, j in zip(new, got)], abs=1e-6)


def test_with_questions_a_cluster_is_named_by_words_spread_over_its_questions():
    """Without questions the statement word of one question ("torus", many times) wins; with them a word used
    on each of the cluster's questions ("perhaps") does. Either way only the cluster's own words."""
    texts = ["torus torus torus torus torus perhaps", "cube perhaps", "prism perhaps", "wins bob wins", "bob wins"]
    labels, groups = [0, 0, 0, 1, 1], ["q1", "q2", "q3", "q4", "q4"]
    assert failure_modes.distinctive_terms(texts, labels, top=1)[0] == ["torus"]
    named = failure_modes.distinctive_terms(texts, labels, top=1, groups=groups)
    assert named[0] == ["perhaps"] and named[1][0] in {"wins", "bob"}


def test_a_text_of_no_known_token_is_a_zero_vector_not_nan():
    v = embed.embed_texts(["", "final answer: 3"])
    assert np.isfinite(v).all() and not v[0].any() and v[1].any()
