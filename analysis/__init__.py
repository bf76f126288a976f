"""The statistics of the ladder: pure functions over polars frames fetched by ``warehouse.frames``.

No module here opens a connection or draws a figure: a page or a command fetches a frame once and
hands it to as many of these functions as it shows (``charts/pages.py``, ``charts/tier_view.py``).
"""
