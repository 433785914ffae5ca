"""Benchmark: Reunify's engine against the Splink 5 baseline on generated worlds.

    python -m bench.run --sizes 2300,20000 --seed 7

For each world size a world is generated (``pipeline.sim.world.generate_world``) and written to a
scratch directory. Each system then runs in its own spawned process that loads the world, parses
the feeds and reconciles; the process reports its wall time (parse + reconcile, not the load) and
its peak resident memory (``VmHWM``, which includes the loaded world; the memory after loading
is reported too). The parent scores every export with ``pipeline.sim.score.score`` against the
world's truth, prints a Markdown table and writes it to ``bench/out/results.md``.

``--sizes`` also takes ``sample`` for the shared sample world (``--sample-dir``). A system that
cannot run (Reunify's engine not there yet, the bench extra not installed) shows 'unavailable'.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"
SYSTEMS = ("reunify", "splink", "run", "workers", "incremental")
SYSTEM_LABELS = {
    "reunify": "reunify engine",
    "splink": "splink 5",
    "run": "reunify run (HTTP)",
    "floor": "fetch floor",
    "workers-1": "reunify run, 1 worker",
    "workers-2": "reunify run, 2 workers",
    "full-after-change": "reunify run --full, after a 1% change",
    "incremental": "reunify run --incremental, after a 1% change",
}
METRICS = (
    ("link P", "link_precision"),
    ("link R", "link_recall"),
    ("link F1", "link_f1"),
    ("child-dedup F1", "dedup_f1"),
    ("status acc", "status_accuracy"),
    ("unresolved-loc F1", "unresolved_f1"),
    ("cohort acc", "cohort_accuracy"),
)


@dataclass
class Measurement:
    """One system on one world."""

    world: str
    system: str
    ok: bool
    seconds: float | None = None
    peak_mib: float | None = None
    loaded_mib: float | None = None
    #: the world's feed records (the fetch floor's count)
    records: int | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def vm_kib(field_name: str) -> int | None:
    """A ``/proc/self/status`` memory field in KiB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_kib() -> int:
    hwm = vm_kib("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_reunify(world: Any, as_of: date) -> list[dict[str, Any]]:
    from bench.splink_baseline import parse_snapshot
    from pipeline.reconcile import reconcile

    snapshot = parse_snapshot(world)
    return [result.to_export("bench") for result in reconcile(snapshot, as_of)]


def _run_splink(world: Any, as_of: date) -> list[dict[str, Any]]:
    from bench.splink_baseline import run_splink

    return run_splink(world, as_of)


def _worker(system: str, world_dir: str, export_path: str, conn: Any) -> None:
    """Spawned process: load the world, run one system, write its export, report time and memory."""
    try:
        from pipeline.sim.world import load_world

        world = load_world(world_dir)
        loaded = vm_kib("VmRSS") or 0
        runner = {"reunify": _run_reunify, "splink": _run_splink}[system]
        start = time.perf_counter()
        exports = runner(world, world.as_of)
        seconds = time.perf_counter() - start
        peak = _peak_kib()
        with open(export_path, "w", encoding="utf-8") as fh:
            for obj in exports:
                fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        conn.send({"ok": True, "seconds": seconds, "peak_kib": peak, "loaded_kib": loaded})
    except BaseException as exc:  # report every failure to the parent, then exit
        conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
    finally:
        conn.close()


def measure(
    system: str, world_dir: Path, label: str, truth: list[dict[str, Any]], timeout: float
) -> Measurement:
    """Run ``system`` on the world in ``world_dir`` in a spawned process and score its export."""
    from pipeline.sim.score import score

    ctx = mp.get_context("spawn")
    export_path = OUT_DIR / f"{label}-{system}.jsonl"
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(system, str(world_dir), str(export_path), child_conn))
    proc.start()
    child_conn.close()
    report: dict[str, Any] | None = None
    if parent_conn.poll(timeout):
        try:
            report = parent_conn.recv()
        except EOFError:
            report = None
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if report is None:
        return Measurement(
            label, system, ok=False, note=f"no report (exit code {proc.exitcode}, timeout {timeout:.0f}s)"
        )
    if not report["ok"]:
        print(f"[{label}/{system}] unavailable: {report['error']}", file=sys.stderr)
        return Measurement(label, system, ok=False, note=report["error"].splitlines()[0][:120])
    exports = [json.loads(line) for line in export_path.read_text(encoding="utf-8").splitlines() if line]
    result = score(exports, truth)
    return Measurement(
        label,
        system,
        ok=True,
        seconds=report["seconds"],
        peak_mib=report["peak_kib"] / 1024,
        loaded_mib=report["loaded_kib"] / 1024,
        scores=result.as_dict(),
    )


