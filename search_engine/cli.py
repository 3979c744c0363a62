"""Command line: headless searches and a look at what the engine offers.

python -m search_engine run --problem zdt1 --preset gp --budget 210 --batch-size 10 --out evaluations.csv
python -m search_engine run --problem hytnas-table --data ../shared/data/hytnas --preset hytnas --budget 400
python -m search_engine run --problem zdt1 --preset gp --budget 100 --n-init 20 --workers 4 --in-flight 4
python -m search_engine presets
python -m search_engine describe
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.constraints import Constraint
from search_engine.errors import ConfigError, DataError
from search_engine.evaluators.base import Evaluator
from search_engine.presets import PRESETS
from search_engine.registry import PENDING, describe
from search_engine.runner import IterationRecord, RunResult, SimulatedPool, run_pool, run_search
from search_engine.setups import study_config


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so tests can read its defaults)."""
    parser = argparse.ArgumentParser(prog="python -m search_engine", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a whole search and write every evaluation to CSV")
    run.add_argument(
        "--problem",
        required=True,
        help="zdt1..zdt3, dtlz1..dtlz7, bnh, tnk, srn, osy, c1dtlz1, c2dtlz2, or hytnas-table",
    )
    run.add_argument("--preset", default="hytnas", choices=sorted(PRESETS), help="optimizer preset")
    run.add_argument("--budget", type=int, required=True, help="total evaluations, initial design included")
    run.add_argument("--batch-size", type=int, help="architectures per iteration (default: the preset's)")
    run.add_argument("--n-init", type=int, help="initial design size (default: the preset's)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--data", help="folder holding the HyT-NAS tables (hytnas-table only)")
    run.add_argument("--n-var", type=int, default=6, help="benchmark variables (default 6)")
    run.add_argument("--n-obj", type=int, default=2, help="benchmark objectives (DTLZ only, default 2)")
    run.add_argument("--ref-point", type=float, nargs="+", help="reference point in the objectives' units")
    run.add_argument("--out", help="CSV file for all evaluations")
    run.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="BOUND",
        help='a bound such as "f1>=0.2" or "params<=2e6" (repeatable); hypervolume counts feasible points',
    )
    pool = run.add_argument_group(
        "simulated pool", "evaluate on W simulated workers with log-normal evaluation times (simulated clock)"
    )
    pool.add_argument("--workers", type=int, help="number of simulated workers (default: no pool)")
    pool.add_argument(
        "--in-flight", type=int, help="keep N architectures in flight (default: synchronous batches)"
    )
    pool.add_argument("--pending", choices=PENDING.keys(), help="how points in flight condition a proposal")
    pool.add_argument("--median-seconds", type=float, default=1.0, help="median evaluation time (default 1)")
    pool.add_argument(
        "--slow-to-fast", type=float, default=10.0, help="95th/5th percentile ratio of evaluation times"
    )
    commands.add_parser("presets", help="list the named presets")
    commands.add_parser("describe", help="print every registered component and its parameters as JSON")
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO = sys.stdout) -> int:
    """Entry point; returns the process exit code (2 for bad input, with the reason on stderr)."""
    args = build_parser().parse_args(argv)
    if args.command == "presets":
        for preset in PRESETS.values():
            print(f"{preset.key:13} {preset.label}: {preset.description}", file=stdout)
        return 0
    if args.command == "describe":
        json.dump(describe(), stdout, indent=2)
        print(file=stdout)
        return 0
    try:
        config = study_config(
            args.problem,
            args.preset,
            budget=args.budget,
            seed=args.seed,
            batch_size=args.batch_size,
            n_init=args.n_init,
            ref_point=tuple(args.ref_point) if args.ref_point else None,
            data_dir=args.data,
            n_var=args.n_var,
            n_obj=args.n_obj,
        )
        if args.constraint:
            constraints = tuple(
                Constraint.parse(text, f"constraints[{i}]") for i, text in enumerate(args.constraint)
            )
            config = config.with_changes(constraints=constraints).validate()
        if args.in_flight is not None or args.pending is not None:
            if args.workers is None:
                raise ConfigError("in_flight", "--in-flight and --pending need a simulated pool (--workers)")
            pending = ComponentSpec(args.pending) if args.pending else config.pending
            config = config.with_changes(in_flight=args.in_flight, pending=pending).validate()
        pool = (
            SimulatedPool(args.workers, args.median_seconds, args.slow_to_fast, seed=args.seed)
            if args.workers is not None
            else None
        )
        evaluator = config.build_evaluator()
    except (ConfigError, DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if pool is not None:
        return _run_on_pool(config, evaluator, pool, args.out, stdout)

    def report(record: IterationRecord) -> None:
        timings = " ".join(f"{k}={v:.2f}s" for k, v in record.timings.items() if k != "evaluate")
        print(
            f"iteration {record.iteration:3d}  evaluations {record.n_evaluations:5d}  "
            f"failed {record.n_failed:3d}  hypervolume {record.hypervolume:.6g}  {timings}"
            + (f"  infeasible {record.n_infeasible}" if config.constraints else ""),
            file=stdout,
            flush=True,
        )

    result = run_search(config, evaluator, on_iteration=report)
    print(
        f"reference point (minimisation form): {list(result.reference_point.values)} "
        f"({result.reference_point.rule})",
        file=stdout,
    )
    if args.out:
        write_evaluations_csv(result, Path(args.out))
        print(f"wrote {len(result.results)} evaluations to {args.out}", file=stdout)
    return 0


def _run_on_pool(
    config: StudyConfig, evaluator: Evaluator, pool: SimulatedPool, out: str | None, stdout: TextIO
) -> int:
    """Run on a simulated pool and print its clock: time to the budget, idle share, proposal CPU."""
    result = run_pool(config, evaluator, pool)
    mode = "synchronous batches" if config.in_flight is None else f"{config.in_flight} in flight"
    print(
        f"{pool.n_workers} simulated workers, {mode}: {len(result.run.results)} evaluations in "
        f"{result.simulated_seconds:.1f} simulated s, workers idle {100 * result.idle_fraction:.1f} %, "
        f"{result.n_asks} proposals in {result.proposal_cpu_seconds:.2f} CPU s, "
        f"hypervolume {result.trace[-1].hypervolume if result.trace else 0.0:.6g}",
        file=stdout,
    )
    if out:
        write_evaluations_csv(result.run, Path(out))
        print(f"wrote {len(result.run.results)} evaluations to {out}", file=stdout)
    return 0


def write_evaluations_csv(result: RunResult, path: Path) -> None:
    """One row per evaluated architecture: index, iteration, origin, design variables, objectives, error."""
    space = result.config.build_space()
    names = space.names
    objective_columns = [o.label() for o in result.config.objectives]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "iteration", "origin", *names, *objective_columns, "error"])
        archs = space.decode(result.X) if result.X.shape[0] else []
        for i, (arch, res) in enumerate(zip(archs, result.results, strict=True)):
            values = list(res.objectives) if res.objectives is not None else [""] * len(objective_columns)
            writer.writerow(
                [
                    i,
                    result.iterations_of[i],
                    result.origins[i],
                    *(arch[n] for n in names),
                    *values,
                    res.error or "",
                ]
            )
