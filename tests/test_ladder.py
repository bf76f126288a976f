"""The ladder on the real skythought AIME24 traces."""
import numpy as np
import pytest

from analysis_fixtures import aime_truth
from analysis import ladder
from warehouse.filters import Selection
from warehouse.frames import per_question, reference_values


def test_solved_matrix_matches_the_files(aime, shared):
    truth = aime_truth(shared)
    for mode in ("any", "threshold"):      # one sample each: both rules agree
        m = ladder.solved_matrix(per_question(aime, Selection("aime24")), solved=mode)
        assert m.height == 19 * 30
        assert {(k, q): s for k, q, s in m.select("key", "question_id", "solved").iter_rows()} == \
            {(k, q): v for k, row in truth.items() for q, v in row.items()}
    # the easiest question (q_rank 0) has the highest solve rate
    rate = {q: np.mean([truth[k][q] for k in truth]) for q in truth["Llama-3.1-8B"]}
    first = m.filter(q_rank=0)["question_id"][0]
    assert rate[first] == max(rate.values())
    with pytest.raises(ValueError, match="solved"):
        ladder.solved_matrix(per_question(aime, Selection("aime24")), solved="most")


def test_guttman_statistics_by_hand():
    perfect = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    g = ladder.guttman_stats(perfect)
    assert g["reproducibility"] == 1.0 and g["loevinger_h"] == 1.0 and g["guttman_errors"] == 0
    x = np.array([[1, 1, 0], [1, 0, 1], [1, 0, 0]])
    g = ladder.guttman_stats(x)
    assert g["guttman_errors"] == 2 and g["reproducibility"] == pytest.approx(7 / 9)
    assert g["observed_pair_errors"] == 1 and g["expected_pair_errors"] == pytest.approx(2 / 3)
    assert g["loevinger_h"] == pytest.approx(-0.5)


def test_scalogram_and_violations_on_real_traces(aime, shared):
    truth = aime_truth(shared)
    models = sorted(truth)
    qids = sorted(truth[models[0]])
    X = np.array([[truth[m][q] for q in qids] for m in models])
    rate = X.mean(axis=0)
    hand = sum(1 for i in range(len(models)) for e in range(len(qids)) for h in range(len(qids))
               if rate[e] > rate[h] and not X[i, e] and X[i, h])
    v = ladder.violations(per_question(aime, Selection("aime24")), solved="any")
    assert v.height == hand > 0 and (v["gap"] > 0).all()
    s = ladder.scalogram(per_question(aime, Selection("aime24")), solved="any").row(0, named=True)
    assert s["n_keys"] == 19 and s["n_questions"] == 30
    assert 0.8 < s["reproducibility"] <= 1 and 0 < s["loevinger_h"] < 1   # a strong but imperfect ladder


def test_rasch_recovers_known_parameters():
    rng = np.random.default_rng(0)
    theta, b = rng.normal(0, 1, 40), np.linspace(-2, 2, 25)
    n = np.full((40, 25), 16)
    c = rng.binomial(n, 1 / (1 + np.exp(-(theta[:, None] - b[None, :]))))
    th, bh, se_th, se_b = ladder.rasch_fit(n, c, ridge=0.01)
    assert np.corrcoef(b, bh)[0, 1] > 0.97 and np.corrcoef(theta, th)[0, 1] > 0.9
    assert np.mean(np.abs((bh - bh.mean()) - (b - b.mean())) < 2 * se_b) > 0.8


def test_difficulty_is_monotone_in_solve_rate(aime):
    d = ladder.difficulty(per_question(aime, Selection("aime24")))
    assert d.height == 30 and (d["rasch_lo"] < d["rasch_b"]).all() and (d["rasch_b"] < d["rasch_hi"]).all()
    by_rate = d.sort("solve_rate", descending=True)
    assert np.all(np.diff(by_rate["rasch_b"].to_numpy()) >= -1e-4)
    a = ladder.abilities(per_question(aime, Selection("aime24")))
    assert a.height == 19 and a["key"][-1] == "Llama-3.1-8B"


def test_report_is_one_fetch_and_the_chart_orders_questions_as_the_table(aime):
    """report() needs one per-question frame; the ladder chart's x axis is the table's x column."""
    import charts
    from analysis import metrics

    sel = Selection("aime24", tiers=("Medium", "Hard", "Exh"))
    for by in ("group", "model"):
        pq = per_question(aime, sel, by)
        rep = ladder.report(pq, reference_values(aime, sel))
        assert rep["questions"] is pq
        acc = rep["accuracy"]
        assert acc.equals(metrics.question_accuracy(pq, reference_values(aime, sel)))
        assert rep["difficulty"].equals(ladder.difficulty(pq))
        table_order = acc.unique("question_id").sort("x")["question_id"].to_list()
        fig = charts.ladder_figure(acc, series="key")
        assert list(fig.layout.xaxis.categoryarray) == table_order
