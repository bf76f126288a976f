"""Tier schemes on real data: the paper's rule on the Figure 1 values, auto tiers, the CLI."""
import csv

import numpy as np
import pytest

from analysis_fixtures import aime_truth, build_aime
from pipeline.cli import main
from charts import tier_view as tiers
from warehouse import db
from warehouse.filters import Selection


def _fig1(shared):
    with open(shared / "aime24" / "paper_reference.csv", newline="") as f:
        return list(csv.DictReader(f))


def _rule_by_hand(r):
    b, s, l_ = float(r["fig1_base_avg8"]), float(r["fig1_small_sft_avg8"]), float(r["fig1_large_avg8"])
    if b > 0.5:
        return "Easy"
    if s > 0.5:
        return "Medium"
    return "Exh" if max(b, s, l_) < 0.1 else "Hard"


def test_rule_on_figure1_values_and_disagreements(aime, shared):
    rows = _fig1(shared)
    rule = tiers.rule_tiers(aime, Selection("aime24"), source="paper_fig1")
    assert dict(zip(rule["question_id"], rule["tier"])) == {r["id"]: _rule_by_hand(r) for r in rows}
    dis = tiers.paper_rule_disagreements(aime, "aime24")
    expected = {r["id"]: (r["paper_tier"], _rule_by_hand(r)) for r in rows if r["paper_tier"] != _rule_by_hand(r)}
    assert {q: (p, t) for q, p, t in dis.select("question_id", "paper_tier", "rule_tier").iter_rows()} == expected
    assert "70" in expected and len(expected) <= 4   # the paper's manual call: id 70 (small-SFT 0.69) is Hard
    assert dis.filter(question_id="70")["small_sft"][0] == pytest.approx(0.6875)


def test_rule_thresholds_and_group_names_are_parameters(aime):
    strict = tiers.rule_tiers(aime, Selection("aime24"), source="paper_fig1", easy=0.8, medium=0.99)
    assert sorted(strict.filter(tier="Easy")["question_id"]) == ["69"]          # base 0.875 only
    with pytest.raises(ValueError, match="nope"):
        tiers.rule_tiers(aime, Selection("aime24"), base="nope", source="paper_fig1")


def test_auto_tiers_from_pooled_solve_rates(aime, shared):
    truth = aime_truth(shared)
    rate = {q: np.mean([truth[m][q] for m in truth]) for q in truth["Llama-3.1-8B"]}
    out = tiers.auto_tiers(aime, Selection("aime24"), k=4)
    got = dict(zip(out["question_id"], out["tier"]))
    assert {q for q, t in got.items() if t == "Exh"} == {q for q, r in rate.items() if r == 0}
    order = {"Easy": 0, "Medium": 1, "Hard": 2}
    ranked = sorted((q for q in got if got[q] != "Exh"), key=lambda q: -rate[q])
    assert [order[got[q]] for q in ranked] == sorted(order[got[q]] for q in ranked)   # monotone in difficulty
    assert set(got.values()) == {"Easy", "Medium", "Hard", "Exh"}
    three = tiers.auto_tiers(aime, Selection("aime24"), k=3, exh_threshold=0.1)
    assert set(three["tier"]) <= {"T1", "T2", "Exh"}
    assert set(three.filter(tier="Exh")["question_id"]) == {q for q, r in rate.items() if r <= 0.1}


def test_cli_stores_schemes(shared, tmp_db, capsys):
    build_aime(tmp_db, shared, models=["Qwen2.5-14B-Instruct", "Sky-T1-math-correct-5K-14B"])
    assert main(["tiers", "--scheme", "rule", "--benchmark", "aime24", "--source", "paper_fig1",
                 "--db", str(tmp_db)]) == 0
    out = capsys.readouterr().out
    assert "disagreements" in out and "70" in out
    assert main(["tiers", "--scheme", "auto", "--benchmark", "aime24", "--k", "4", "--db", str(tmp_db)]) == 0
    with db.reader(tmp_db) as con:
        counts = dict(con.execute("SELECT scheme, count(*) FROM question_tiers GROUP BY 1").fetchall())
        assert counts == {"paper": 30, "rule": 30, "auto": 30}
        t70 = con.execute("SELECT tier FROM question_tiers WHERE scheme='rule' AND question_id='70'").fetchone()
        assert t70 == ("Medium",)
    assert main(["tiers", "--scheme", "auto", "--benchmark", "nope", "--db", str(tmp_db)]) == 2
    assert "nope" in capsys.readouterr().err
