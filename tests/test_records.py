"""The record dataclasses are the one Python declaration of the warehouse's columns: each must
match its table in warehouse/schema.sql (names, types, NULLs), and rows read back through
``Record.from_row`` give the records that were written."""
from __future__ import annotations

import typing
from pathlib import Path

import duckdb
import pytest

from warehouse import ingest, lookup, records
from warehouse.records import Model, Record, Run

SCHEMA = Path(records.__file__).with_name("schema.sql")
RECORDS = [c for c in vars(records).values() if isinstance(c, type) and issubclass(c, Record) and c is not Record]

# columns a table has and its record does not: filled in by DuckDB or computed by the writer
NOT_IN_RECORD = {"benchmarks": {"created_at"}, "runs": {"created_at"}, "grades": {"graded_at"},
                 "trajectories": {"trajectory_id", "n_chars"}}     # Trajectory.trajectory_id is a property
SQL_TYPES = {str: {"VARCHAR"}, int: {"INTEGER", "BIGINT"}, float: {"DOUBLE"}, bool: {"BOOLEAN"}, dict: {"JSON"},
             list: {"FLOAT[]", "VARCHAR[]", "BIGINT[]"}}


@pytest.fixture(scope="module")
def schema():
    con = duckdb.connect()
    con.execute(SCHEMA.read_text())
    cols: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, dtype, nullable in con.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns").fetchall():
        cols.setdefault(table, {})[column] = (dtype, nullable == "YES")
    con.close()
    return cols


def test_every_record_type_names_a_table():
    assert {c.__name__ for c in RECORDS} >= {"Benchmark", "Question", "Tier", "ReferenceValue", "Model", "Run",
                                             "Trajectory", "Grade", "Step", "StepAnnotation", "TrajectoryFlag",
                                             "StepAnswer", "TrajectoryTimeline"}
    assert len({c.TABLE for c in RECORDS}) == len(RECORDS)


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_record_fields_are_their_table_columns(schema, cls):
    table = schema[cls.TABLE]
    assert set(cls.columns()) == set(table) - NOT_IN_RECORD.get(cls.TABLE, set()), cls.TABLE
    nullable = cls.nullable()
    for c, typ in cls.field_types().items():
        dtype, null_ok = table[c]
        assert dtype in SQL_TYPES[typ], f"{cls.__name__}.{c}: {typ.__name__} but {cls.TABLE}.{c} is {dtype}"
        if c in nullable:
            assert null_ok, f"{cls.__name__}.{c} may be None but {cls.TABLE}.{c} is NOT NULL"


def test_literal_fields_declare_the_documented_values():
    assert records.GRADE_REASONS == ("correct", "mismatch", "no_answer", "truncated")
    assert records.FINISH_REASONS == ("stop", "length")
    hints = typing.get_type_hints(records.Grade)
    assert typing.get_args(hints["reason"]) == records.GRADE_REASONS


def test_numeric_model_factors_have_a_range_and_the_field_type():
    numeric = {c for c, t in Model.field_types().items() if t in (int, float)}
    assert set(records.MODEL_RANGES) == numeric
    assert records.model_value("sft_size", "5000") == 5000 and records.model_value("params_b", "7") == 7.0
    with pytest.raises(ValueError, match="train_step"):
        records.model_value("train_step", "-1")


def test_from_row_reads_back_what_ingest_wrote():
    con = duckdb.connect()
    con.execute(SCHEMA.read_text())
    m = Model("m", display_name="M", params_b=1.5, sft_size=10, meta={"k": "v"})
    bare = Model("bare")
    r = Run("r", "m", "aime24", "generated", temperature=0.6, config={"a": [1, 2]})
    for x in (m, bare):
        ingest.upsert_model(con, x)
    ingest.upsert_run(con, r)
    assert sorted(lookup.records(con, Model), key=lambda x: x.model_id) == [bare, m]
    assert lookup.models(con, ["m"]) == [m]
    assert lookup.records(con, Run) == [r]
    row = {**bare.as_row(), "meta": None, "extra_column": 1}     # NULL JSON: an empty dict; other keys ignored
    assert Model.from_row(row) == bare
    con.close()


def test_annotation_kind_is_one_classification():
    """Verified findings, judgements and markers (the pages and the agreement views read this one table)."""
    from warehouse.records import annotation_kind, is_first_error

    assert is_first_error("first_error") and is_first_error("first_error:calculation")
    assert not is_first_error("first_errors") and not is_first_error("arithmetic_slip")
    for annotator in ("rules", "judge", "prm", "someone"):
        assert annotation_kind(annotator, "first_error:logic") == "judgement"
    assert [annotation_kind("rules", x) for x in ("arithmetic_slip", "gold_reached", "found_then_lost",
                                                   "truncated", "repetition_loop", "answer_flip")] == ["verified"] * 6
    assert annotation_kind("judge", "arithmetic_slip") == "judgement"
    assert annotation_kind("rules", "backtracks") == annotation_kind("rules", "strategy:casework") == "marker"
