"""What every importer shares: reading a file safely, matching questions, collecting records.

An importer module defines ``NAME``, ``DESCRIPTION`` and ``parse(path, ctx)``; it reads the file
with ``read_json_lines`` and hands each sample to ``ctx.add(...)``. ``ImportContext`` matches the
sample's question to the benchmark's question table (by id, else by normalized problem text; never
guessed), or creates the question when the benchmark is being created from the file, and builds
the typed records (Model, Run, Trajectory, Question). Problems with the input are collected as
``Problem`` rows (``file:line: field: message``); good records are kept.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from warehouse.errors import UsageError
from warehouse.records import (FINISH_REASONS, INT32_MAX, Benchmark, Model, Question, Run, Trajectory,
                               model_value, normalize_problem)

MAX_LINE_BYTES = 16 * 1024 * 1024   # one JSON line (8 long responses are ~1 MB); longer lines are rejected unread
MAX_DEPTH = 100                     # JSON nesting (real lines nest 5 deep); deeper lines are rejected
_CHUNK = 1 << 20
_MIB = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")
# Model.columns() minus model_id and meta: the columns --meta and a manifest may set (the rest goes to meta)
MODEL_FACTOR_COLUMNS = tuple(c for c in Model.columns() if c not in ("model_id", "meta"))
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")      # how a lone surrogate gets into a JSON line


def clean_text(s: str) -> str:
    """``s`` with lone surrogates (a JSON escape such as ``"\\ud800"``, an undecodable file name) replaced
    by U+FFFD: such a str cannot be encoded as UTF-8, so it could not be stored or printed."""
    return _SURROGATE.sub("\ufffd", s)


def has_surrogates(s: str) -> bool:
    return _SURROGATE.search(s) is not None


@dataclass
class Problem:
    path: str
    line: int                 # 1-based; 0 = the file as a whole
    field: str
    message: str
    severity: str = "error"   # 'error': the line (or sample) was rejected; 'warning': kept

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class QuestionIndex:
    """A benchmark's question table, looked up by question id or by normalized problem text."""

    def __init__(self, benchmark: str, questions: list[Question], answer_type: str = "math") -> None:
        self.benchmark = benchmark
        self.answer_type = answer_type
        self.by_id: dict[str, Question] = {}
        self.by_text: dict[str, str] = {}
        for q in questions:
            self.add(q)

    def add(self, q: Question) -> None:
        self.by_id[q.question_id] = q
        self.by_text.setdefault(q.problem_norm or normalize_problem(q.problem), q.question_id)

    def match(self, question_id: Any = None, problem: str | None = None) -> str | None:
        if question_id is not None and str(question_id) in self.by_id:
            return str(question_id)
        if problem:
            return self.by_text.get(normalize_problem(problem))
        return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def json_depth(obj: Any) -> int:
    """How deep a parsed JSON value nests (iterative: any depth json.loads accepted)."""
    depth, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return depth


def _fix_surrogates(obj: dict) -> tuple[dict, list[str]]:
    """The object with lone surrogates replaced by U+FFFD (keys too), and the top-level fields that had any."""
    where = [str(k) for k, v in obj.items() if has_surrogates(json.dumps({k: v}, ensure_ascii=False))]
    if not where:
        return obj, []
    return json.loads(clean_text(json.dumps(obj, ensure_ascii=False))), where


