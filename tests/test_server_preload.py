"""app_pages.server: the modules every page imports are loaded before the server accepts a connection."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from app_pages import common

ROOT = Path(common.__file__).resolve().parent.parent


def test_page_modules_are_read_from_the_pages_sources():
    names = common.page_modules()
    # what the pages import at their top (overview: polars, charts.report; trajectories: analysis.timeline) and the
    # lazily imported heavy ones (WARM_MODULES)
    for name in ("polars", "charts.report", "warehouse.inventory", "analysis.timeline", "scipy.stats",
                 "streamlit.emojis"):
        assert name in names
    assert not any(n.startswith("__future__") for n in names)


def test_preload_loads_them_all_and_says_nothing_in_a_fresh_process():
    """In a fresh interpreter (as ``python -m app_pages.server`` starts): every module of ``page_modules()`` that
    is a module is loaded, nothing is logged (no failed import, no "No runtime found" from the cache
    decorators), and the server's command line is streamlit's."""
    code = textwrap.dedent("""
        import sys
        from streamlit.web import cli
        called = {}
        cli.main = lambda prog_name: called.update(argv=list(sys.argv), prog=prog_name)
        from app_pages import server
        server.main(["--server.port", "9"])
        from app_pages import common
        missing = [n for n in common.page_modules() if n not in sys.modules       # a module, or a name in one
                   and not hasattr(sys.modules.get(n.rpartition(".")[0]), n.rpartition(".")[2])]
        print("MISSING", missing)
        print("ARGV", called["argv"][:2], called["argv"][3:], called["prog"])
        import gc
        print("FROZEN", gc.get_freeze_count() > 100_000, len(gc.get_objects()) < gc.get_freeze_count() // 20)
        # Streamlit's first element calls inspect.stack(): its map of the loaded modules' files is made already
        import inspect, os.path
        calls, realpath = [], os.path.realpath
        os.path.realpath = lambda *a, **k: calls.append(a) or realpath(*a, **k)
        inspect.stack()
        os.path.realpath = realpath
        print("MODULE FILES MAPPED", len(calls) < 50, len(calls))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "MISSING []" in out.stdout
    assert "ARGV ['streamlit', 'run'] ['--server.port', '9'] streamlit" in out.stdout
    assert "No runtime found" not in out.stderr and "preloading" not in out.stderr, out.stderr
    # what was loaded is out of the full collection Streamlit runs after every script run (0.1-0.3 s a click), and
    # unfrozen at exit: no "nanobind: leaked" from DuckDB's bindings
    assert "FROZEN True True" in out.stdout and "leaked" not in out.stderr, (out.stdout, out.stderr)
    assert "MODULE FILES MAPPED True" in out.stdout, out.stdout


def test_the_warm_up_loads_the_grader_in_a_fresh_process(tmp_path):
    """After the first page the warm-up thread loads math-verify (``grade.warm_worker``): else the first answer classes
    that compare two answers not both integers paid ~0.4 s (1 s without the preload) on a page's first run."""
    code = textwrap.dedent("""
        import sys
        from app_pages import common
        common.preload()
        before = "math_verify" in sys.modules
        common._warm()
        print("BEFORE", before, "AFTER", "math_verify" in sys.modules)
        import gc
        print("MATH_VERIFY_FROZEN", not any(type(o).__module__.startswith("sympy") for o in gc.get_objects()))
    """)
    env = {**os.environ, "LADDER_DB": str(tmp_path / "none.duckdb")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "BEFORE False AFTER True" in out.stdout, (out.stdout, out.stderr)
    assert "MATH_VERIFY_FROZEN True" in out.stdout, out.stdout     # what the warm-up loaded is frozen too