def measure_run(world_dir: Path, label: str, truth: list[dict[str, Any]], as_of: str) -> list[Measurement]:
    """The fetch floor and a whole ``reunify run`` over HTTP against a simulator process."""
    from bench.whole_run import fetch_floor, serve_world, whole_run
    from pipeline.sim.score import score

    with serve_world(world_dir) as env:
        floor, records = fetch_floor(env)
        try:
            seconds, peak, rows = whole_run(env, as_of)
        except RuntimeError as exc:
            return [
                Measurement(
                    label, "floor", ok=True, seconds=floor, records=records, note=f"{records:,} records"
                ),
                Measurement(label, "run", ok=False, note=str(exc)[:120]),
            ]
    return [
        Measurement(label, "floor", ok=True, seconds=floor, records=records, note=f"{records:,} records"),
        Measurement(
            label,
            "run",
            ok=True,
            seconds=seconds,
            peak_mib=peak,
            scores=score(rows, truth).as_dict(),
            note=f"{seconds / floor:.1f}x the fetch floor",
        ),
    ]


def measure_workers(
    world_dir: Path, label: str, truth: list[dict[str, Any]], as_of: str
) -> list[Measurement]:
    """``reunify run`` through one Celery worker, then two (Redis broker, PostgreSQL store)."""
    from bench.whole_run import serve_world
    from bench.workers import run_through_workers
    from pipeline.sim.score import score

    found: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="reunify-workers-") as tmp, serve_world(world_dir) as env:
        for count in (1, 2):
            system = f"workers-{count}"
            try:
                run = run_through_workers(env, as_of, count, Path(tmp))
            except RuntimeError as exc:
                found.append(Measurement(label, system, ok=False, note=str(exc)[:120]))
                continue
            stages = ", ".join(f"{k} {v:.0f}" for k, v in run.stages.items() if k != "publish")
            found.append(
                Measurement(
                    label,
                    system,
                    ok=True,
                    seconds=run.seconds,
                    peak_mib=run.peak_mib,
                    scores=score(run.rows, truth).as_dict(),
                    note=stages,
                )
            )
    return found


def measure_incremental(world_dir: Path, label: str) -> list[Measurement]:
    """After a 1% change of the world: a full run on a fresh store, an incremental run on the
    store of the first run; both scored against the changed world's truth, their exports compared."""
    from bench.whole_run import incremental_vs_full
    from pipeline.sim.score import score

    try:
        found = incremental_vs_full(world_dir)
    except RuntimeError as exc:
        return [Measurement(label, "incremental", ok=False, note=str(exc)[:120])]
    # The full run re-estimates the model from the changed feeds, the incremental run reuses the
    # last good run's: their exports may differ by the model alone. What must hold is that the
    # incremental run equals a from-scratch reconciliation under the model state it used.
    same = "same export as the full run" if found.same_export else "export differs from the full run's"
    same += (
        ", equal to a from-scratch reconcile under its model state"
        if found.same_as_scratch
        else ", DIFFERS FROM A FROM-SCRATCH RECONCILE UNDER ITS MODEL STATE"
    )
    full_seconds = found.full[0]
    notes = {
        "full-after-change": "",
        "incremental": f"{same}; {found.incremental[0] / full_seconds:.2f}x its time; "
        f"{found.fetched:,} records fetched",
    }
    return [
        Measurement(
            label,
            system,
            ok=True,
            seconds=seconds,
            peak_mib=peak,
            scores=score(rows, found.truth).as_dict(),
            note=notes[system],
        )
        for system, (seconds, peak, rows) in (
            ("full-after-change", found.full),
            ("incremental", found.incremental),
        )
    ]