def read_json_lines(path: Path, problems: list[Problem],
                    max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, dict]]:
    """Yield (line number, JSON object) per line, reading bytes and decoding each line on its own.

    A bad line (invalid UTF-8, malformed JSON, nested over MAX_DEPTH, not an object, too long)
    becomes one ``Problem`` and the next line is read; blank lines are skipped; an empty file is
    one problem. A UTF-8 byte order mark is stripped; lone surrogate escapes are replaced by U+FFFD
    (a warning).
    """
    p = display_path(path)
    n_nonblank = 0
    with open(path, "rb") as f:
        lineno = 0
        while True:
            raw = f.readline(max_line_bytes + 1)
            if not raw:
                break
            lineno += 1
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                size = len(raw)
                while True:   # skip the rest of the line without keeping it
                    rest = f.readline(_CHUNK)
                    size += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                problems.append(Problem(p, lineno, "line", f"line is {size / _MIB:.1f} MiB, over the "
                                        f"{max_line_bytes / _MIB:.0f} MiB limit; skipped"))
                n_nonblank += 1
                continue
            if not raw.strip():
                continue
            n_nonblank += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(p, lineno, "line", f"invalid UTF-8 at byte {exc.start}"))
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(Problem(p, lineno, "line", f"malformed JSON: {exc.msg} at column {exc.colno}"))
                continue
            except RecursionError:
                problems.append(Problem(p, lineno, "line", f"JSON nested over {MAX_DEPTH} levels deep"))
                continue
            except ValueError as exc:       # e.g. an integer of over 4300 digits
                problems.append(Problem(p, lineno, "line", f"malformed JSON: {exc}"))
                continue
            if not isinstance(obj, dict):
                problems.append(Problem(p, lineno, "line", f"expected a JSON object, got {type(obj).__name__}"))
                continue
            if json_depth(obj) > MAX_DEPTH:
                problems.append(Problem(p, lineno, "line", f"JSON nested over {MAX_DEPTH} levels deep"))
                continue
            if _SURROGATE_ESCAPE.search(text):
                obj, where = _fix_surrogates(obj)
                for k in where:
                    problems.append(Problem(p, lineno, k, "lone surrogate escapes (not valid Unicode) "
                                            "replaced by U+FFFD", "warning"))
            yield lineno, obj
    if n_nonblank == 0:
        problems.append(Problem(p, 0, "file", "empty file: no JSON lines"))


def _show(v: Any, limit: int = 60) -> str:
    """repr(v), shortened for a one-line message."""
    r = repr(v) if not isinstance(v, int) or abs(v) < 10**limit else f"an integer of {len(str(abs(v)))} digits"
    return r if len(r) <= limit else r[:limit - 3] + "..."


def display_path(path: Path | str) -> str:
    """A path as text that can be stored and printed (an undecodable file name's bytes become U+FFFD)."""
    return clean_text(str(path))


_INT = re.compile(r"^[+-]?\d+$")


def model_from_meta(model_id: str, meta: dict[str, str] | None, what: str = "--meta") -> Model:
    """A Model whose columns come from ``--meta k=v`` where k names a column; other keys go to meta.
    Numeric factors are checked (``warehouse.records.model_value``): ValueError names the bad item."""
    m = Model(model_id)
    for k, v in (meta or {}).items():
        if k in MODEL_FACTOR_COLUMNS:
            try:
                setattr(m, k, model_value(k, v))
            except ValueError as exc:
                raise UsageError(f"{what} {k}={v}: {exc}") from None
        else:
            m.meta[k] = v
    return m


def int_in_range(v: Any, lo: int = 0, hi: int = INT32_MAX) -> bool:
    """``v`` is a JSON integer (not a bool) that fits its INTEGER column."""
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def integral(v: Any) -> Any:
    """``v`` as an int when it is a float with an integral value (a parquet float64 column holding 1234.0, as
    pandas writes an integer column with gaps), else ``v`` unchanged (then checked like any value)."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def finite_number(v: Any) -> float | None:
    """``v`` as a float when it is a finite JSON number (not a bool), else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:       # an integer beyond float range
        return None
    return f if math.isfinite(f) else None


