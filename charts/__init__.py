"""Plotly figures and their export: the presentation layer over the frames ``warehouse/`` returns.

- ``charts.figures``: pure figure builders, a polars DataFrame in, a plotly Figure out (no queries);
  the builders are re-exported here, so a page does ``import charts`` and ``charts.ladder_figure(...)``.
- ``charts.present``: the one presentation vocabulary (column labels, number formats, the tier and group
  palettes, tier order, shortened labels) used by the figures, the app's tables and the report;
- ``charts.export``: figures as PNG/SVG/PDF (Kaleido, system Chromium) or HTML, tables as CSV/Parquet,
  a page's charts as a zip (``from charts import export``).

The app (``app_pages/``) and the headless export (``python -m pipeline export-charts``) draw the same
figures from here. Importing ``charts.figures`` (and so this package) makes ``TEMPLATE`` the process's
default plotly template:
plotly gives a new figure its default template as is (a registered template is valid already), while a
template assigned through the layout is validated again in full (~13 ms a figure), so every figure is
drawn in TEMPLATE by default and ``figures._figure`` names it explicitly only if someone changed that.
"""
from charts.figures import (PALETTE, REF_COLORS, TEMPLATE, TIER_COLORS, TIER_FILLS, TOP_KEYS, answer_class_figure,
                            bar_figure, difficulty_figure, empty_figure, gap_figure, grid_figure, heatmap_figure,
                            ladder_figure, line_figure, migration_figure, scatter_figure, solved_matrix_figure)

__all__ = ["TEMPLATE", "PALETTE", "REF_COLORS", "TIER_COLORS", "TIER_FILLS", "TOP_KEYS", "answer_class_figure",
           "bar_figure", "difficulty_figure", "empty_figure", "gap_figure", "grid_figure", "heatmap_figure",
           "ladder_figure", "line_figure", "migration_figure", "scatter_figure", "solved_matrix_figure"]
