"""The one selection every analysis function and every page takes.

A ``Selection`` names a benchmark and narrows it: tier scheme and tiers, question categories,
models, model groups. ``where()`` turns it into a parameterized SQL condition over any table
or view that has the columns ``benchmark``, ``question_id`` and ``model_id`` (for example
``run_question_stats`` or ``outcomes``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    benchmark: str
    scheme: str = "paper"
    tiers: tuple[str, ...] = ()          # empty = all tiers
    categories: tuple[str, ...] = ()     # empty = all categories
    models: tuple[str, ...] = ()         # empty = all models
    groups: tuple[str, ...] = ()         # empty = all groups

    def where(self, alias: str = "s") -> tuple[str, list]:
        """SQL condition (no user text inside) and its parameters."""
        a = f"{alias}." if alias else ""
        conds, params = [f"{a}benchmark = ?"], [self.benchmark]
        if self.tiers:
            conds.append(f"{a}question_id IN (SELECT question_id FROM question_tiers WHERE benchmark = ? "
                         f"AND scheme = ? AND list_contains(?, tier))")
            params += [self.benchmark, self.scheme, list(self.tiers)]
        if self.categories:
            conds.append(f"{a}question_id IN (SELECT question_id FROM questions WHERE benchmark = ? "
                         f"AND list_contains(?, category))")
            params += [self.benchmark, list(self.categories)]
        if self.models:
            conds.append(f"list_contains(?, {a}model_id)")
            params.append(list(self.models))
        if self.groups:
            conds.append(f'{a}model_id IN (SELECT model_id FROM models WHERE list_contains(?, "group"))')
            params.append(list(self.groups))
        return " AND ".join(conds), params