@dataclass
class ImportContext:
    """Everything an importer needs to turn one file into records, and where they accumulate."""

    path: Path
    benchmark: str
    fmt: str
    sha256: str
    index: QuestionIndex | None = None     # None: create the benchmark's questions from this file
    model: str | None = None               # --model: overrides the file's own model name
    default_model: str | None = None       # the importer's guess (file stem, folder names)
    meta: dict[str, str] = field(default_factory=dict)
    run_config: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)   # --columns role=name (formats that read tables)
    problems: list[Problem] = field(default_factory=list)
    trajectories: list[Trajectory] = field(default_factory=list)
    runs: dict[str, Run] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    new_questions: list[Question] = field(default_factory=list)
    unmatched: int = 0
    n_lines: int = 0

    def __post_init__(self) -> None:
        self.creating = self.index is None
        if self.index is None:
            self.index = QuestionIndex(self.benchmark, [])
        self._seen: set[tuple[str, str, int]] = set()
        self.source = display_path(self.path)

    # -- problems -------------------------------------------------------------------------------
    def error(self, line: int, fld: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, fld, message))

    def warn(self, line: int, fld: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, fld, message, "warning"))

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems if p.severity == "error"})

    # -- questions ------------------------------------------------------------------------------
    def question(self, line: int, source_id: Any = None, problem: str | None = None,
                 answer: Any = None, new_id: Any = None, **extra: Any) -> str | None:
        """The question id of this line in the benchmark, or None (reported) when it cannot be matched.

        ``source_id`` is matched against the benchmark's question ids; ``new_id`` (else ``source_id``,
        else a hash of the text) names the question when the benchmark is created from the file.
        An id that names a question whose text differs from this line's ``problem`` is an error.
        ``extra`` (solution, level, ...) fills optional Question columns; a mistyped one is ignored.
        """
        for v in (source_id, new_id if self.creating else None):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
                self.error(line, "question_id", f"expected a string or integer id, got {type(v).__name__}")
                return None
        if problem is not None and not isinstance(problem, str):
            self.error(line, "problem", f"expected a string, got {type(problem).__name__}")
            return None
        qid = self.index.match(source_id, problem)
        if qid is not None:
            known = self.index.by_id[qid]
            if source_id is not None and problem and str(source_id) == qid and \
                    normalize_problem(problem) != (known.problem_norm or normalize_problem(known.problem)):
                self.error(line, "question", f"question id {qid!r} of benchmark {self.benchmark!r} is a "
                           "different problem than this line's problem text")
                return None
            return qid
        if not self.creating:
            what = f"id {source_id!r}" if source_id is not None else "its problem text"
            if problem:
                what += " or its problem text" if source_id is not None else ""
            self.error(line, "question", f"no question of benchmark {self.benchmark!r} matches {what}")
            self.unmatched += 1
            return None
        if not isinstance(problem, str) or not problem.strip():
            self.error(line, "question", f"benchmark {self.benchmark!r} is created from this file, "
                       "so every line needs the problem text")
            return None
        if answer is None or str(answer).strip() == "":
            self.error(line, "answer", f"benchmark {self.benchmark!r} is created from this file, "
                       "so every line needs the gold answer")
            return None
        if not isinstance(answer, str) and finite_number(answer) is None:
            self.error(line, "answer", f"expected the gold answer as a string or number, got {_show(answer)}")
            return None
        if new_id is None:
            new_id = source_id
        qid = str(new_id) if new_id is not None else hashlib.sha1(
            normalize_problem(problem).encode()).hexdigest()[:12]
        if qid in self.index.by_id:   # same id, different text
            self.error(line, "question", f"question id {qid!r} was already used for another problem")
            return None
        cols = Question.field_types()
        kept = {}
        for k, v in extra.items():
            if v is None:
                continue
            if cols[k] is int and int_in_range(v, -INT32_MAX - 1) or cols[k] is str and isinstance(v, str):
                kept[k] = v
            else:
                self.warn(line, k, f"expected {cols[k].__name__}, got {_show(v)}; ignored")
        q = Question(self.benchmark, qid, problem, str(answer).strip(), **kept)
        self.index.add(q)
        self.new_questions.append(q)
        return qid

    def created_benchmark(self) -> Benchmark | None:
        if not self.creating or not self.new_questions:
            return None
        integer = all(_INT.match(q.answer) for q in self.new_questions)
        return Benchmark(self.benchmark, f"created from {clean_text(self.path.name)}",
                         "integer" if integer else "math", self.source)

    # -- runs and trajectories ------------------------------------------------------------------
    def run_for(self, model: str | None) -> Run:
        model_id = clean_text(self.model or model or self.default_model or self.path.stem)
        if model_id not in self.models:
            m = model_from_meta(model_id, self.meta)
            self.models[model_id] = m
            run_id = f"{model_id}/{self.benchmark}/{self.fmt}/{self.sha256[:12]}"
            self.runs[model_id] = Run(run_id, model_id, self.benchmark, "imported", self.fmt,
                                      self.source, self.sha256, config=dict(self.run_config))
        return self.runs[model_id]

    def add(self, line: int, question_id: str, sample_idx: int, response: Any, *, fld: str = "response",
            model: str | None = None, prompt: Any = None, n_tokens: Any = None, finish_reason: Any = None,
            source_correct: Any = None, source_pred: Any = None) -> Trajectory | None:
        """Validate one sample and keep it as a Trajectory; reports a problem and returns None when bad.
        Integers must fit their INTEGER column (sample_idx: the line is rejected; n_tokens: ignored); an integral
        float (1234.0) counts as an integer."""
        sample_idx, n_tokens = integral(sample_idx), integral(n_tokens)
        if not isinstance(response, str):
            self.error(line, fld, f"expected a string response, got {type(response).__name__}")
            return None
        if not int_in_range(sample_idx):
            self.error(line, "sample_idx", f"expected a non-negative integer (at most {INT32_MAX}), "
                       f"got {_show(sample_idx)}")
            return None
        if "\x00" in response:
            response = response.replace("\x00", "\ufffd")
            self.warn(line, fld, "NUL characters replaced")
        if not response.strip():
            self.warn(line, fld, "empty response (kept: the sample counts as answered with nothing)")
        if source_correct is not None and not isinstance(source_correct, bool):
            if isinstance(source_correct, (int, float)) and source_correct in (0, 1):
                source_correct = bool(source_correct)
            else:
                self.warn(line, "correct", f"expected true/false, got {_show(source_correct)}; ignored")
                source_correct = None
        if n_tokens is not None and not int_in_range(n_tokens):
            self.warn(line, "n_tokens", f"expected a non-negative integer (at most {INT32_MAX}), "
                      f"got {_show(n_tokens)}; ignored")
            n_tokens = None
        if finish_reason is not None and finish_reason not in FINISH_REASONS:
            self.warn(line, "finish_reason", f"expected 'stop' or 'length', got {_show(finish_reason)}; ignored")
            finish_reason = None
        if prompt is not None and not isinstance(prompt, str):
            prompt = json.dumps(prompt, ensure_ascii=False)
        if source_pred is not None and not isinstance(source_pred, str):   # a number, list, object: its JSON
            source_pred = json.dumps(source_pred, ensure_ascii=False)
        run = self.run_for(model)
        key = (run.run_id, question_id, sample_idx)
        if key in self._seen:
            self.error(line, "sample_idx", f"duplicate sample {sample_idx} of question {question_id} "
                       f"for model {run.model_id}")
            return None
        self._seen.add(key)
        t = Trajectory(run.run_id, self.benchmark, question_id, sample_idx, response, prompt, n_tokens,
                       finish_reason, source_correct, source_pred)
        self.trajectories.append(t)
        return t

    def finish(self) -> None:
        """Set each run's samples_per_question (the most common count per question)."""
        per: dict[str, Counter] = {}
        for t in self.trajectories:
            per.setdefault(t.run_id, Counter())[t.question_id] += 1
        for run in self.runs.values():
            counts = Counter(per.get(run.run_id, Counter()).values())
            run.samples_per_question = counts.most_common(1)[0][0] if counts else None
