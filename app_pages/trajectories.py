"""Trajectories: read what a model wrote. Search every response (top), pick a question (every pick is
honoured; previous/next buttons), its models × samples grid (select a cell to open that sample), then the
trajectory itself: numbered, annotated steps, its text exactly as written (math rendered, every other
character literal; a raw-text toggle shows the stored string), and below, the question's answer classes.
The sample opened by default is an informative one: non-empty, and a wrong one where the question has both.
Every table row that names a trajectory opens it when selected. The URL (q, t, t2, step, step2, s) is a
permalink: ?q=QUESTION&t=TRAJECTORY opens that trajectory.

Above the steps, the answer timeline's strip: one mark per step and event (gold reached or lost, answer
changed, verified arithmetic slip, backtrack, the suspected first error of the annotator the reader picks);
clicking a mark or picking it in "Jump to a marked step" selects its page of steps and scrolls to it.
Verified findings and judgements are told apart (warehouse.records.annotation_kind): a judgement is shown
with its annotator and score as a suspicion, never painted as an established error.

Model text is untrusted: it is rendered only through st.markdown without unsafe_allow_html after common.rich
(literal text, math, never an image), or as st.code (the raw view); other fields go through common.plain.
"""
import re

import polars as pl
import streamlit as st

import charts
from analysis import timeline as timeline_stats
from app_pages import common
from charts import figures
from charts import answer_view as answers
from warehouse import questions, search, trajectory
from warehouse.records import annotation_kind

STEPS_PER_PAGE = 20          # steps drawn per page (a 5 MB response has ~27,000): the browser renders each as its own
                             # element (opening a trajectory at paper scale: 0.67-0.75 s with 40 a page, 0.59 s with 20)
CHARS_PER_PAGE = 40_000      # characters per page of a trajectory that has no steps
JUMP_PARAM = {"a": "step", "b": "step2"}    # URL: the step shown (0-based), per slot


