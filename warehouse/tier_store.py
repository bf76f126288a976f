"""Stored tier schemes: write one (``store_scheme``), read one (``scheme_tiers``), count them (``tier_counts``), list them (``schemes``).
The schemes themselves are computed in ``analysis/tiers.py``."""
from __future__ import annotations

import polars as pl

from warehouse import ingest
from warehouse.db import query
from warehouse.frames import tier_rank
from warehouse.records import Tier


def store_scheme(con, benchmark: str, scheme: str, tiers: pl.DataFrame) -> int:
    """Replace ``scheme`` for ``benchmark`` with these tiers (question_id, tier[, detail]); inside ``db.writer()``."""
    recs = [Tier(benchmark, r["question_id"], scheme, r["tier"], r.get("detail"))
            for r in tiers.iter_rows(named=True)]
    return ingest.replace_tier_scheme(con, benchmark, scheme, recs)


def scheme_tiers(con, benchmark: str, scheme: str = "paper") -> pl.DataFrame:
    """question_id, paper_tier: the stored tiers of one scheme (named paper_tier for ``analysis.tiers``)."""
    return query(con, "SELECT question_id, tier AS paper_tier FROM question_tiers WHERE benchmark = ? "
                      "AND scheme = ?", [benchmark, scheme])


def tier_counts(con, benchmark: str) -> pl.DataFrame:
    return query(con, f"SELECT scheme, tier, count(*) AS n FROM question_tiers WHERE benchmark = ? "
                      f"GROUP BY scheme, tier ORDER BY scheme, {tier_rank()}", [benchmark])


def schemes(con, benchmark: str) -> list[str]:
    """The tier schemes stored for ``benchmark``, ``paper`` first."""
    return [r[0] for r in con.execute("SELECT DISTINCT scheme FROM question_tiers WHERE benchmark = ? "
                                      "ORDER BY scheme = 'paper' DESC, scheme", [benchmark]).fetchall()]
