"""`import --models FILE.yaml|csv`: metadata for many models at once, validated like --meta (errors name file,
line or row, and field)."""
import pytest

from pipeline.ingest import manifest
from pipeline.cli import main
from warehouse import db
from warehouse.errors import UsageError

STEPS = ("Sky-T1-math-correct-5K-32B-step21", "Sky-T1-math-correct-5K-32B-step35")
YAML = """\
# the 32B series, two checkpoints
- model: Sky-T1-math-correct-5K-32B-step21
  family: qwen2.5
  params_b: 32
  base_model: Qwen2.5-32B-Instruct
  group: sft-32b-steps
  sft_size: 5000
  train_step: 21
  lr: 1e-5
- model: Sky-T1-math-correct-5K-32B-step35
  params_b: 32
  train_step: 35
  group: sft-32b-steps
"""


def test_yaml_list_and_mapping_and_csv_agree(tmp_path):
    a = tmp_path / "m.yaml"
    a.write_text(YAML)
    b = tmp_path / "m2.yml"
    b.write_text("Sky-T1-math-correct-5K-32B-step21: {family: qwen2.5, params_b: 32, base_model: Qwen2.5-32B-Instruct,"
                 " group: sft-32b-steps, sft_size: 5000, train_step: 21, lr: 1e-5}\n"
                 "Sky-T1-math-correct-5K-32B-step35: {params_b: 32, train_step: 35, group: sft-32b-steps}\n")
    c = tmp_path / "m.csv"
    c.write_text("model,family,params_b,base_model,group,sft_size,train_step,lr\n"
                 "Sky-T1-math-correct-5K-32B-step21,qwen2.5,32,Qwen2.5-32B-Instruct,sft-32b-steps,5000,21,1e-5\n"
                 "Sky-T1-math-correct-5K-32B-step35,,32,,sft-32b-steps,,35,\n")
    ms = [manifest.load(p) for p in (a, b, c)]
    assert ms[0] == ms[1] == ms[2]
    m = ms[0][0]
    assert (m.model_id, m.family, m.params_b, m.sft_size, m.train_step, m.group, m.meta) == \
        (STEPS[0], "qwen2.5", 32.0, 5000, 21, "sft-32b-steps", {"lr": "1e-5"})
    assert ms[0][1].family is None and ms[0][1].train_step == 35


@pytest.mark.parametrize("name, text, message", [
    ("bad.yaml", YAML.replace("train_step: 35", "train_step: -3"), "bad.yaml:line 12: train_step: train_step must be"),
    ("bad.yaml", YAML.replace("params_b: 32\n  base", "params_b: lots\n  base"), "bad.yaml:line 4: params_b: params_b must be float"),
    ("bad.yaml", YAML.replace("- model: Sky-T1-math-correct-5K-32B-step35", "- name: x"), "bad.yaml:line 10: model: missing or blank"),
    ("bad.yaml", YAML + "- model: Sky-T1-math-correct-5K-32B-step21\n", "bad.yaml:line 14: model: 'Sky-T1-math-correct-5K-32B-step21' is listed twice"),
    ("bad.yaml", "- model: a\n  group: [x, y]\n", "bad.yaml:line 2: group: expected a single value, got a list"),
    ("bad.yaml", "- model: a\n  group: x\n  group: y\n", "bad.yaml:line 3: group: field given twice"),
    ("bad.yaml", "- model: a\n  group: 'x\n", "bad.yaml:line 3: yaml:"),
    ("bad.csv", "model,sft_size\na,5000\nb,5k\n", "bad.csv:row 3: sft_size: sft_size must be int, got '5k'"),
    ("bad.csv", "name,sft_size\na,5000\n", "bad.csv:row 1: model: the header has no 'model' column"),
    ("bad.csv", "model,seed\na,1,2\n", "bad.csv:row 2: row: 3 cells for 2 columns"),
    ("bad.txt", "model\na\n", "bad.txt: a manifest is a .yaml, .yml or .csv file"),
])
def test_bad_manifests_name_file_row_and_field(tmp_path, name, text, message):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(UsageError) as e:
        manifest.load(p)
    assert str(e.value).startswith(f"{tmp_path}/{message}")


def test_import_applies_the_manifest_and_a_bad_one_stops_before_reading(shared, tmp_path, tmp_db, capsys):
    m = tmp_path / "models.yaml"
    m.write_text(YAML + "- model: not-imported\n  group: x\n")
    files = [str(shared / f"traces/skythought-aime24/{s}.jsonl") for s in STEPS]
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--models", str(m),
                 "--db", str(tmp_db), *files]) == 0
    assert "1 manifest models matched no imported model: not-imported" in capsys.readouterr().err
    with db.reader(tmp_db) as con:
        got = con.execute("SELECT model_id, family, params_b, train_step, \"group\", meta->>'lr' FROM models "
                          "ORDER BY 1").fetchall()
    assert got == [(STEPS[0], "qwen2.5", 32.0, 21, "sft-32b-steps", "1e-5"), (STEPS[1], None, 32.0, 35, "sft-32b-steps", None)]
    # a changed manifest updates the stored models on a re-import (nothing else is written)
    m.write_text(YAML.replace("family: qwen2.5", "family: qwen"))
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--models", str(m),
                 "--db", str(tmp_db), files[0]]) == 0
    assert f"model metadata updated ({STEPS[0]})" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("model,params_b\nx,-1\n")
    assert main(["import", "--format", "qwen-eval", "--benchmark", "aime24", "--models", str(bad),
                 "--db", str(tmp_path / "never.duckdb"), files[0]]) == 2
    assert f"{bad}:row 2: params_b: params_b must be a finite number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "never.duckdb").exists()
