-- The ladder warehouse. Every table has a natural key so that every write is idempotent.
-- Applied by warehouse.db.ensure_schema(); bump SCHEMA_VERSION in warehouse/db.py on change.
--
-- The big tables (trajectories, grades, steps, step_annotations, trajectory_flags, step_answers,
-- trajectory_timelines) state their key in a comment, and their writers (warehouse/ingest.py;
-- warehouse/timeline.py for the last two) keep it: trajectories are inserted by an anti-join on
-- trajectory_id, the others are replaced (delete by key, insert).
-- They carry no PRIMARY KEY / UNIQUE index on purpose: DuckDB loads an ART index on every new
-- connection and rewrites it at every checkpoint, so with indexes each per-file import
-- transaction cost grew with the warehouse (at 57,600 trajectories: 4.6 ms per trajectory
-- written, against 1.9 ms on an empty warehouse). tests/test_warehouse_core.py checks the keys.

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS benchmarks (
    benchmark    VARCHAR PRIMARY KEY,      -- 'aime24', 'math500', or created from a file
    description  VARCHAR,
    answer_type  VARCHAR NOT NULL,          -- 'integer' (compare as integers) | 'math'
    source       VARCHAR,                   -- where the question table came from
    created_at   TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS questions (
    benchmark       VARCHAR NOT NULL,
    question_id     VARCHAR NOT NULL,
    problem         VARCHAR NOT NULL,
    answer          VARCHAR NOT NULL,       -- gold answer as written by the source
    solution        VARCHAR,
    category        VARCHAR,
    level           VARCHAR,
    year            INTEGER,
    contest         VARCHAR,
    problem_number  INTEGER,
    problem_norm    VARCHAR NOT NULL,       -- normalized problem text, for matching imports
    PRIMARY KEY (benchmark, question_id)
);

CREATE TABLE IF NOT EXISTS question_tiers (
    benchmark    VARCHAR NOT NULL,
    question_id  VARCHAR NOT NULL,
    scheme       VARCHAR NOT NULL,          -- 'paper' | 'rule' | 'auto' | user-defined
    tier         VARCHAR NOT NULL,          -- 'Easy' | 'Medium' | 'Hard' | 'Exh'
    detail       VARCHAR,                   -- JSON: why (group accuracies, thresholds)
    PRIMARY KEY (benchmark, question_id, scheme)
);

-- Reference values read off the paper's Figure 1 (per question, per model group).
CREATE TABLE IF NOT EXISTS reference_values (
    benchmark    VARCHAR NOT NULL,
    question_id  VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,          -- 'paper_fig1'
    "group"      VARCHAR NOT NULL,          -- 'base' | 'small_sft' | 'large'
    metric       VARCHAR NOT NULL,          -- 'avg@8'
    value        DOUBLE,
    PRIMARY KEY (benchmark, question_id, source, "group", metric)
);

CREATE TABLE IF NOT EXISTS models (
    model_id           VARCHAR PRIMARY KEY,
    display_name       VARCHAR,
    family             VARCHAR,
    base_model         VARCHAR,
    params_b           DOUBLE,
    sft_size           BIGINT,
    sft_category       VARCHAR,
    trajectory_length  VARCHAR,
    trajectory_style   VARCHAR,
    seed               INTEGER,
    train_step         INTEGER,
    "group"            VARCHAR,
    meta               JSON
);

CREATE TABLE IF NOT EXISTS runs (
    run_id                VARCHAR PRIMARY KEY,  -- deterministic: same source, same id
    model_id              VARCHAR NOT NULL,
    benchmark             VARCHAR NOT NULL,
    source                VARCHAR NOT NULL,     -- 'generated' | 'imported'
    source_format         VARCHAR,              -- importer name or backend name
    source_file           VARCHAR,
    source_sha256         VARCHAR,
    temperature           DOUBLE,
    top_p                 DOUBLE,
    max_tokens            INTEGER,
    seed                  INTEGER,
    prompt_template       VARCHAR,
    samples_per_question  INTEGER,
    created_at            TIMESTAMP DEFAULT current_timestamp,
    tool_version          VARCHAR,
    config                JSON
);

-- key: trajectory_id (and so (run_id, question_id, sample_idx))
CREATE TABLE IF NOT EXISTS trajectories (
    trajectory_id   BIGINT NOT NULL,           -- hash of (run_id, question_id, sample_idx)
    run_id          VARCHAR NOT NULL,
    benchmark       VARCHAR NOT NULL,
    question_id     VARCHAR NOT NULL,
    sample_idx      INTEGER NOT NULL,
    prompt          VARCHAR,
    response        VARCHAR NOT NULL,
    n_chars         INTEGER NOT NULL,
    n_tokens        INTEGER,
    finish_reason   VARCHAR,                   -- 'stop' | 'length' | NULL (unknown)
    source_correct  BOOLEAN,                   -- the source harness's own verdict
    source_pred     VARCHAR                    -- the source harness's extracted answer
);

-- key: (trajectory_id, grader, grader_version)
CREATE TABLE IF NOT EXISTS grades (
    trajectory_id     BIGINT NOT NULL,
    grader            VARCHAR NOT NULL,
    grader_version    VARCHAR NOT NULL,
    extracted_answer  VARCHAR,
    is_correct        BOOLEAN NOT NULL,
    reason            VARCHAR NOT NULL,        -- 'correct' | 'mismatch' | 'no_answer' | 'truncated'
    graded_at         TIMESTAMP DEFAULT current_timestamp
);

-- key: (trajectory_id, step_idx)
CREATE TABLE IF NOT EXISTS steps (
    trajectory_id  BIGINT NOT NULL,
    step_idx       INTEGER NOT NULL,
    start_char     INTEGER NOT NULL,
    end_char       INTEGER NOT NULL,
    kind           VARCHAR                     -- 'paragraph' | 'wait' | 'alternatively' | 'check' | 'think' ...
);

-- key: (trajectory_id, step_idx, annotator, label)
CREATE TABLE IF NOT EXISTS step_annotations (
    trajectory_id  BIGINT NOT NULL,
    step_idx       INTEGER NOT NULL,
    annotator      VARCHAR NOT NULL,           -- 'rules' | 'judge' | 'prm'
    label          VARCHAR NOT NULL,           -- e.g. 'arithmetic_slip', 'first_error:calculation'
    score          DOUBLE,
    evidence       VARCHAR
);

-- key: (trajectory_id, annotator, flag)
CREATE TABLE IF NOT EXISTS trajectory_flags (
    trajectory_id  BIGINT NOT NULL,
    annotator      VARCHAR NOT NULL,
    flag           VARCHAR NOT NULL,           -- 'found_then_lost', 'truncated', 'strategy:casework', 'backtracks' ...
    value          DOUBLE,
    detail         VARCHAR
);

-- The answer timeline (pipeline/timeline.py): the candidate answer each step asserts, only for the
-- steps that assert one. is_gold: the ladder grader's equivalence with the gold (NULL: no gold);
-- changed: differs from the previous candidate of the trajectory.
-- key: (trajectory_id, step_idx)
CREATE TABLE IF NOT EXISTS step_answers (
    trajectory_id  BIGINT NOT NULL,
    step_idx       INTEGER NOT NULL,
    answer         VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,           -- 'boxed' | 'answer_phrase' | 'final_answer' | 'after_think' | 'conclusion'
    is_gold        BOOLEAN,
    changed        BOOLEAN NOT NULL
);

-- One row per trajectory whose timeline was derived (also when no step asserts an answer).
-- key: trajectory_id
CREATE TABLE IF NOT EXISTS trajectory_timelines (
    trajectory_id    BIGINT NOT NULL,
    version          VARCHAR NOT NULL,         -- pipeline.timeline.version(): grader + timeline versions
    n_candidates     INTEGER NOT NULL,         -- steps asserting an answer
    answer_changes   INTEGER NOT NULL,
    n_distinct       INTEGER NOT NULL,         -- distinct candidates
    first_gold_step  INTEGER,                  -- NULL: no step holds the gold
    last_gold_step   INTEGER,
    first_gold_char  INTEGER,                  -- end of the first gold step
    last_gold_char   INTEGER                   -- end of the last gold step
);

-- Per-(run, question) aggregates under the active grader, refreshed on every write
-- (warehouse.stats.refresh_run_stats) so that pages never rescan trajectory text.
CREATE TABLE IF NOT EXISTS run_question_stats (
    run_id            VARCHAR NOT NULL,
    benchmark         VARCHAR NOT NULL,
    question_id       VARCHAR NOT NULL,
    model_id          VARCHAR NOT NULL,
    n                 INTEGER NOT NULL,        -- samples
    n_correct         INTEGER NOT NULL,
    n_answered        INTEGER NOT NULL,
    majority_answer   VARCHAR,
    majority_correct  BOOLEAN,
    mean_chars        DOUBLE,
    mean_tokens       DOUBLE,
    n_source_agree    INTEGER,                 -- grades equal to the harness's own verdict
    n_source          INTEGER,                 -- samples carrying a harness verdict
    PRIMARY KEY (run_id, question_id)
);

-- The outcome of each trajectory under the active grader; the source verdict when ungraded.
CREATE OR REPLACE VIEW outcomes AS
SELECT t.trajectory_id, t.run_id, r.model_id, t.benchmark, t.question_id, t.sample_idx,
       t.n_chars, t.n_tokens, t.finish_reason, t.source_correct, t.source_pred,
       coalesce(g.is_correct, t.source_correct, false) AS is_correct,
       coalesce(g.extracted_answer, t.source_pred)     AS answer,
       coalesce(g.reason, CASE WHEN t.source_correct THEN 'correct' ELSE 'source' END) AS reason,
       g.grader IS NOT NULL                             AS graded
FROM trajectories t
JOIN runs r USING (run_id)
LEFT JOIN grades g
  ON g.trajectory_id = t.trajectory_id
 AND g.grader = (SELECT value FROM meta WHERE key = 'active_grader')
 AND g.grader_version = (SELECT value FROM meta WHERE key = 'active_grader_version');

-- Failure modes (issue 25; pipeline/embed.py, `python -m pipeline annotate --clusters`).
-- The vectors of what each trajectory did: one row per view ('final' | 'error' | 'answer', and 'combined':
-- their weighted mean, the one clustering and "more like this" use), with the text embedded, the embedder,
-- its version (package + model + parameters' hash: pipeline.embed.version()) and parameters: a trajectory
-- whose stored version is not the current one is embedded again.
-- key: (trajectory_id, view)
CREATE TABLE IF NOT EXISTS trajectory_embeddings (
    trajectory_id  BIGINT NOT NULL,
    view           VARCHAR NOT NULL,
    embedder       VARCHAR NOT NULL,           -- 'wordllama/l2_supercat_256'
    version        VARCHAR NOT NULL,
    params         JSON,
    text           VARCHAR,                    -- what was embedded (NULL for 'combined')
    vector         FLOAT[] NOT NULL
);

-- One stored clustering of a benchmark's wrong trajectories (every tier, model and group; the pages cut it
-- by their selection). k = 0: too few wrong trajectories to group (n_trajectories of them).
CREATE TABLE IF NOT EXISTS failure_clusterings (
    benchmark       VARCHAR PRIMARY KEY,
    version         VARCHAR NOT NULL,          -- pipeline.embed.cluster_version()
    embed_version   VARCHAR NOT NULL,
    seed            INTEGER NOT NULL,
    k               INTEGER NOT NULL,
    silhouette      DOUBLE,
    n_trajectories  INTEGER NOT NULL,
    scores          JSON                       -- k -> silhouette, for every k tried
);

CREATE TABLE IF NOT EXISTS failure_clusters (
    benchmark    VARCHAR NOT NULL,
    cluster_id   INTEGER NOT NULL,             -- 0 the largest
    label        VARCHAR NOT NULL,             -- its three most distinctive terms (class-based TF-IDF)
    terms        VARCHAR[] NOT NULL,           -- the distinctive terms, best first
    size         INTEGER NOT NULL,
    examples     BIGINT[] NOT NULL,            -- the 3 trajectories nearest its centre
    PRIMARY KEY (benchmark, cluster_id)
);

-- key: (benchmark, trajectory_id); every wrong trajectory of the clustering once
CREATE TABLE IF NOT EXISTS cluster_assignments (
    benchmark      VARCHAR NOT NULL,
    trajectory_id  BIGINT NOT NULL,
    cluster_id     INTEGER NOT NULL,
    distance       DOUBLE                      -- cosine distance to the cluster's centre
);
