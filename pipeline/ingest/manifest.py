"""A model manifest: metadata for many models at once (``import --models FILE.yaml|csv``).

YAML: a list of mappings, each with ``model`` (or ``model_id``) and the model's fields, or one
mapping ``model name -> {fields}``. CSV: a header row with a ``model`` (or ``model_id``) column and
one column per field; an empty cell sets nothing. Fields are the models columns (``display_name``,
``family``, ``base_model``, ``params_b``, ``sft_size``, ``sft_category``, ``trajectory_length``,
``trajectory_style``, ``seed``, ``train_step``, ``group``), checked like ``--meta``
(``warehouse.records.model_value``); any other key goes to ``models.meta``. The whole manifest is
checked before any file is read: the first bad entry is a usage error naming the file, the line
(YAML) or row (CSV, the header is row 1) and the field. YAML aliases (``*name``) and merge keys (``<<``)
are refused while the file is composed, before any value is built (a few hundred bytes of nested
aliases would otherwise expand to billions of values).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from warehouse.errors import UsageError
from warehouse.records import Model, model_value

from pipeline.ingest.importers.base import MAX_DEPTH, MODEL_FACTOR_COLUMNS, display_path, has_surrogates

_KEY = ("model", "model_id")
MAX_BYTES = 16 * 1024 * 1024
_MERGE = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """An alias, a merge key or too deep a nesting met while composing: its mark and the field it is in."""

    def __init__(self, mark, fld: str, what: str) -> None:
        super().__init__(what)
        self.mark, self.fld, self.what = mark, fld, what


class _Composer(yaml.SafeLoader):
    """Composes the node tree, refusing aliases, merge keys and nesting over ``MAX_DEPTH`` (``_Refused``) before
    anything is constructed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._path: list = []       # the key (mapping value) or position (sequence item) of each open node

    def _field(self) -> str:
        """The entry's field being composed: a key among the first two levels (list item / model name, field)."""
        keys = [k for k in self._path[1:3] if isinstance(k, str)]
        return keys[-1] if keys else "manifest"

    def compose_node(self, parent, index):
        self._path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            if self.check_event(yaml.AliasEvent):
                raise _Refused(self.peek_event().start_mark, self._field(), "YAML aliases (*name) are not "
                               "accepted in a manifest: write the value out")
            if len(self._path) > MAX_DEPTH:      # composing recurses: refuse before Python's recursion limit
                raise _Refused(self.peek_event().start_mark, self._field(), f"nested over {MAX_DEPTH} levels deep")
            node = super().compose_node(parent, index)
            if node.tag == _MERGE:
                self._path[-1] = "<<"
                raise _Refused(node.start_mark, self._field(), "YAML merge keys (<<) are not accepted in a "
                               "manifest: write the fields out")
        finally:
            self._path.pop()
        return node


def load(path: str | Path) -> list[Model]:
    path = Path(path)
    name = display_path(path)
    if not path.is_file():
        raise UsageError(f"{name}: no such manifest file")
    if path.stat().st_size > MAX_BYTES:
        raise UsageError(f"{name}: manifest over {MAX_BYTES // 2**20} MiB")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not valid UTF-8 (byte {exc.start})") from None
    if path.suffix.lower() == ".csv":
        entries = _csv(name, text)
    elif path.suffix.lower() in (".yaml", ".yml"):
        entries = _yaml(name, text)
    else:
        raise UsageError(f"{name}: a manifest is a .yaml, .yml or .csv file")
    models: dict[str, Model] = {}
    for where, entry, lines in entries:
        m = _model(name, where, entry, lines)
        if m.model_id in models:
            raise UsageError(f"{name}:{where}: model: {m.model_id!r} is listed twice")
        models[m.model_id] = m
    if not models:
        raise UsageError(f"{name}: the manifest lists no models")
    return list(models.values())


def _model(name: str, where: str, entry: dict[str, Any], lines: dict[str, str]) -> Model:
    """One entry as a Model; ``lines``: where each field is written (YAML), else the entry's ``where``."""
    key = next((k for k in _KEY if k in entry), None)
    mid = _text(name, lines.get(key, where), key, entry.get(key)) if key else None
    if not isinstance(entry.get(key), (str, int)) or isinstance(entry.get(key), bool) or not mid:
        raise UsageError(f"{name}:{where}: model: missing or blank (each entry names its model)")
    m = Model(mid)
    for k, v in entry.items():
        if k in _KEY or v is None or v == "":
            continue
        at = lines.get(k, where)
        k = str(k).strip()
        if isinstance(v, (dict, list)):
            raise UsageError(f"{name}:{at}: {k}: expected a single value, got a {type(v).__name__}")
        text = _text(name, at, k, v)
        if has_surrogates(k) or has_surrogates(text):
            raise UsageError(f"{name}:{at}: {display_path(k)}: not valid UTF-8")
        if k in MODEL_FACTOR_COLUMNS:
            try:
                setattr(m, k, model_value(k, text))
            except (UsageError, ValueError) as exc:
                msg = str(exc)
                raise UsageError(f"{name}:{at}: {k}: {msg if len(msg) <= 300 else msg[:297] + '...'}") from None
        else:
            m.meta[k] = text
    return m


