"""The one base class of the errors a user can cause (a bad path, a bad argument, a busy file).

``python -m pipeline`` prints any ``LadderError`` as one line ``error: MESSAGE`` with exit
status 2, and the app shows it as a message; neither shows a traceback. Subclasses may also
derive from a built-in exception (``WarehouseMissing`` is a ``FileNotFoundError``) so that
existing ``except`` clauses keep working.
"""


class LadderError(Exception):
    """A user-facing error: its message says what failed and what to try."""


class UsageError(LadderError, ValueError):
    """A value the user gave (an argument, a setting, a file's content) that cannot be used."""


class NotFound(LadderError, FileNotFoundError):
    """Something the user named (a file, a folder, a data set, a model) is not there."""


class UnknownName(LadderError, KeyError):
    """A name no registry entry has (a format, an annotator, a backend, a benchmark loader)."""

    def __str__(self) -> str:             # KeyError's own str() would quote the message
        return str(self.args[0]) if self.args else ""


class ModelLoadError(LadderError):
    """A model or backend that cannot load or run: the library's own message, prefixed with who failed."""
