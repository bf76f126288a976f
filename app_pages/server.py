"""Serve the app: ``python -m app_pages.server [streamlit run options]`` is ``streamlit run app.py [options]`` with
every module the pages import loaded before the server accepts a connection (``common.preload``), so that the
first page a user opens does not pay for importing pandas, plotly, scipy and our own packages (~0.8 s of its
first run on a 2-core machine). ``make serve`` and ``bench.appserver`` start the app this way; a plain
``streamlit run app.py`` still works, and loads the same modules in the background after its first page."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    # With no server running yet, each st.cache_data decorator logs "No runtime found, using
    # MemoryCacheStorageManager": it only checks its arguments against a throwaway store (the caches are made on
    # their first call, in the server's store), so say nothing while the modules load.
    quiet = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        from app_pages import common

        common.preload()
        common.freeze_heap()     # the modules just loaded: out of the full collection after every script run
    finally:
        quiet.setLevel(level)
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
