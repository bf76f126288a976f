"""``Registry``: name -> object, the one lookup behind the CLI's commands, the importers, the
generation backends, the annotators and the benchmark loaders.

An entry is the object itself, or (``register_lazy``) a ``"module:attr"`` / ``"module"`` string
imported on first ``get``: a registry can then be read (``names()``, ``in``) to build the CLI
without importing what its entries need (torch, vLLM, llama.cpp).
"""
from __future__ import annotations

import importlib
from typing import Generic, Iterator, Mapping, TypeVar

from warehouse.errors import UnknownName

T = TypeVar("T")


class _Lazy:
    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        self.target = target

    def load(self):
        module, _, attr = self.target.partition(":")
        mod = importlib.import_module(module)
        return getattr(mod, attr) if attr else mod


class Registry(Generic[T]):
    """Named objects of one kind (``kind`` names them in errors: "unknown backend 'x'")."""

    def __init__(self, kind: str, entries: Mapping[str, T] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T | _Lazy] = {}
        for name, obj in (entries or {}).items():
            self.register(name, obj)

    def register(self, name: str, obj: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj
        return obj

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``"module:attr"`` (or a whole ``"module"``), imported on the first ``get``."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = _Lazy(target)

    def get(self, name: str) -> T:
        """The entry called ``name``; ``UnknownName`` (a KeyError) lists the known names."""
        try:
            obj = self._entries[name]
        except (KeyError, TypeError):
            raise UnknownName(f"unknown {self.kind} {name!r}: known are {', '.join(sorted(self._entries))}") \
                from None
        if isinstance(obj, _Lazy):
            obj = self._entries[name] = obj.load()
        return obj

    def names(self) -> list[str]:
        """Every name, in the order registered."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
