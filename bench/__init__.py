"""Benchmarks that print their figures (`python -m bench --scale paper`, `python bench/bench_*.py`)."""
