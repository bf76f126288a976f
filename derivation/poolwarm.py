"""Imported by the worker pool's forkserver (``derivation.pool.PRELOAD``) before it forks any worker:
math-verify's first use (its LaTeX grammar) is paid there once, and every worker starts warm."""
from derivation import grade

try:
    grade.warm_worker()
except Exception:  # noqa: BLE001 - the forkserver must start regardless: each worker warms up again anyway
    pass