def _param(key: str, value) -> None:
    if value is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def _page_of(container, n: int, per_page: int, what: str, key: str) -> int:
    """A pager over n items when they need more than one page: returns the 0-based page index."""
    pages = max(1, -(-n // per_page))
    if pages == 1:
        return 0
    c1, c2 = container.columns([1, 3])
    page = c1.number_input(f"Page (of {pages:,})", 1, pages, 1, key=key) - 1
    c2.caption(f"{n:,} {what}; showing {page * per_page + 1:,}–{min(n, (page + 1) * per_page):,}. "
               f"Pick a page to move through the trajectory.")
    return page


def _jump_to(slot: str, tid: int, step: int | None) -> None:
    """Show ``step``: select its page of steps, remember it (URL ``step``/``step2``) for the anchor."""
    st.session_state[f"jump_{slot}_{tid}"] = step
    if step is not None:
        st.session_state[f"steps_{slot}_{tid}"] = step // STEPS_PER_PAGE + 1
    _param(JUMP_PARAM[slot], step)


def _scroll_to(anchor: str) -> None:
    """Scroll the page (and the steps' scroll box) to the element with this id. Our own script, no data
    in it but the anchor, checked to be letters, digits and dashes (no model text ever reaches it)."""
    if not re.fullmatch(r"[a-z0-9-]+", anchor):
        raise ValueError(f"bad anchor {anchor!r}")
    st.html("<script>(function go(n){const el=document.getElementById("
            f"'{anchor}');if(el){{el.scrollIntoView({{block:'start'}});}}"
            "else if(n>0){setTimeout(function(){go(n-1);},100);}})(40);</script>",
            unsafe_allow_javascript=True)


def show_trajectory(tid: int, container, slot: str, x_max: int | None = None, raw: bool = False) -> None:
    """One trajectory: its verdict and answers, then its text: numbered, annotated steps under the answer
    timeline's strip, or with ``raw`` the stored string exactly (st.code: no Markdown at all)."""
    t = common.q(trajectory.trajectory, int(tid))
    if t is None:
        container.warning(f"No trajectory {common.plain(tid)}.")
        return
    ok = "✓ right" if t["is_correct"] else "✗ wrong"
    container.markdown(f"**{common.plain(t['model_id'])}** · sample {t['sample_idx']} · {ok} · "
                       f"{t['n_chars']:,} chars"
                       + (f" · finish: {common.plain(t['finish_reason'])}" if t["finish_reason"] else ""))
    a, g = container.columns(2)
    a.metric("extracted answer", common.plain(t["answer"]) if t["answer"] not in (None, "") else "—")
    g.metric("gold answer", common.plain(t["gold"]))
    flags = common.q(trajectory.flags, int(tid))
    if not flags.is_empty():
        kinds = [annotation_kind(r["annotator"], r["flag"]) for r in flags.iter_rows(named=True)]
        for kind, title in (("verified", "verified findings"), ("judgement", "judgements"), ("marker", "markers")):
            found = [f"{common.plain(r['flag'])} ({common.plain(r['annotator'])})"
                     for r, k in zip(flags.iter_rows(named=True), kinds) if k == kind]
            if found:
                container.caption(f"{title}: " + ", ".join(found))
    steps = common.q(trajectory.steps, int(tid))
    text = t["response"] or ""
    if raw or steps.is_empty():
        page = _page_of(container, len(text), CHARS_PER_PAGE, "characters", f"chars_{slot}_{tid}")
        body = text[page * CHARS_PER_PAGE:(page + 1) * CHARS_PER_PAGE]
        box = container.container(height=700)
        if not body:
            box.caption("(empty response)")
        elif raw:
            box.code(body, language=None, wrap_lines=True)
        else:
            box.markdown(common.rich(body))
        return
    step_ans = common.q(answers.step_answers, int(tid))
    notes = common.q(trajectory.annotations, int(tid))
    judges = timeline_stats.first_error_annotators(notes)
    fe_key = f"fe_{slot}_{tid}"
    by = container.selectbox("Suspected first error by (a judgement, not a verified fact)", judges + ["nobody"],
                             key=fe_key, disabled=not judges,
                             help="Annotators' guesses at the earliest wrong step: the rules heuristic, an LLM "
                                  "judge, a PRM. Verified findings (gold reached or lost, answer changes, "
                                  "arithmetic claims that evaluate otherwise) are always marked.")
    by = None if by == "nobody" else by
    events = timeline_stats.step_events(steps, step_ans, notes, by)
    jump_key = f"jump_{slot}_{tid}"
    if jump_key not in st.session_state:        # a permalink's step (URL step / step2), once
        want = common.int_param(JUMP_PARAM[slot])
        if want is not None and 0 <= want < steps.height:
            _jump_to(slot, tid, want)
        else:
            st.session_state[jump_key] = None
    strip = figures.timeline_strip_figure(events, int(t["n_chars"] or len(text)), x_max=x_max,
                                          current=st.session_state.get(jump_key))
    picked = container.plotly_chart(strip, key=f"strip_{slot}_{tid}", on_select="rerun",
                                    selection_mode="points", width="stretch")
    points = (picked or {}).get("selection", {}).get("points", []) if picked else []
    seen_key = f"strip_seen_{slot}_{tid}"
    clicked = next((p.get("customdata") for p in points if p.get("customdata") is not None), None)
    if isinstance(clicked, list):
        clicked = clicked[0] if clicked else None
    if clicked is not None and clicked != st.session_state.get(seen_key):
        st.session_state[seen_key] = clicked
        _jump_to(slot, tid, int(clicked))
    targets = timeline_stats.jump_targets(events)
    label = dict(targets)
    options = [None] + [i for i, _ in targets]
    cur = st.session_state.get(jump_key)
    if cur is not None and cur not in label:
        options.append(cur)
    container.selectbox(f"Jump to a marked step ({len(targets)} marked)", options, key=jump_key, placeholder="—",
                        format_func=lambda i: "—" if i is None else f"step {i + 1} · {label.get(i, 'chosen')}",
                        on_change=lambda: _jump_to(slot, tid, st.session_state.get(jump_key)))
    target = st.session_state.get(jump_key)
    page = _page_of(container, steps.height, STEPS_PER_PAGE, "steps", f"steps_{slot}_{tid}")
    box = container.container(height=700)
    ans_by = {r["step_idx"]: r for r in step_ans.iter_rows(named=True)}
    notes_by: dict[int, list[dict]] = {}
    for r in notes.iter_rows(named=True):
        notes_by.setdefault(r["step_idx"], []).append(r)
    for s in steps.slice(page * STEPS_PER_PAGE, STEPS_PER_PAGE).iter_rows(named=True):
        i = s["step_idx"]
        body = common.rich(text[s["start_char"]:s["end_char"]])
        head = f"**Step {i + 1}**" + (f" · {common.plain(s['kind'])}" if s["kind"] else "")
        if i == target:
            box.subheader(f"Step {i + 1} · jump target", anchor=f"step-{slot}-{i}")
        verified, judged, other = [], [], []
        for r in notes_by.get(i, []):
            kind = annotation_kind(r["annotator"], r["label"])
            score = f", score {r['score']:.2f}" if r["score"] is not None else ""
            text_ = f"{common.plain(r['label'])} ({common.plain(r['annotator'])}{score})"
            if kind == "verified":
                verified.append((text_, r["evidence"]))
            elif kind == "judgement":
                (judged if r["annotator"] == by else other).append((text_, r["evidence"]))
            else:
                other.append((text_, r["evidence"]))
        ans = ans_by.get(i)
        if ans is not None:
            mark = " ✓ gold" if ans["is_gold"] else (" ✗ not the gold" if ans["is_gold"] is False else "")
            head += f" · asserts {common.plain(ans['answer'])}{mark}" + (" (changed)" if ans["changed"] else "")
        if verified:
            box.warning(f"{head} · verified: " + ", ".join(v for v, _ in verified) + f"\n\n{body}")
        elif judged:
            box.info(f"{head} · suspected first error — a judgement: " + ", ".join(v for v, _ in judged)
                     + f"\n\n{body}")
        else:
            box.markdown(f"{head}\n\n{body}")
        for v, ev in verified + judged:
            if ev:
                box.caption(common.plain(ev))
        for v, ev in other:          # other annotators' judgements, markers: named, never painted
            box.caption(f"{v}" + (f": {common.plain(ev)}" if ev else ""))
    if target is not None and page == target // STEPS_PER_PAGE:
        with container:
            _scroll_to(f"step-{slot}-{target}")


def _follow(key: str, options: list, want, default) -> None:
    """Set a selectbox's state before it is drawn, when it has none yet (a page load, a link from another
    page: widget state does not outlive its page) or a stale one: to ``want`` (the URL's value) if it is
    an option, else ``default``. Afterwards the widget alone decides: its key never changes and the URL is
    never read again (a rerun may carry the URL from before the last run's update), so every pick is
    honoured; the page writes the pick to the URL."""
    if key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = want if want in options else default


def _open(qid: str, tid: int | None = None) -> None:
    """Open question ``qid`` (and trajectory ``tid``): a callback of the buttons and selectable tables.
    Clears every table's selection (their keys carry a counter), so picking the same row again opens it."""
    st.session_state["traj_q"] = qid
    if tid is not None:
        st.session_state[f"traj_t_{qid}"] = tid
    st.session_state["_traj_pick"] = st.session_state.get("_traj_pick", 0) + 1


def _picked_rows(key: str, targets: list, then: str | None = None) -> None:
    rows = st.session_state[key].selection.rows
    if rows:
        _open(*targets[rows[0]])
        if then:
            st.session_state[then] = True


def _opening_table(df, targets: list[tuple[str, int | None]], name: str, then: str | None = None,
                   **kwargs) -> None:
    """A table whose rows each name a trajectory or a question (``targets[i]`` = (question, trajectory or
    None)): selecting a row opens it (and sets session-state flag ``then``: a fragment's table reruns the page)."""
    key = f"traj_{name}_{st.session_state.get('_traj_pick', 0)}"
    st.dataframe(df, key=key, on_select=lambda: _picked_rows(key, targets, then), selection_mode="single-row",
                 hide_index=True, width="stretch", **kwargs)


def _informative(grid) -> int:
    """The sample to open first: a non-empty one, and a wrong one where the question has right and wrong."""
    rows = [r for r in grid.iter_rows(named=True) if (r["n_chars"] or 0) > 0] or list(grid.iter_rows(named=True))
    mixed = len({bool(r["is_correct"]) for r in rows}) == 2
    return next(r for r in rows if not (mixed and r["is_correct"]))["trajectory_id"]


def _cell(r: dict) -> str:
    if not r["n_chars"]:
        return "✗ (empty)"
    ans = str(r["answer"]) if r["answer"] not in (None, "") else "—"
    return ("✓ " if r["is_correct"] else "✗ ") + (ans if len(ans) <= 24 else ans[:23] + "…")


def _grid_table(grid, qid: str, tid: int) -> None:
    """The models × samples grid as a compact table (a cell: ✓/✗ and the extracted answer); selecting a
    cell opens that sample. The open one is shown selected."""
    n = int(grid["sample_idx"].max()) + 1
    cols = [f"sample {i}" for i in range(n)]
    by_cell = {(r["model_id"], r["sample_idx"]): r for r in grid.iter_rows(named=True)}
    models = list(dict.fromkeys(grid["model_id"].to_list()))
    wide = pl.DataFrame([{"model": m, **{c: (_cell(by_cell[(m, i)]) if (m, i) in by_cell else "")
                                         for i, c in enumerate(cols)}} for m in models],
                        schema={"model": pl.String, **{c: pl.String for c in cols}})
    at = {(r["model_id"], r["sample_idx"]): r["trajectory_id"] for r in grid.iter_rows(named=True)}
    open_cell = next(((models.index(m), cols[i]) for (m, i), t in at.items() if t == tid), None)
    key = f"traj_grid_{qid}_{st.session_state.get('_traj_pick', 0)}"

    def picked():
        cells = st.session_state[key].selection.cells
        if cells:
            row, col = cells[0]
            t = at.get((models[row], cols.index(col))) if col in cols else None
            if t is not None:
                _open(qid, t)

    st.dataframe(wide, key=key, on_select=picked, selection_mode="single-cell", hide_index=True,
                 width="stretch", height=min(len(models), 8) * 35 + 38,
                 selection_default={"selection": {"cells": [list(open_cell)]}} if open_cell else None)


NOBODY = "none"     # the compare box's "no second trajectory" (None would show as an unset box)
_KEEP = 60         # characters of context shown either side of a search match


def _kwic(snippet: str, text: str) -> tuple[str, str, str]:
    """A search snippet cut around its first match (smart case, as the search): before, match, after."""
    s = snippet or ""
    fold = not (any(c.isupper() for c in text) or text.lower() == text.upper())
    i = (s.lower() if fold else s).find(text.lower() if fold else text)
    if i < 0:
        return "", "", s
    flat = lambda x: " ".join(x.split())            # noqa: E731 -- one line per row
    return flat(s[max(0, i - _KEEP):i]), s[i:i + len(text)], flat(s[i + len(text):i + len(text) + _KEEP])


sel = common.selection()
st.title("Trajectories")


@common.fragment      # typing a search reruns this section alone; opening a hit reruns the page
def search_section(sel) -> None:
    if st.session_state.pop("_traj_hit_opened", False):
        st.rerun()          # a hit was selected (``_open`` ran): the question and trajectory below follow
    text = st.text_input("Search the responses (smart case: an upper-case letter makes it case-sensitive)",
                         value=st.query_params.get("s", ""), key="traj_search")
    _param("s", text or None)
    if not text:
        return
    found = common.q(search.find, sel, text, 50)
    hits = found.hits
    if found.mode == "scan":     # the same hits, only slower: say why the index was not used
        st.caption(common.plain(f"Searched without the full-text index: {found.note}."))
    if hits.is_empty():
        st.info("No response contains this text.")
    else:
        rows = []
        for r in hits.iter_rows(named=True):
            before, match, after = _kwic(r["snippet"], text)
            rows.append({"model": r["model_id"], "question": r["question_id"], "sample": r["sample_idx"],
                         "verdict": "✓ right" if r["is_correct"] else "✗ wrong",
                         "before": before, "match": match, "after": after})
        shown = pl.DataFrame(rows).to_pandas().style.set_properties(
            subset=["match"], **{"background-color": "#ffe58a", "font-weight": "bold"})
        st.caption(("The first 50 responses" if hits.height >= 50 else f"{hits.height} responses")
                   + " that contain it: select a row to open that trajectory.")
        _opening_table(shown, [(r["question_id"], r["trajectory_id"]) for r in hits.iter_rows(named=True)],
                       "hits", then="_traj_hit_opened", height=min(hits.height, 8) * 35 + 38,
                       column_config={"before": st.column_config.TextColumn("before", width="medium",
                                                                             alignment="right"),
                                      "match": st.column_config.TextColumn("match", width="small"),
                                      "after": st.column_config.TextColumn("after", width="large")})


search_section(sel)

qs = common.q(questions.questions, sel)
if qs.is_empty():
    st.info("No questions match the filters.")
    st.stop()
ids = qs["question_id"].to_list()
labels = {r["question_id"]: " · ".join(str(x) for x in (r["question_id"], r["tier"], r["category"],
                                                          "no samples" if r["accuracy"] is None else
                                                          f"{r['accuracy']:.0%} right") if x not in (None, ""))
          for r in qs.iter_rows(named=True)}
url_q = st.query_params.get("q")
_follow("traj_q", ids, url_q, ids[0])
pick, back, fwd = st.columns([12, 1, 1], vertical_alignment="bottom")
qid = pick.selectbox("Question (sorted by tier, then accuracy)", ids, format_func=labels.get, key="traj_q")
i = ids.index(qid)
back.button("", key="traj_q_prev", icon=":material/arrow_back:", disabled=i == 0, width="stretch",
            on_click=_open, args=(ids[max(i - 1, 0)],), help="The previous question in this order")
fwd.button("", key="traj_q_next", icon=":material/arrow_forward:", disabled=i == len(ids) - 1, width="stretch",
           on_click=_open, args=(ids[min(i + 1, len(ids) - 1)],), help="The next question in this order")
if qid != url_q:
    for k in ("t", "t2", "step", "step2"):
        _param(k, None)
_param("q", qid)
question = common.q(questions.question, sel.benchmark, qid, sel.scheme)
with st.expander(f"Problem {common.plain(qid)} — gold answer: {common.plain(question['answer'])}", expanded=False):
    st.markdown(common.rich(question["problem"]))
    st.markdown(f"**Gold answer:** {common.plain(question['answer'])} · tier {common.plain(question['tier'] or '-')}"
                f" · {common.plain(question['category'] or '')}")

grid = common.q(questions.sample_grid, sel, qid)
if grid.is_empty():
    st.info("No samples of this question in the selection.")
else:
    tids = grid["trajectory_id"].to_list()
    names = {r["trajectory_id"]: f"{r['model_id']} · sample {r['sample_idx']} · {_cell(r)}"
             for r in grid.iter_rows(named=True)}
    url_t = common.int_param("t")
    tkey, t2key = f"traj_t_{qid}", f"traj_t2_{qid}"
    _follow(tkey, tids, url_t, _informative(grid))
    other = [NOBODY] + tids
    _follow(t2key, other, common.int_param("t2"), NOBODY)
    tid = st.session_state[tkey]
    _grid_table(grid, qid, tid)
    j = tids.index(tid)
    c1, back, fwd, c2 = st.columns([6, 1, 1, 6], vertical_alignment="bottom")
    shown, shown2 = tids, other
    if len(tids) > common.MANY_SAMPLES:     # a model first, then one of its samples: two short lists, not two huge ones
        model_of = dict(zip(tids, grid["model_id"].to_list()))
        models = list(dict.fromkeys(model_of.values()))
        samples = {m: [] for m in models}
        for t, m in model_of.items():
            samples[m].append(t)
        t2 = st.session_state[t2key]
        mkey, m2key = f"traj_m_{qid}", f"traj_m2_{qid}"
        st.session_state[mkey] = model_of[tid]                  # the open trajectory decides (links, arrows, grid)
        if t2 != NOBODY or m2key not in st.session_state:
            st.session_state[m2key] = model_of[t2] if t2 != NOBODY else model_of[tid]
        a_m, a_s = c1.columns([3, 2], vertical_alignment="bottom")
        b_m, b_s = c2.columns([3, 2], vertical_alignment="bottom")
        m = a_m.selectbox(f"Open a trajectory: model ({len(models):,})", models, key=mkey,
                          on_change=lambda: st.session_state.update({tkey: samples[st.session_state[mkey]][0]}))
        m2 = b_m.selectbox("Compare side by side with: model", models, key=m2key,
                           on_change=lambda: st.session_state.update({t2key: samples[st.session_state[m2key]][0]}))
        shown, shown2 = samples[m], [NOBODY] + samples[m2]
        c1, c2 = a_s, b_s
    label = names if shown is tids else {t: names[t].removeprefix(f"{model_of[t]} · ") for t in shown + shown2[1:]}
    tid = c1.selectbox("Open a trajectory" if shown is tids else "sample", shown, format_func=label.get, key=tkey)
    back.button("", key="traj_t_prev", icon=":material/arrow_back:", disabled=j == 0, width="stretch",
                on_click=_open, args=(qid, tids[max(j - 1, 0)]), help="The previous sample of this question")
    fwd.button("", key="traj_t_next", icon=":material/arrow_forward:", disabled=j == len(tids) - 1,
               width="stretch", on_click=_open, args=(qid, tids[min(j + 1, len(tids) - 1)]),
               help="The next sample of this question")
    tid2 = c2.selectbox("Compare side by side with" if shown2 is other else "sample", shown2, key=t2key,
                        format_func=lambda v: "— nothing" if v == NOBODY else label[v])
    tid2 = None if tid2 == NOBODY else tid2
    if url_t is not None and tid != url_t:
        _param("step", None)         # a step of another trajectory
    if common.int_param("t2") is not None and tid2 != common.int_param("t2"):
        _param("step2", None)
    _param("t", tid)
    _param("t2", tid2)
    raw = st.toggle("Raw text: the response exactly as stored, no rendering", key="traj_raw")
    st.caption("Permalink: this page's URL (filters, question and trajectories are in its query string).")
    if tid2 is None:
        show_trajectory(tid, st.container(), "a", raw=raw)
    else:
        left, right = st.columns(2)
        lengths = [(common.q(trajectory.trajectory, int(x)) or {}).get("n_chars") or 0 for x in (tid, tid2)]
        show_trajectory(tid, left, "a", x_max=max(lengths), raw=raw)       # both strips on one scale
        show_trajectory(tid2, right, "b", x_max=max(lengths), raw=raw)

    classes = common.q(answers.question_classes, sel, qid)
    if classes:
        st.subheader("Answer classes")
        common.chart(charts.answer_class_figure(classes, title=f"question {qid}: answer classes "
                                                "(equivalent final answers, as the grader decides)"), "answer_classes")
        pick = st.selectbox("Samples in the class", range(len(classes)), key=f"traj_class_{qid}",
                            format_func=lambda i: f"{i + 1}. {classes[i]['answer'][:80]} · {classes[i]['n']} samples"
                            + (" · gold" if classes[i]["is_gold"] else ""))
        members = classes[pick]["samples"]
        st.caption(f"{len(members)} samples from {len(classes[pick]['models'])} models answered this: "
                   "select a row to open it.")
        _opening_table(pl.DataFrame([{"model": r["model_id"], "sample": r["sample_idx"], "answer": r["answer"]}
                                     for r in members], schema={"model": pl.String, "sample": pl.Int64,
                                                                "answer": pl.String}),
                       [(qid, r["trajectory_id"]) for r in members], f"class_{qid}_{pick}",
                       height=min(len(members), 8) * 35 + 38)
# --- more like this (issue 25): the trajectories nearest the open one, or one of its steps, any model
from derivation import embed  # noqa: E402
from warehouse import clusters as similar  # noqa: E402


@st.cache_data(max_entries=256, show_spinner=False)
def _step_vector(text: str) -> tuple[float, ...]:
    """wordllama's unit vector of one step's text (as ``embed.views`` keeps an error step: its first characters)."""
    return tuple(float(x) for x in embed.embed_texts([text])[0])


def _near_table(near, key: str, caption: str, matched: bool = False) -> None:
    st.caption(caption)
    cols = [pl.col("question_id").alias("question"), pl.col("model_id").alias("model"),
            pl.col("sample_idx").alias("sample"),
            pl.when(pl.col("is_correct")).then(pl.lit("✓")).otherwise(pl.lit("✗")).alias("verdict"),
            "answer", pl.col("similarity").round(3)]
    if matched:
        cols.append(pl.col("view").replace_strict({"error": "its first-error step", "final": "its final steps"},
                                                  default="", return_dtype=pl.Utf8).alias("matched"))
    shown = near.select(*cols, pl.col("cluster").alias("failure mode"))
    _opening_table(shown, [(r["question_id"], r["trajectory_id"]) for r in near.iter_rows(named=True)],
                   key, height=min(near.height, 10) * 35 + 38)


def _step_name(steps, i) -> str:
    if i is None:
        return "— pick a step"
    labels = steps.row(i, named=True)["labels"] or []
    marks = [m for m, hit in (("suspected first error", any(x.startswith("first_error") for x in labels)),
                              ("arithmetic slip", "arithmetic_slip" in labels)) if hit]
    return " · ".join([f"step {i + 1}"] + marks)


def _more_like_step(tid: int, info: dict, same_q: bool) -> None:
    """Pick a step of the open trajectory: the trajectories whose stored first-error step or final steps read
    most like it (the step embedded now, with the embedder the stored vectors came from)."""
    steps = common.q(trajectory.steps, int(tid))
    if steps.is_empty():
        st.caption("This trajectory has no steps to pick from.")
        return
    if info["embed_version"] != embed.version():
        common.notice(f"The stored vectors are of another embedding ({common.plain(info['embed_version'])}): "
                      "`python -m pipeline annotate --clusters` embeds them again, and a step can then be compared.")
        return
    pick = st.selectbox("More like one step of it", [None] + list(range(steps.height)), key=f"traj_more_step_{tid}",
                        format_func=lambda i: _step_name(steps, i),
                        help="The trajectories (any model) whose first-error step or final steps read most like "
                             "the step you pick: its text is embedded now with the same wordllama model.")
    if pick is None:
        return
    s = steps.row(pick, named=True)
    cap = int(embed.PARAMS["max_chars"])
    body = ((common.q(trajectory.trajectory, int(tid)) or {}).get("response") or "")[s["start_char"]:s["end_char"]]
    body = body.strip()[:cap]
    with st.container(border=True, height=min(300, 80 + len(body) // 2)):
        st.markdown(common.rich(body) if body else "*(an empty step)*")
    if not body:
        common.notice("This step has no text to compare.")
        return
    near = common.q(similar.nearest_to_vector, _step_vector(body), sel.benchmark, info["embed_version"], 10,
                    int(tid), qid if same_q else None)
    if near.is_empty():
        common.notice("No stored step vectors to compare with" + (" on this question." if same_q else "."))
        return
    _near_table(near, f"more_step_{tid}_{pick}_{same_q}",
                f"The {near.height} trajectories whose first-error step or final steps read most like step {pick + 1} "
                + ("" if len(body) < cap else f"(its first {cap:,} characters) ")
                + "(cosine similarity of wordllama embeddings; their best view counts): select a row to open it.",
                matched=True)


if not grid.is_empty():
    st.subheader("More like this")
    info = common.q(similar.clustering, sel.benchmark)
    if info is None:
        common.notice("This benchmark's trajectories are not embedded: `python -m pipeline annotate --clusters` embeds "
                      "the trajectories of every question with a wrong answer (offline), and this section then lists "
                      "the ones that read most like the open one, or like a step of it, any model.")
    else:
        same_q = st.toggle("Only this question", key="traj_more_same")
        if not common.q(similar.has_vector, int(tid)):
            common.notice("This trajectory has no stored embedding (only the trajectories of questions with a wrong "
                          "answer are embedded): pick one of its steps below to find trajectories like it.")
        else:
            near = common.q(similar.neighbours, int(tid), 10, same_q)
            if near.is_empty():
                common.notice("No other embedded trajectory to compare with.")
            else:
                _near_table(near, f"more_{tid}_{same_q}",
                            "The 10 trajectories whose final steps, first-error step and answer read most like this "
                            "one's (cosine similarity of their wordllama embeddings), with their failure mode where "
                            "they have one: select a row to open it.")
        _more_like_step(tid, info, same_q)
common.page_zip("trajectories")
