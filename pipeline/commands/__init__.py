"""One module per `python -m pipeline` command (see pipeline/cli.py)."""
