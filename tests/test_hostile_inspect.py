"""Hostile Inspect AI logs (issue 23): a real `.eval` log written with inspect_ai's own API, then tampered with
(the header's epochs, one sample member invalid, an oversize member), imported by the CLI in a subprocess
under a memory limit and a timeout: it finishes in seconds, keeps the good samples and names the bad one."""
import json
import resource
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from import_fixtures import write_inspect_log
from pipeline.ingest.importers import inspect_eval
from pipeline.ingest.session import ImportSession
from warehouse import db

REPO = Path(__file__).resolve().parent.parent
MEMORY = 3 << 30            # a normal import of a small log runs under 2 GiB of address space (1 GiB fails)
ROWS = [{"question": f"What is {i} + {i}?", "gt": 2 * i, "code": [f"{i} + {i} = {2 * i}. \\boxed{{{2 * i}}}"],
         "score": [1], "pred": [str(2 * i)]} for i in range(5)]
IDS = [f"q{i}" for i in range(5)]


@pytest.fixture(scope="module")
def real_log(tmp_path_factory) -> Path:
    """Five samples (q0 ... q4, one epoch) in a log written by inspect_ai."""
    return write_inspect_log(tmp_path_factory.mktemp("inspect") / "ok.eval", ROWS, IDS, model="vllm/m", task="add")


def _tamper(src: Path, dst: Path, replace: dict[str, bytes]) -> Path:
    """A copy of the archive with the named members' contents replaced (order and names kept)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info)))
    return dst


def _with_member(src: Path, dst: Path, name: str, size: int) -> Path:
    """A copy with member ``name`` replaced by ``size`` bytes of spaces, deflated (about 1 KB per MB)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info.filename, zin.read(info))
                continue
            member = zipfile.ZipInfo(name)
            member.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(member, "w") as f:
                block = b" " * (1 << 20)
                for _ in range(size >> 20):
                    f.write(block)
    return dst


def _state_size(src: Path, dst: Path, name: str, declared: int) -> Path:
    """A copy whose central directory states ``declared`` bytes as member ``name``'s uncompressed size."""
    with zipfile.ZipFile(src) as z:
        at, size = z.start_dir, z.getinfo(name).file_size
    raw = bytearray(src.read_bytes())
    while True:                                     # central directory entries: 46 bytes, name, extra, comment
        n_name, n_extra, n_comment = struct.unpack_from("<HHH", raw, at + 28)
        if raw[at + 46:at + 46 + n_name] == name.encode():
            break
        at += 46 + n_name + n_extra + n_comment
    assert struct.unpack_from("<I", raw, at + 24)[0] == size
    struct.pack_into("<I", raw, at + 24, declared)
    dst.write_bytes(bytes(raw))
    return dst


