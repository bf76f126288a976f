"""The ladder warehouse: one DuckDB file, its schema, its writes and every query the app runs."""
__version__ = "0.1.0"
