"""One declaration of each shared idea (issue 28): the tier order and the numeric model factors live in
``warehouse.records`` and every rendering of them (SQL, polars, sort keys) is built from it; every command's
"this model is not in the warehouse" is one function with one error type."""
from __future__ import annotations

import duckdb
import polars as pl
import pytest

from warehouse import frames, records
from warehouse.errors import NotFound

VALUES = [*records.TIERS, "Other", "(none)", "", None]


def test_every_tier_rank_is_the_records_one():
    from analysis import metrics
    from charts import present

    want = [records.tier_rank(v) for v in VALUES]
    assert want == [0, 1, 2, 3, 4, 4, 4, 4]
    con = duckdb.connect()
    sql = [con.execute(f"SELECT {frames.tier_rank('t')} FROM (SELECT ?::VARCHAR AS t)", [v]).fetchone()[0]
           for v in VALUES]
    assert sql == want
    df = pl.DataFrame({"tier": VALUES}, schema={"tier": pl.Utf8})
    assert df.select(metrics.tier_rank())["tier"].to_list() == want
    assert [present.tier_rank(v) for v in VALUES] == want


def test_the_numeric_factors_are_declared_once():
    from analysis import migration, scaling

    assert scaling.NUMERIC_FACTORS is records.NUMERIC_FACTORS
    assert migration.NUMERIC_FACTORS is records.NUMERIC_FACTORS
    assert set(records.NUMERIC_FACTORS) <= set(records.MODEL_RANGES)      # each is checked on import
    assert not hasattr(frames, "NUMERIC")


@pytest.mark.parametrize("argv", [
    ["report", "answers", "--benchmark", "tiny", "--models", "nobody"],
    ["report", "migration", "--benchmark", "tiny", "--factor", "sft_size", "--models", "nobody"],
    ["report", "compare", "--benchmark", "tiny", "--a", "nobody", "--b", "tiny-base"],
    ["search", "x", "--models", "nobody"],
    ["timeline", "--model", "nobody"],
])
def test_an_unknown_model_is_one_not_found(argv, tiny_db, capsys):
    """The same check (``pipeline.commands.common.check_models``) everywhere: ``NotFound``, one line
    naming the flag, the unknown model and the known ones."""
    from pipeline.cli import main
    from pipeline.commands.common import check_models
    from warehouse import db, lookup

    assert main([*argv, "--db", str(tiny_db)]) == 2
    err = capsys.readouterr().err.strip()
    with db.reader(tiny_db) as con:
        known = [m.model_id for m in lookup.models(con)]
        with pytest.raises(NotFound) as e:
            check_models(con, ["nobody"], argv[argv.index("nobody") - 1])
    assert err == f"error: {e.value}" and "'nobody' not in the warehouse: known are " + ", ".join(known) in err



@pytest.mark.parametrize("argv", [
    ["stats"], ["search", "x"], ["timeline"], ["export-charts", "--out", "{tmp}"],
    ["report", "answers"], ["report", "html", "--out", "{tmp}/r.html"],
])
def test_an_unknown_benchmark_is_one_not_found(argv, tiny_db, tmp_path, capsys):
    """Every command's ``--benchmark`` check is ``common.check_benchmark``: ``NotFound``, one line naming the
    benchmark and the known ones."""
    from pipeline.cli import main
    from pipeline.commands.common import check_benchmark

    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*argv, "--benchmark", "nope", "--db", str(tiny_db)]) == 2
    with pytest.raises(NotFound) as e:
        check_benchmark("nope", ["tiny"])
    assert capsys.readouterr().err.strip() == f"error: {e.value}"
    assert str(e.value) == "--benchmark 'nope' is not in the warehouse: known are tiny"
