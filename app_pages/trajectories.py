"""Trajectories: pick a question, see the models × samples grid, open one (or two) trajectories
with numbered, annotated steps, and search every response. The URL (q, t, t2, step, step2) is a permalink.

Above the steps, the answer timeline's strip: one mark per step and event (gold reached or lost, answer
changed, verified arithmetic slip, backtrack, the suspected first error of the annotator the reader picks);
clicking a mark or picking it in "Jump to a marked step" selects its page of steps and scrolls to it.
Verified findings and judgements are told apart (warehouse.records.annotation_kind): a judgement is shown
with its annotator and score as a suspicion, never painted as an established error.

Model text is untrusted: it is rendered only through st.markdown without unsafe_allow_html
(raw HTML is escaped) after common.rich (image syntax made impossible); other fields go through common.plain.
"""
import re

import streamlit as st

import charts
from analysis import timeline as timeline_stats
from app_pages import common
from charts import figures
from pipeline import answers
from warehouse import questions, search, trajectory
from warehouse.records import annotation_kind

sel = common.selection()
st.title("Trajectories")


STEPS_PER_PAGE = 40          # steps drawn per page of a trajectory (a 5 MB response has ~27,000)
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


def show_trajectory(tid: int, container, slot: str, x_max: int | None = None) -> None:
    t = common.q(trajectory.trajectory, int(tid))
    if t is None:
        container.warning(f"No trajectory {common.plain(tid)}.")
        return
    ok = "✅ correct" if t["is_correct"] else "❌ wrong"
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
    if steps.is_empty():
        page = _page_of(container, len(text), CHARS_PER_PAGE, "characters", f"chars_{slot}_{tid}")
        body = text[page * CHARS_PER_PAGE:(page + 1) * CHARS_PER_PAGE]
        container.container(height=700).markdown(common.rich(body) or "_(empty response)_")
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
    container.selectbox(f"Jump to a marked step ({len(targets)} marked)", options, key=jump_key,
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


qs = common.q(questions.questions, sel)
if qs.is_empty():
    st.info("No questions match the filters.")
    st.stop()
ids = qs["question_id"].to_list()
labels = {r["question_id"]: f"{r['question_id']} · {r['tier'] or '-'} · {r['category'] or '-'} · "
          + (f"{r['accuracy']:.0%}" if r["accuracy"] is not None else "no samples")
          for r in qs.iter_rows(named=True)}
want = st.query_params.get("q")
qid = st.selectbox("Question (sorted by tier, then accuracy)", ids, index=ids.index(want) if want in ids else 0,
                   format_func=labels.get, key=f"traj_q_{want}")
if qid != want:
    _param("q", qid)
    _param("t", None)
    _param("t2", None)
    _param("step", None)
    _param("step2", None)
question = common.q(questions.question, sel.benchmark, qid, sel.scheme)
with st.expander(f"Problem {common.plain(qid)} — gold answer: {common.plain(question['answer'])}", expanded=True):
    st.markdown(common.rich(question["problem"]))
    st.markdown(f"**Gold answer:** {common.plain(question['answer'])} · tier {common.plain(question['tier'] or '-')}"
                f" · {common.plain(question['category'] or '')}")

grid = common.q(questions.sample_grid, sel, qid)
if grid.is_empty():
    st.info("No samples of this question in the selection.")
else:
    common.chart(charts.grid_figure(grid, title=f"question {qid}: models × samples"), "sample_grid")
    classes = common.q(answers.question_classes, sel, qid)
    if classes:
        common.chart(charts.answer_class_figure(classes, title=f"question {qid}: answer classes "
                                                "(equivalent final answers, as the grader decides)"), "answer_classes")
        pick = st.selectbox("Samples in the class", range(len(classes)), key=f"traj_class_{qid}",
                            format_func=lambda i: f"{i + 1}. {classes[i]['answer'][:80]} · {classes[i]['n']} samples"
                            + (" · gold" if classes[i]["is_gold"] else ""))
        members = classes[pick]["samples"]
        st.caption(f"{len(members)} samples from {len(classes[pick]['models'])} models answered this; open one:")
        for r in members[:12]:
            common.link("app_pages/trajectories.py", f"{r['model_id']} · sample {r['sample_idx']} · {r['answer']}",
                        q=qid, t=r["trajectory_id"])
        if len(members) > 12:
            st.caption(f"… and {len(members) - 12} more (the grid above shows every sample)")
    tids = grid["trajectory_id"].to_list()
    names = {r["trajectory_id"]: f"{r['model_id']} · sample {r['sample_idx']} · "
             f"{'✓' if r['is_correct'] else '✗'} {r['answer'] or '—'}" for r in grid.iter_rows(named=True)}
    cur = common.int_param("t")
    c1, c2 = st.columns(2)
    tid = c1.selectbox("Open a trajectory", tids, index=tids.index(cur) if cur in tids else 0,
                       format_func=names.get, key=f"traj_t_{qid}")
    if cur is not None and tid != cur:
        _param("step", None)         # a step of another trajectory
    _param("t", tid)
    other = [None] + tids
    cur2 = common.int_param("t2")
    cur2 = cur2 if cur2 in tids else None
    tid2 = c2.selectbox("Compare side by side with", other, index=other.index(cur2),
                        format_func=lambda v: "—" if v is None else names[v], key=f"traj_t2_{qid}")
    if cur2 is not None and tid2 != cur2:
        _param("step2", None)
    _param("t2", tid2)
    st.caption("Permalink: this page's URL (filters, question and trajectories are in its query string).")
    if tid2 is None:
        show_trajectory(tid, st.container(), "a")
    else:
        left, right = st.columns(2)
        lengths = [(common.q(trajectory.trajectory, int(x)) or {}).get("n_chars") or 0 for x in (tid, tid2)]
        show_trajectory(tid, left, "a", x_max=max(lengths))       # both strips on one scale
        show_trajectory(tid2, right, "b", x_max=max(lengths))

st.divider()
st.subheader("Search the responses")
text = st.text_input("Text to find (smart case: an upper-case letter makes it case-sensitive)",
                     value=st.query_params.get("s", ""), key="traj_search")
_param("s", text or None)
if text:
    found = common.q(search.find, sel, text, 50)
    hits = found.hits
    if found.mode == "scan":     # the same hits, only slower: say why the index was not used
        st.caption(common.plain(f"Searched without the full-text index: {found.note}."))
    if hits.is_empty():
        st.info("No response contains this text.")
    else:
        st.dataframe(hits, hide_index=True, width="stretch")
        for r in hits.head(10).iter_rows(named=True):
            common.link("app_pages/trajectories.py", f"{r['model_id']} · question {r['question_id']} · "
                        f"sample {r['sample_idx']}", q=r["question_id"], t=r["trajectory_id"])
common.page_zip("trajectories")
