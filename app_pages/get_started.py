"""Shown when the warehouse is missing or has no trajectories: drop trace files here, or which command builds one."""
import streamlit as st

from app_pages import common, upload
from warehouse import db, inventory

path = db.db_path()
state, why = common.warehouse_state()
st.title("ladder — get started")
if state == "missing":
    st.warning(f"No warehouse at {common.plain(path)} yet.")
elif state == "unreadable":
    st.error(f"The warehouse {common.plain(path)} cannot be opened: {common.plain(why)}")
    st.markdown("Point `LADDER_DB` at a warehouse file, or move this file away and build a new one:")
else:
    st.info(f"The warehouse {common.plain(path)} has no trajectories yet.")
if state in ("missing", "empty"):
    st.subheader("Import trace files")
    upload.uploader("start", common.q(inventory.options)["benchmarks"] if state == "empty" else [])
    st.subheader("Or from the command line")
st.markdown("Build the demo warehouse from the real traces in `../shared/data` and serve this app:")
st.code("make demo\n# or, step by step:\npython -m pipeline demo\nstreamlit run app.py", language="bash")
st.markdown("Or load the question tables and import traces another harness wrote:")
st.code("python -m pipeline benchmarks\n"
        "python -m pipeline import --format qwen-eval --benchmark aime24 ../shared/data/traces/skythought-aime24/*.jsonl",
        language="bash")
st.markdown("Another warehouse file: set `LADDER_DB=path/to/file.duckdb` before `streamlit run app.py`. "
            "Reload this page when the command has finished.")