def _slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` against ``xs``."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def growth(rows: list[Measurement]) -> list[str]:
    """How each system's time grows with the world's feed records: the fitted exponent ``b`` of
    ``seconds ~ records^b`` over the generated worlds (the sample left out), beside the exponent
    that ``records * log(records)`` itself has over the same sizes (time per record growing
    like ``log records``)."""
    records = {m.world: m.records for m in rows if m.system == "floor" and m.records and m.world != "sample"}
    lines = []
    for system in dict.fromkeys(m.system for m in rows):
        points = [
            (records[m.world], m.seconds)
            for m in rows
            if m.system == system and m.ok and m.seconds and m.world in records
        ]
        if len(points) < 2:
            continue
        xs = [math.log(n) for n, _ in points]
        b = _slope(xs, [math.log(sec) for _, sec in points])
        ref = _slope(xs, [math.log(n * math.log(n)) for n, _ in points])
        lines.append(
            f"- {SYSTEM_LABELS.get(system, system)}: seconds ~ records^{b:.2f} over "
            f"{min(n for n, _ in points):,}-{max(n for n, _ in points):,} records "
            f"(n log n would be records^{ref:.2f}; time per record ~ records^{b - 1:.2f})"
        )
    return lines


def table(rows: list[Measurement]) -> str:
    """The results as a Markdown table."""
    head = [
        "world",
        "system",
        "wall s",
        "peak RSS MiB",
        "RSS after load MiB",
        *(n for n, _ in METRICS),
        "note",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in rows:
        name = SYSTEM_LABELS.get(m.system, m.system)
        if not m.ok:
            cells = [m.world, name, "unavailable", "", "", *([""] * len(METRICS)), m.note.replace("|", "/")]
        else:
            cells = [
                m.world,
                name,
                f"{m.seconds:.1f}",
                "" if m.peak_mib is None else f"{m.peak_mib:.0f}",
                "" if m.loaded_mib is None else f"{m.loaded_mib:.0f}",
                *((f"{m.scores[key]:.3f}" if m.scores else "") for _, key in METRICS),
                m.note,
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="2300,20000,100000", help="comma-separated child counts, or 'sample'"
    )
    parser.add_argument("--seed", type=int, default=7, help="world generator seed")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: " + ",".join(SYSTEMS))
    parser.add_argument(
        "--sample-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "samples")
    )
    parser.add_argument(
        "--splink-max", type=int, default=20000, help="largest world Splink runs on (it needs ~6 GB at 20k)"
    )
    parser.add_argument(
        "--incremental-max",
        type=int,
        default=20000,
        help="largest world the incremental comparison runs on (it takes three whole runs)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per system and world")
    parser.add_argument("--out", default=str(OUT_DIR / "results.md"))
    args = parser.parse_args(argv)

    from pipeline.sim.world import generate_world, load_world

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="reunify-bench-") as scratch:
        for size in (s.strip() for s in args.sizes.split(",") if s.strip()):
            if size == "sample":
                label, world_dir = "sample", Path(args.sample_dir)
                truth = load_world(world_dir).truth
            else:
                n = int(size)
                label = f"{n:,} (seed {args.seed})"
                started = time.perf_counter()
                world = generate_world(n, args.seed)
                world_dir = world.write(Path(scratch) / f"world-{n}-{args.seed}")
                truth = world.truth
                del world
                print(f"[{label}] world generated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
            file_label = label.split(" ")[0].replace(",", "")
            for system in systems:
                if system == "splink" and size != "sample" and int(size) > args.splink_max:
                    continue
                if system == "incremental" and size != "sample" and int(size) > args.incremental_max:
                    continue
                if system == "incremental":
                    found = measure_incremental(world_dir, label)
                elif system in ("run", "workers"):
                    as_of = load_world(world_dir).as_of.isoformat() if size == "sample" else "2018-07-12"
                    measure_http = measure_run if system == "run" else measure_workers
                    found = measure_http(world_dir, label, truth, as_of)
                else:
                    found = [measure(system, world_dir, file_label, truth, args.timeout)]
                for m in found:
                    rows.append(m)
                    shown = f"{m.seconds:.1f}s" if m.ok else "unavailable"
                    print(f"[{label}] {SYSTEM_LABELS.get(m.system, m.system)}: {shown}", file=sys.stderr)
    text = table(rows)
    fitted = growth(rows)
    if fitted:
        text += "\n\nGrowth with the feed records (least squares on the logarithms):\n\n" + "\n".join(fitted)
    meta = (
        f"\n\nseed {args.seed}. Engine rows (reunify engine, splink 5): wall time = parse + reconcile in a "
        "spawned process (world load excluded), peak RSS = that process's VmHWM (loaded world included). "
        "`reunify run (HTTP)`: the whole command, embedded, SQLite, against the feed simulator in its own "
        "process; peak RSS of the command's process. Fetch floor: a bare client fetching and decoding "
        "every feed (one thread per feed). `reunify run, N workers`: the same command through N Celery "
        "workers of one process each (Redis broker, PostgreSQL store), with each stage's seconds; "
        "peak RSS = the largest of any worker process. "
        "`--full` / `--incremental` after a 1% change: a day later about 1% of the world's records "
        "change (`mutate_world`); the incremental run continues the store of a full run of the world "
        "before, the full run starts from an empty store; both scored against the changed world.\n"
    )
    Path(args.out).write_text("# Reunify vs Splink 5 baseline\n\n" + text + meta, encoding="utf-8")
    print(text)
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