def _import(path: Path, db_path: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python -m pipeline import --format inspect` in a subprocess limited to MEMORY of address space."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    return subprocess.run([sys.executable, "-m", "pipeline", "import", "--format", "inspect", "--benchmark", "hostile",
                           "--db", str(db_path), str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)


def _stored(db_path: Path) -> list[tuple]:
    with db.reader(db_path) as con:
        return sorted(con.execute("SELECT question_id, sample_idx, source_correct FROM trajectories").fetchall())


@pytest.mark.slow
def test_a_header_declaring_fifty_million_epochs_sizes_nothing(real_log, tmp_path, tmp_db):
    with zipfile.ZipFile(real_log) as z:
        header = json.loads(z.read("header.json"))
    header["eval"]["config"]["epochs"] = 50_000_000
    header["eval"]["dataset"]["sample_ids"] = IDS * 200_000                 # a long id list: trusted for nothing
    f = _tamper(real_log, tmp_path / "epochs.eval", {"header.json": json.dumps(header).encode()})
    assert f.stat().st_size < 200_000
    out = _import(f, tmp_db)
    assert out.returncode == 0, out.stderr[-2000:]
    assert _stored(tmp_db) == [(q, 0, True) for q in IDS]


@pytest.mark.slow
@pytest.mark.parametrize("kind, field, message", [
    ("answer_int", "scores.match.answer", "Input should be a valid string (got 42)"),
    ("value_dict", "scores.match.value", "Input should be a valid string (got {'a': {'b': 1}}) (and "),
    ("garbage", "sample", "malformed JSON: Expecting value at line 1 column 1"),
])
def test_one_invalid_sample_costs_only_that_sample(real_log, tmp_path, tmp_db, kind, field, message):
    with zipfile.ZipFile(real_log) as z:
        names = [n for n in z.namelist() if n.startswith("samples/")]
        data = json.loads(z.read("samples/q2_epoch_1.json"))
    assert names.index("samples/q2_epoch_1.json") == 2                     # the third sample of five
    if kind == "answer_int":
        data["scores"]["match"]["answer"] = 42
    elif kind == "value_dict":
        data["scores"]["match"]["value"] = {"a": {"b": 1}}
    bad = b"garbage, not JSON" if kind == "garbage" else json.dumps(data).encode()
    f = _tamper(real_log, tmp_path / f"{kind}.eval", {"samples/q2_epoch_1.json": bad})
    out = _import(f, tmp_db)
    assert out.returncode == 1, out.stderr[-2000:]
    assert f"error: {f}:3: sample q2 epoch 1: {field}: {message}" in out.stderr
    assert "4 new trajectories" in out.stderr + out.stdout
    assert _stored(tmp_db) == [(q, 0, True) for q in IDS if q != "q2"]


@pytest.fixture(scope="module")
def bomb(real_log, tmp_path_factory) -> Path:
    """Sample q2's member replaced by 256 MiB of spaces (about 250 KB in the file)."""
    return _with_member(real_log, tmp_path_factory.mktemp("bomb") / "bomb.eval", "samples/q2_epoch_1.json", 256 << 20)


@pytest.mark.slow
@pytest.mark.parametrize("declared", [None, 1000], ids=["oversize", "lying_size"])
def test_an_oversize_sample_member_is_skipped_unread(bomb, tmp_path, tmp_db, declared):
    """Stated as 256 MiB, the member is skipped without being inflated; stated as 1,000 bytes, zipfile
    inflates no more than that and the member fails its CRC check (Inspect's own reader inflates it all)."""
    f = bomb if declared is None else _state_size(bomb, tmp_path / "lying.eval", "samples/q2_epoch_1.json", declared)
    assert f.stat().st_size < 1 << 20
    out = _import(f, tmp_db, timeout=60)
    assert out.returncode == 1, out.stderr[-2000:]
    if declared is None:
        assert (f"error: {f}:3: sample q2 epoch 1: samples/q2_epoch_1.json is 256.0 MiB uncompressed, "
                "over the 16 MiB limit; skipped unread") in out.stderr
    else:
        assert f"error: {f}:3: sample q2 epoch 1: sample: unreadable (BadZipFile: Bad CRC-32" in out.stderr
    assert _stored(tmp_db) == [(q, 0, True) for q in IDS if q != "q2"]


def test_an_oversize_header_is_one_file_error(real_log, tmp_path, tmp_db):
    f = _with_member(real_log, tmp_path / "header.eval", "header.json", 64 << 20)
    rep = ImportSession(tmp_db).import_path(f, "inspect", "hostile")[0]
    assert rep.samples == 0 and [str(p) for p in rep.problems] == \
        [f"{f}:0: file: header.json is 64.0 MiB uncompressed, over the 16 MiB limit; not read"]


def test_an_old_json_log_over_the_limit_is_not_read(tmp_path, tmp_db, monkeypatch):
    f = write_inspect_log(tmp_path / "old.json", ROWS, IDS, model="vllm/m", task="add")
    assert ImportSession(tmp_db).import_path(f, "inspect", "hostile")[0].new == 5     # the old format reads
    monkeypatch.setattr(inspect_eval, "MAX_JSON_LOG_BYTES", f.stat().st_size - 1)
    rep = ImportSession(tmp_path / "w2.duckdb").import_path(f, "inspect", "hostile")[0]
    assert rep.new == 0 and str(rep.problems[0]).startswith(f"{f}:0: file: a JSON log of 0 MiB, over the 0 MiB limit")
