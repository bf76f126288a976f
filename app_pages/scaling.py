"""Scaling: per-tier accuracy against a numeric model factor (log x), fits, plateau, bands."""
import streamlit as st

from app_pages import common

sel = common.selection()
st.title("Scaling")
try:
    from warehouse import scaling
except ImportError:
    scaling = None
if scaling is None:
    st.info("Scaling curves arrive with warehouse/scaling.py.")
common.page_zip("scaling")
