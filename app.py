"""The ladder dashboard: `streamlit run app.py` (or `make demo`). Pages live in app_pages/.

(Not pages/: Streamlit treats a pages/ folder beside the main script as a v1 multipage app and
then never runs this file's st.navigation.)

The warehouse is $LADDER_DB, else warehouse/demo.duckdb. With no warehouse (or an empty one)
the only page says which command builds one.
"""
import streamlit as st

from app_pages import common

st.set_page_config(page_title="ladder", page_icon="🪜", layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("app_pages/ladder.py", title="Ladder", icon=":material/stairs:", url_path="ladder"),
    st.Page("app_pages/coverage.py", title="Coverage vs accuracy", icon=":material/target:", url_path="coverage"),
    st.Page("app_pages/failures.py", title="Exh failures", icon=":material/block:", url_path="failures"),
    st.Page("app_pages/scaling.py", title="Scaling", icon=":material/trending_up:", url_path="scaling"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("app_pages/trajectories.py", title="Trajectories", icon=":material/search:", url_path="trajectories"),
    st.Page("app_pages/step_errors.py", title="Step errors", icon=":material/healing:", url_path="step_errors"),
]

try:
    state, _ = common.warehouse_state()
    if state == "ok":
        page = st.navigation(PAGES)
    else:
        page = st.navigation([st.Page("app_pages/get_started.py", title="Get started",
                                      icon=":material/rocket_launch:", default=True)])
    common.reset_page()
    common.run_page(page)   # errors become a short message
    if state == "ok":
        common.warm_up()    # once: what the other pages need, loaded while this one is read
finally:
    common.release()        # never hold the warehouse between runs: the pipeline may want to write
