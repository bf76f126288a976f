"""The ladder dashboard: `streamlit run app.py` (or `make demo`). Pages live in pages/.

The warehouse is $LADDER_DB, else warehouse/demo.duckdb. With no warehouse (or an empty one)
the only page says which command builds one.
"""
import streamlit as st

from pages import common

st.set_page_config(page_title="ladder", page_icon="🪜", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon="🏠", url_path="overview", default=True),
    st.Page("pages/ladder.py", title="Ladder", icon="🪜", url_path="ladder"),
    st.Page("pages/coverage.py", title="Coverage vs accuracy", icon="🎯", url_path="coverage"),
    st.Page("pages/failures.py", title="Exh failures", icon="🧱", url_path="failures"),
    st.Page("pages/scaling.py", title="Scaling", icon="📈", url_path="scaling"),
    st.Page("pages/trajectories.py", title="Trajectories", icon="🔎", url_path="trajectories"),
    st.Page("pages/step_errors.py", title="Step errors", icon="🩹", url_path="step_errors"),
]

state = common.warehouse_state()
if state == "ok":
    page = st.navigation(PAGES)
else:
    page = st.navigation([st.Page("pages/get_started.py", title="Get started", icon="🚀", default=True)])
common.reset_page()
page.run()
