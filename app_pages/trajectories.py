"""Trajectories: pick a question, see the models × samples grid, open one (or two) trajectories
with numbered, annotated steps, and search every response. The URL (q, t, t2) is a permalink.

Model text is untrusted: it is rendered only through st.markdown without unsafe_allow_html
(raw HTML is escaped) after common.rich (image syntax made impossible); other fields go through common.plain.
"""
import streamlit as st

import charts
from app_pages import common
from pipeline import answers
from warehouse import questions, search, trajectory

sel = common.selection()
st.title("Trajectories")


STEPS_PER_PAGE = 40          # steps drawn per page of a trajectory (a 5 MB response has ~27,000)
CHARS_PER_PAGE = 40_000      # characters per page of a trajectory that has no steps


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


def show_trajectory(tid: int, container, slot: str) -> None:
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
        container.caption("flags (annotators' findings): " + ", ".join(
            f"{common.plain(r['flag'])} ({common.plain(r['annotator'])})" for r in flags.iter_rows(named=True)))
    steps = common.q(trajectory.steps, int(tid))
    text = t["response"] or ""
    if steps.is_empty():
        page = _page_of(container, len(text), CHARS_PER_PAGE, "characters", f"chars_{slot}_{tid}")
        body = text[page * CHARS_PER_PAGE:(page + 1) * CHARS_PER_PAGE]
        container.container(height=700).markdown(common.rich(body) or "_(empty response)_")
        return
    page = _page_of(container, steps.height, STEPS_PER_PAGE, "steps", f"steps_{slot}_{tid}")
    box = container.container(height=700)
    for s in steps.slice(page * STEPS_PER_PAGE, STEPS_PER_PAGE).iter_rows(named=True):
        body = common.rich(text[s["start_char"]:s["end_char"]])
        head = f"**Step {s['step_idx'] + 1}**" + (f" · {common.plain(s['kind'])}" if s["kind"] else "")
        if s["labels"]:
            # annotators predict step errors (the rules annotator is a heuristic): shown as predictions
            labels = ", ".join(common.plain(lab) for lab in s["labels"])
            note = box.warning if any(not lab.startswith("ok") for lab in s["labels"]) else box.info
            note(f"{head} · predicted: {labels}\n\n{body}")
            for ev in s["evidence"] or []:
                box.caption(common.plain(ev))
        else:
            box.markdown(f"{head}\n\n{body}")


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
    _param("t", tid)
    other = [None] + tids
    cur2 = common.int_param("t2")
    cur2 = cur2 if cur2 in tids else None
    tid2 = c2.selectbox("Compare side by side with", other, index=other.index(cur2),
                        format_func=lambda v: "—" if v is None else names[v], key=f"traj_t2_{qid}")
    _param("t2", tid2)
    st.caption("Permalink: this page's URL (filters, question and trajectories are in its query string).")
    if tid2 is None:
        show_trajectory(tid, st.container(), "a")
    else:
        left, right = st.columns(2)
        show_trajectory(tid, left, "a")
        show_trajectory(tid2, right, "b")

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
