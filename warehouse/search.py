"""Full-text search over responses, smart case (an upper-case letter makes it case-sensitive), scoped by
the selection. The full-text index (warehouse/textindex.py) names the responses that can contain the
text and only those are checked; without an up-to-date index, or for a text without a letter or digit,
the selection's responses are scanned in parallel row-id ranges. Either way a hit is decided by the
same SQL condition (``search_condition``), so both give the same hits. User text only ever travels
as parameters."""
from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from . import textindex
from .db import query, rows_by_id
from .errors import LadderError
from .filters import Selection


class SearchError(LadderError):
    """A text or a limit no search can take (not valid Unicode; a limit out of range)."""


MAX_LIMIT = 1_000_000       # hits a search may ask for


def check(text: str, limit: int) -> None:
    """SearchError unless ``text`` is valid Unicode (a command line's undecodable byte arrives as a
    lone surrogate) and ``limit`` is in 1..MAX_LIMIT."""
    bad = next((i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None)
    if bad is not None:
        c = ord(text[bad])
        what = f"the byte 0x{c - 0xdc00:02x}" if c >= 0xdc80 else f"the lone surrogate U+{c:04X}"
        raise SearchError(f"the text to find is not valid UTF-8: {what} at character {bad + 1}")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit {limit}: give a number of hits from 1 to {MAX_LIMIT:,}")


# Characters of model output, most frequent first (the real traces in ../shared/data/traces, 0.9 M
# characters); any other character is rarer still. Scanning for a needle costs least when the
# needle starts with a rare character: DuckDB's substring search (and ILIKE's matcher) stop at
# every occurrence of the first character before comparing the rest.
_BY_FREQUENCY = " etioras\\nh\nlfcdmu}{1g,bp)(2.w0=x3vy4T:5-6][*98+q7ASkC^DBN_'"


def _rarity(c: str) -> int:
    i = _BY_FREQUENCY.find(c)
    return len(_BY_FREQUENCY) if i < 0 else i


def _caseless(text: str) -> bool:
    """No character of ``text`` changes with case (digits, ``$``, ``=``, spaces ...)."""
    return text.lower() == text.upper()


def search_anchor(text: str, min_len: int = 4) -> str:
    """The suffix of ``text`` that starts at its rarest character (at least ``min_len`` long,
    earliest on ties): every response containing ``text`` contains it, and it is cheap to scan for."""
    last = max(0, len(text) - min_len)
    i = max(range(last + 1), key=lambda i: (_rarity(text[i]), -i))
    return text[i:]


def _caseless_chunk(text: str) -> str | None:
    """The longest run of ``text`` without cased characters (digits, ``$``, ``=`` ...), stripped,
    of 3 characters or more: an all-lower-case query's matches contain it verbatim."""
    runs, cur = [], []
    for c in text + "a":
        if _caseless(c):
            cur.append(c)
        else:
            runs.append("".join(cur).strip())
            cur = []
    best = max(runs, key=len)
    return best if len(best) >= 3 else None


def search_condition(text: str) -> tuple[str, str, list]:
    """SQL condition over ``t.response`` for a full-text search, the position expression for its
    snippet, and the condition's parameters. Literal: ``%``, ``_`` and ``\\`` are plain characters.

    Smart case, as in ripgrep: a query with an upper-case letter matches case-sensitively (a
    substring scan); an all-lower-case query ignores case (ILIKE). Cheaper necessary conditions
    run first, each only on the rows the previous one kept: the query's caseless part (``$17$``
    in ``so the answer is $17$``), then the suffix that starts at its rarest character.
    """
    anchor = search_anchor(text)
    if any(c.isupper() for c in text) or _caseless(text):      # nothing to fold
        needles = [anchor, text] if anchor != text else [text]
        return " AND ".join(["contains(t.response, ?)"] * len(needles)), "strpos(t.response, ?)", needles
    wildcards = "%" in text or "_" in text
    chunk = _caseless_chunk(text)
    checks = []                                    # (condition, parameter), cheapest first
    for needle in dict.fromkeys(x for x in (chunk and search_anchor(chunk, 3), anchor) if x and x != text):
        if _caseless(needle):
            checks.append(("contains(t.response, ?)", needle))
        elif not ("%" in needle or "_" in needle):
            checks.append(("t.response ILIKE ?", "%" + needle + "%"))
    # LIKE's wildcards in the query: match lower-cased text instead (rare; an ESCAPE clause would
    # take ILIKE off its fast path, 2.4x slower)
    checks.append(("contains(lower(t.response), ?)", text) if wildcards else ("t.response ILIKE ?", "%" + text + "%"))
    return " AND ".join(c for c, _ in checks), "strpos(lower(t.response), ?)", [p for _, p in checks]


SCAN_MIN_ROWS = 2048       # rows per range at least (one DuckDB vector)


def _scan_ranges(con, sel: Selection) -> list[tuple[int, int]]:
    """Row-id ranges of ``trajectories`` that hold every row of the selection's runs (its
    benchmark, models and groups; tiers and categories are left to the caller's filter), cut
    so that a scan of them runs on every DuckDB thread.

    Two reasons. DuckDB gives a table scan one thread per 122,880 rows: a paper-size study
    (57,600 responses of ~40,000 characters, 2.3 GB of text) would be read by one core; each
    range becomes a branch of a UNION ALL and the branches run in parallel (2 per thread, as row
    groups differ in size). And a run's rows are written together, so a search within a few
    models reads only their rows: a row-id range skips the rest unread, a run_id filter would not.
    """
    k = 2 * int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    rwhere, rparams = replace(sel, tiers=(), categories=()).where("r")
    spans = con.execute(f"""
        SELECT min(t.rowid), max(t.rowid) + 1 FROM trajectories t
        WHERE t.run_id IN (SELECT run_id FROM runs r WHERE {rwhere})
        GROUP BY t.run_id ORDER BY 1""", rparams).fetchall()
    merged: list[list[int]] = []
    for lo, hi in spans:                       # runs written one after another: one span
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    while len(merged) > k:                     # at most k spans: close the smallest gap
        i = min(range(len(merged) - 1), key=lambda i: merged[i + 1][0] - merged[i][1])
        merged[i:i + 2] = [[merged[i][0], merged[i + 1][1]]]
    size = max(SCAN_MIN_ROWS, -(-sum(hi - lo for lo, hi in merged) // k))
    return [(a, min(a + size, hi)) for lo, hi in merged for a in range(lo, hi, size)]


@dataclass
class Found:
    """A search's hits, and how they were found: ``mode`` 'index' (the full-text index narrowed
    the responses to check) or 'scan' (every response of the selection), ``note`` why not the index."""
    hits: pl.DataFrame
    mode: str
    note: str = ""


_SNIPPET = "substr(t.response, greatest({pos} - 80, 1), 160 + length(?)) AS snippet"
VERIFY_FIRST = 64           # candidates checked by the first verification query (then 4x more each time)
VERIFY_MAX = 8192           # unchecked candidates left after the first 3 queries, short of the limit: scan instead
DENSE = 0.5                 # share of the responses the index matches above which every selected one is a candidate


def search(con, sel: Selection, text: str, limit: int = 50) -> pl.DataFrame:
    """Responses that contain ``text`` (smart case: see ``search_condition``), with a snippet:
    the first ``limit`` in the order the warehouse stores them (its row ids: import order, each run's
    trajectories together), listed in (model, question, sample) order. Through the full-text index when it
    is up to date and the text has a letter or digit, else by a scan: the same hits either way."""
    return find(con, sel, text, limit).hits


def find(con, sel: Selection, text: str, limit: int = 50, use_index: bool = True) -> Found:
    """``search``, saying how the hits were found (``Found``). SearchError: see ``check``."""
    check(text, limit)
    if not text or not text.strip():
        return Found(pl.DataFrame(), "scan", "nothing to search for")
    if not use_index:
        return Found(_scan(con, sel, text, limit), "scan", "the index was not asked for")
    ignore_case = not (any(c.isupper() for c in text) or _caseless(text))
    terms = textindex.query_terms(text, ignore_case)
    if terms is None:
        return Found(_scan(con, sel, text, limit), "scan",
                     "the text has no ASCII letter or digit for the index to look up: every response was scanned")
    st = textindex.status(con)
    if not st.fresh:
        return Found(_scan(con, sel, text, limit), "scan", st.reason + ": every response was scanned")
    try:        # most responses match (``the answer``): check the selection's responses in order instead
        candidates = textindex.candidates(st.index, terms, most=int(st.index.searcher().num_docs * DENSE))
    except BaseException as exc:       # the index cannot answer this query: the scan can
        if not textindex.is_index_error(exc):
            raise
        return Found(_scan(con, sel, text, limit), "scan", f"the full-text index could not answer this text "
                                                           f"({type(exc).__name__}): every response was scanned")
    hits = _verified(con, sel, text, limit, candidates)
    if hits is None:
        return Found(_scan(con, sel, text, limit), "scan",
                     f"the index left more than {VERIFY_MAX:,} responses to check: every response was scanned")
    return Found(hits, "index")


class _TooMany(Exception):
    """More candidates left than ``VERIFY_MAX``: the scan is faster."""


def _verified(con, sel: Selection, text: str, limit: int, candidates) -> pl.DataFrame | None:
    """The candidates (trajectory ids; None: every response of the selection) that are hits: checked
    in row-id order with the scan's own condition, reading only their responses (by row id), until
    ``limit``; then listed in (model, question, sample) order (``_listed``). In row-id order a window's
    responses lie together (a window in display order could touch one compressed block per row: at 10x
    scale, 64 rows cost 0.8 s). The candidates are ordered a window at a time (64, then 4x more
    each time): a common text is settled by the first window, whatever the number of candidates.
    None when three windows leave the limit unmet and more than ``VERIFY_MAX`` candidates unchecked
    (an absent phrase whose word pairs are everywhere): one query a batch, a parallel scan is faster."""
    import pyarrow as pa

    where, params = sel.where("o")
    cond, pos, cparams = search_condition(text)
    if candidates is not None:
        con.register("_search_candidates", pa.table({"trajectory_id": pa.array(candidates, pa.int64())}))
        where = f"o.trajectory_id IN (SELECT trajectory_id FROM _search_candidates) AND {where}"

    def window(offset: int, size: int) -> pl.DataFrame:
        return query(con, f"""
            SELECT o.trajectory_id, o.model_id, o.question_id, o.sample_idx, o.is_correct, t.rowid AS row_id
            FROM outcomes o JOIN trajectories t USING (trajectory_id)
            WHERE {where} ORDER BY t.rowid LIMIT ? OFFSET ?""", params + [size, offset])

    def windows():
        """The candidates in row-id order, a window at a time: three queries of growing windows, then the
        rest in one query (``_TooMany`` when over ``VERIFY_MAX``), handed out in still growing slices."""
        offset, size = 0, max(VERIFY_FIRST, int(limit) + int(limit) // 4)
        for _ in range(3):
            rows = window(offset, size)
            yield rows
            if rows.height < size:
                return
            offset, size = offset + size, size * 4
        rest = window(offset, VERIFY_MAX + 1)
        if rest.height > VERIFY_MAX:
            raise _TooMany
        while not rest.is_empty():
            yield rest[:size]
            rest, size = rest[size:], size * 4

    try:
        ordered, found, n = [], [], 0
        for rows in windows():          # checked until the limit is met: a common text stops at the first
            if rows.is_empty():
                break
            ordered.append(rows)
            hit = _checked(con, rows["row_id"].to_list(), cond, pos, [text, text], cparams)
            found.append(hit)
            n += hit.height
            if n >= limit:
                break
        if not found:          # the scan's columns, no rows
            ordered = [window(0, 0)]
            found = [pl.DataFrame(schema={"row_id": ordered[0]["row_id"].dtype, "snippet": pl.String})]
    except _TooMany:
        return None
    finally:
        if candidates is not None:
            con.unregister("_search_candidates")
    hits = pl.concat(ordered).join(pl.concat(found), on="row_id", how="inner", maintain_order="left")
    return _listed(hits.head(int(limit)).drop("row_id"))


def _listed(hits: pl.DataFrame) -> pl.DataFrame:
    """Hits in display order: model, question (numbers as numbers, first), sample, trajectory id."""
    if hits.is_empty():
        return hits
    return hits.sort(pl.col("model_id"), pl.col("question_id").cast(pl.Int32, strict=False),
                     pl.col("question_id"), pl.col("sample_idx"), pl.col("trajectory_id"), nulls_last=True)


FETCH_FIRST = 1024          # rows whose responses are read before the condition is applied (40 MB at 40,000 chars)


def _checked(con, row_ids: list[int], cond: str, pos: str, sparams: list, cparams: list) -> pl.DataFrame:
    """row_id and snippet of the rows among ``row_ids`` that meet ``cond``. Up to ``FETCH_FIRST`` rows, their
    responses are read first and the condition applied to those alone: in one query DuckDB applies it to
    every response of each 2,048-row vector the rows lie in (at 576,000 responses: 1.4 CPU s for 64 rows,
    0.8 read first)."""
    rows, rparams = rows_by_id(row_ids)
    if len(row_ids) > FETCH_FIRST:
        return query(con, f"SELECT t.rowid AS row_id, {_SNIPPET.format(pos=pos)} FROM trajectories t "
                          f"WHERE {rows} AND {cond}", [*sparams, *rparams, *cparams])
    read = query(con, f"SELECT t.rowid AS row_id, t.response FROM trajectories t WHERE {rows}", rparams)
    con.register("_search_rows", read.to_arrow())
    try:
        return query(con, f"SELECT t.row_id, {_SNIPPET.format(pos=pos)} FROM _search_rows t WHERE {cond}",
                     [*sparams, *cparams])
    finally:
        con.unregister("_search_rows")


def _scan(con, sel: Selection, text: str, limit: int) -> pl.DataFrame:
    """Every response of the selection, read in parallel row-id ranges."""
    where, params = sel.where("o")
    cond, pos, cparams = search_condition(text)
    ranges = _scan_ranges(con, sel)
    if not ranges:
        return pl.DataFrame()
    scan = " UNION ALL ".join(
        f"SELECT t.rowid AS row_id, t.trajectory_id FROM trajectories t "
        f"WHERE t.rowid >= ? AND t.rowid < ? AND {cond}" for _ in ranges)
    hits = query(con, f"""
        WITH found AS ({scan})
        SELECT o.trajectory_id, o.model_id, o.question_id, o.sample_idx, o.is_correct, f.row_id
        FROM outcomes o JOIN found f USING (trajectory_id)
        WHERE {where}
        ORDER BY f.row_id
        LIMIT ?""", [x for lo, hi in ranges for x in (lo, hi, *cparams)] + params + [int(limit)])
    # the snippets are read by row id: a join on trajectory_id would decompress every response
    # again (~1 s), a row-id lookup only the blocks that hold these rows
    rows, rparams = rows_by_id(hits["row_id"].to_list())
    snippets = query(con, f"SELECT t.rowid AS row_id, {_SNIPPET.format(pos=pos)} FROM trajectories t "
                          f"WHERE {rows}", [text, text, *rparams])
    return _listed(hits.join(snippets, on="row_id", how="left", maintain_order="left").drop("row_id"))
