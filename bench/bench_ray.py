"""The Ray executor's overhead against the local executor, on the CPU demo.

    .venv/bin/python bench/bench_ray.py [--config configs/cpu_demo.yaml] [--cpus 2] [--workers 1,2]
                                        [--rounds 3] [--max-tokens N]

Generates the config's samples into fresh warehouses, in --rounds interleaved rounds: the local
executor (one process, one model), then `--executor ray` on a local Ray cluster of --cpus CPUs
(started once) with each worker count of --workers. Prints every run (wall time, trajectories/s,
tokens/s, CPU seconds of this process and every process it started: Ray's raylet, GCS and
workers included), then the best run of each executor (the least disturbed: on a shared machine
other work only ever adds time) with its ratio to the best local run, whether the stored texts
equal the local executor's (llamacpp draws the same sample from the same seed), the driver's
grading + writing time per trajectory, and the cluster's start-up time (paid once per job).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipeline.ingest import benchmarks  # noqa: E402
from pipeline.generation import config, runner as generate
from warehouse import db, lookup  # noqa: E402
from warehouse.records import Trajectory  # noqa: E402


def _texts(path: Path) -> dict[int, str]:
    with db.reader(path) as con:
        return {t.trajectory_id: t.response for t in lookup.records(con, Trajectory)}


class CPUMeter:
    """CPU seconds (user + system) of this process and of every process under it, since start():
    descendants are sampled at each batch (Ray's workers exit when their dataset is done)."""

    def start(self) -> "CPUMeter":
        self.base = {p.pid: self._cpu(p) for p in self._procs()}
        self.last = dict(self.base)
        return self

    @staticmethod
    def _procs() -> list[psutil.Process]:
        me = psutil.Process()
        return [me, *me.children(recursive=True)]

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def sample(self, *_) -> None:
        for p in self._procs():
            try:
                self.last[p.pid] = self._cpu(p)
            except psutil.Error:
                pass

    def seconds(self) -> float:
        self.sample()
        return sum(v - self.base.get(pid, 0.0) for pid, v in self.last.items())


def _line(name: str, s: dict, cpu: float, base: tuple[float, float] | None) -> str:
    rate = s["generated"] / s["seconds"] if s["seconds"] else 0.0
    tok = s["tokens"] / s["seconds"] if s["seconds"] else 0.0
    ratio = f"{s['seconds'] / base[0]:>7.2f}x {cpu / base[1]:>7.2f}x" if base else f"{'-':>8} {'-':>8}"
    return (f"{name:<18} {s['generated']:>5} {s['tokens']:>6} {s['seconds']:>8.1f} {rate:>7.2f} {tok:>6.1f} "
            f"{cpu:>7.1f} {cpu / max(s['generated'], 1):>8.2f} {ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/cpu_demo.yaml")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster (default 2)")
    ap.add_argument("--workers", default="1,2", help="Ray worker counts to run, comma-separated")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best run of each counts")
    ap.add_argument("--max-tokens", type=int, help="override the config's max_tokens")
    a = ap.parse_args()
    cfg = config.load(a.config)
    if a.max_tokens:
        cfg = config.RunConfig(**{**cfg.__dict__, "max_tokens": a.max_tokens})
    data_root = benchmarks.data_dir()
    counts = [int(x) for x in a.workers.split(",")]
    import ray

    from pipeline.generation import ray_exec

    tmp = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    print(f"{cfg.path}: backend {cfg.backend}, {len(cfg.models)} model(s), max_tokens {cfg.max_tokens}, "
          f"batch_size {generate.batch_size(cfg)}; {os.cpu_count()} CPUs here, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    header = (f"{'executor':<18} {'trajs':>5} {'tokens':>6} {'wall s':>8} {'traj/s':>7} {'tok/s':>6} "
              f"{'CPU s':>7} {'CPU/traj':>8} {'wall/loc':>8} {'CPU/loc':>8}")
    print(header)
    runs: dict[str, list[tuple[dict, float, bool]]] = {}
    want = None
    t = time.monotonic()
    ray_exec.connect(None, num_cpus=a.cpus)
    start = time.monotonic() - t
    try:
        for i in range(a.rounds):
            path = tmp / f"local{i}.duckdb"
            meter = CPUMeter().start()
            s = generate.execute(generate.make_plan(cfg, path, data_root=data_root), progress=False)
            cpu = meter.seconds()
            texts = _texts(path)
            want = want or texts
            runs.setdefault("local", []).append((s, cpu, texts == want))
            print(_line("local", s, cpu, None), flush=True)
            for n in counts:
                path = tmp / f"ray{n}-{i}.duckdb"
                meter = CPUMeter().start()
                s = ray_exec.execute(generate.make_plan(cfg, path, data_root=data_root), workers=n,
                                     progress=False, on_batch=meter.sample)
                cpu = meter.seconds()
                name = f"ray, {n} worker(s)"
                runs.setdefault(name, []).append((s, cpu, _texts(path) == want))
                print(_line(name, s, cpu, None), flush=True)
    finally:
        ray.shutdown()
    best = {name: min(rs, key=lambda r: r[0]["seconds"]) for name, rs in runs.items()}
    base = (best["local"][0]["seconds"], best["local"][1])
    print(f"best of {a.rounds} round(s) each, against the best local run:")
    print(header)
    for name, (s, cpu, _) in best.items():
        same = all(r[2] for r in runs[name])
        write = "" if name == "local" else f"; driver writing {1000 * s['write_seconds'] / max(s['generated'], 1):.0f} ms/traj"
        print(_line(name, s, cpu, base) + f"  texts {'equal' if same else 'DIFFER'}{write}")
    print(f"ray cluster start ({a.cpus} CPUs): {start:.1f}s, once per job (not in the rows above); "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