def _text(name: str, at: str, k: str, v: Any) -> str:
    """A field's value as text (a bool as true/false); a usage error for an integer too long to print."""
    if isinstance(v, bool):
        return str(v).lower()
    try:
        return str(v).strip()
    except ValueError:              # an integer of over 4300 digits (e.g. YAML hex, which int() reads unlimited)
        raise UsageError(f"{name}:{at}: {k}: an integer of over 4300 digits; too long for a field") from None


def _csv(name: str, text: str) -> list[tuple[str, dict, dict]]:
    rows: list[list[str]] = []
    reader = csv.reader(text.splitlines())
    try:
        rows.extend(reader)
    except csv.Error as exc:        # e.g. a cell over csv.field_size_limit() (128 KiB)
        raise UsageError(f"{name}:row {len(rows) + 1}: row: {exc}") from None
    if not rows:
        raise UsageError(f"{name}: empty manifest")
    header = [h.strip() for h in rows[0]]
    if not any(k in header for k in _KEY):
        raise UsageError(f"{name}:row 1: model: the header has no 'model' column")
    dup = {h for h in header if h and header.count(h) > 1}
    if dup:
        raise UsageError(f"{name}:row 1: {sorted(dup)[0]}: column given twice")
    out = []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            raise UsageError(f"{name}:row {i}: row: {len(row)} cells for {len(header)} columns")
        out.append((f"row {i}", {h: c for h, c in zip(header, row) if h}, {}))
    return out


def _yaml(name: str, text: str) -> list[tuple[str, dict, dict]]:
    loader = _Composer(text)
    try:
        root = loader.get_single_node()
    except _Refused as exc:
        raise UsageError(f"{name}:line {exc.mark.line + 1}: {exc.fld}: {exc.what}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "line 0"
        raise UsageError(f"{name}:{line}: yaml: {getattr(exc, 'problem', None) or exc}") from None
    finally:
        loader.dispose()
    if root is None:
        raise UsageError(f"{name}: empty manifest")

    def value(node) -> Any:
        return loader.construct_object(node, deep=True) if node is not None else None

    def where(node) -> str:
        return f"line {node.start_mark.line + 1}"

    out = []
    if isinstance(root, yaml.SequenceNode):
        for item in root.value:
            if not isinstance(item, yaml.MappingNode):
                raise UsageError(f"{name}:{where(item)}: entry: expected a mapping of fields")
            out.append((where(item), *_mapping(name, item, value, where)))
    elif isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if not isinstance(v, (yaml.MappingNode,)) and not (isinstance(v, yaml.ScalarNode) and v.value in ("", "~", "null")):
                raise UsageError(f"{name}:{where(v)}: {k.value}: expected a mapping of fields")
            fields, lines = _mapping(name, v, value, where) if isinstance(v, yaml.MappingNode) else ({}, {})
            if any(key in fields for key in _KEY):
                raise UsageError(f"{name}:{where(v)}: model: given both as the key and as a field")
            out.append((where(k), {"model": k.value, **fields}, lines))
    else:
        raise UsageError(f"{name}:{where(root)}: manifest: expected a list of models or a mapping model -> fields")
    return out


def _mapping(name: str, node, value, where) -> tuple[dict, dict]:
    """The fields of a YAML mapping, and the line of each."""
    out, lines = {}, {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise UsageError(f"{name}:{where(k)}: key: expected a field name")
        if k.value in out:
            raise UsageError(f"{name}:{where(k)}: {k.value}: field given twice")
        lines[k.value] = where(k)
        try:
            out[k.value] = value(v)
        except yaml.YAMLError as exc:
            raise UsageError(f"{name}:{where(v)}: {k.value}: {exc}") from None
        except ValueError as exc:   # an integer of over 4300 digits (Python's limit), a date such as 2024-13-01
            raise UsageError(f"{name}:{where(v)}: {k.value}: cannot be read: {str(exc).split(';')[0]}") from None
        if isinstance(out[k.value], (dict, list)):
            raise UsageError(f"{name}:{where(v)}: {k.value}: expected a single value, "
                             f"got a {type(out[k.value]).__name__}")
    return out, lines
