"""The one base class of the errors a user can cause (a bad path, a bad argument, a busy file).

``python -m pipeline`` prints any ``LadderError`` as one line ``error: MESSAGE`` with exit
status 2, and the app shows it as a message; neither shows a traceback. Subclasses may also
derive from a built-in exception (``WarehouseMissing`` is a ``FileNotFoundError``) so that
existing ``except`` clauses keep working.
"""


class LadderError(Exception):
    """A user-facing error: its message says what failed and what to try."""
