"""The `altsim` command line: demo, run, plot, bound, problem, config, falsify, bench.

Exit codes: 0 done; 2 refused before any work (unknown flags, bad values, a missing CUDA
device, an unwritable folder, a config outside a requested bound), with the subcommand's
usage line for a flag error and one line `altsim: error: ...` naming the value and what is
allowed; 1 a run that failed after starting, with one line `altsim: run failed: ...`; 3 `altsim
falsify` found a confirmed violation of the bound (its report and counterexample are written);
130 / 143 interrupted by SIGINT / SIGTERM (`falsify` first writes its partial report).
`--debug` (before the subcommand) also prints the traceback; the exit codes stay the same.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
import traceback

from altsim.exits import (  # noqa: F401 (UsageError and the codes: importable from here as before)
    BROKEN_PIPE,
    INTERRUPTED,
    RUN_FAILED,
    TERMINATED,
    USAGE_ERROR,
    VIOLATED,
    Terminated,
    UsageError,
    UsageErrorWithUsage,
)
from altsim.io import dumps
from altsim.theory.checks import unknown_name_message


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # the usage line, then one error line
        sub = self.prog.removeprefix("altsim").strip()
        raise UsageErrorWithUsage(
            f"{sub}: {message}" if sub else message, " ".join(self.format_usage().split())
        )


def _parse_sets(items: list[str] | None) -> dict[str, float]:
    """KEY=VALUE pairs (from every --set, however many times the flag is given); a key given twice is refused."""
    import re

    values = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        key, raw = (x.strip() for x in item.split("=", 1))
        if key in values:
            raise UsageError(
                f"--set {key}: given twice ({values[key]!r} and {raw!r}); give each key once"
            )
        try:
            values[key] = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
        except ValueError:
            raise UsageError(f"--set {key}={raw[:40]!r}: VALUE must be a number") from None
    return values


def _add_plugins_flag(parser: argparse.ArgumentParser) -> None:
    """--plugins MODULE...: the user's modules a command imports before it looks any name up."""
    parser.add_argument(
        "--plugins",
        nargs="+",
        action="extend",
        metavar="MODULE",
        help="your modules that register bounds, algorithms or families (MODULE.py in the current folder, "
        "or on the import path)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The `altsim` argument parser: the global flags (--version, --debug) and one subparser per command
    (demo, run, plot, bound, problem, config, falsify, bench), whose flag errors raise `UsageErrorWithUsage`."""
    from altsim import __version__

    p = _Parser(
        prog="altsim", description="Check FedAlt/FedSim convergence theory against measured runs."
    )
    p.add_argument(
        "--version",
        action="version",
        version=f"altsim {__version__}",
        help="print the version and exit",
    )
    p.add_argument(
        "--debug", action="store_true", help="show the full traceback when something fails"
    )
    sub = p.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        metavar="COMMAND",
        help="what to do; 'altsim COMMAND -h' describes each",
    )

    d = sub.add_parser(
        "demo", help="run FedAlt and FedSim on the default problem and draw measured vs bound"
    )
    d.add_argument("--out", default="altsim-demo", help="output folder (default ./altsim-demo)")
    d.add_argument("--device", default="cpu", help="cpu or cuda")
    d.add_argument(
        "--seed", type=int, default=0, help="problem seed; run seeds are SEED, SEED+1, ..."
    )
    d.add_argument("--quick", action="store_true", help="small run (under 20 s on 2 cores)")

    b = sub.add_parser("bound", help="show a bound: expression, conditions, provenance, value")
    b.add_argument("--list", action="store_true", help="list every bound")
    b.add_argument(
        "--alg",
        help="the algorithm whose tightest applicable [D] bound to show (an algorithm some bound is on: "
        "altsim bound --list)",
    )
    b.add_argument(
        "--name",
        help="bound name (default: the tightest [D] bound whose conditions the values meet)",
    )
    b.add_argument(
        "--set",
        nargs="+",
        action="extend",
        metavar="KEY=VALUE",
        help="symbol values, e.g. L_u=1 n=10 T=100",
    )
    b.add_argument("--latex", action="store_true", help="print the LaTeX form")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    _add_plugins_flag(b)

    r = sub.add_parser("run", help="run an experiment or a sweep from a TOML config (resumable)")
    r.add_argument(
        "config", help="TOML file: [experiment], [problem], optional [sweep] and [regime]"
    )
    r.add_argument("--out", required=True, help="output folder; an existing one is resumed")
    r.add_argument(
        "--executor",
        default="local",
        choices=["local", "processes", "dask"],
        help="local: in-process; processes: the cores of this machine; dask: dask.distributed",
    )
    r.add_argument("--workers", type=int, help="worker processes for --executor processes")
    r.add_argument(
        "--dask-address", help="scheduler address for --executor dask (default: a local cluster)"
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_plugins_flag(r)

    pl = sub.add_parser("plot", help="redraw figures from a saved result folder, without rerunning")
    pl.add_argument("result_dir", help="a folder written by altsim demo or altsim run")
    pl.add_argument(
        "--kind",
        default="auto",
        choices=["auto", "rate", "tightness", "regime", "sweep", "trajectory", "personalization"],
        help="auto: rate and tightness for one experiment (and personalization where it has held-out "
        "accuracy), sweep (and regime) for a sweep",
    )
    pl.add_argument(
        "--x",
        default="m_over_n",
        help="sweep plot's x axis: m_over_n, an [experiment] field or problem.NAME",
    )
    pl.add_argument("--out", help="where to write the figures (default: RESULT_DIR)")
    pl.add_argument(
        "--paper-level",
        action="store_true",
        help="rate plot: overlay each algorithm's paper-level rate (docs/theory.md section 7.11) where it "
        "applies",
    )
    _add_plugins_flag(pl)

    fz = sub.add_parser(
        "falsify", help="search for a run that violates a bound (adversarial, within a time budget)"
    )
    fz.add_argument("--bound", required=True, help="an explicit [D] bound (altsim bound --list)")
    fz.add_argument(
        "--family",
        default="coupled_quadratic",
        help="problem family to search: coupled_quadratic (default), kinked_quadratic, bilinear_quadratic, "
        "all (those three), or any registered family (a plugin's is searched at its defaults)",
    )
    fz.add_argument("--budget", type=float, default=60.0, help="seconds to search (default 60)")
    fz.add_argument(
        "--out", default="altsim-falsify", help="folder for the report and the rerunnable configs"
    )
    fz.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply the bound (0.5 halves it: a broken bound)",
    )
    fz.add_argument("--seed", type=int, default=0, help="seed of the search")
    fz.add_argument(
        "--min-drift-share",
        type=float,
        default=0.0,
        help="search for the worst drift-term instance: runs where delta makes less than this share of "
        "the bound count for less (0 to 1; default 0, every run counts in full)",
    )
    fz.add_argument(
        "--max-rounds",
        type=int,
        default=None,
        help="longest horizon searched (default 80); longer lets a term that does not decay dominate",
    )
    fz.add_argument(
        "--target",
        default="bound",
        choices=("bound", "drift_lemma"),
        help="hold runs against the whole bound (default), or against the drift lemma of its proof "
        "(fedsim_gd_local: the client drift over what the lemma allows)",
    )
    fz.add_argument("--quiet", action="store_true", help="no progress lines")
    fz.add_argument(
        "--resume",
        action="store_true",
        help="continue the search recorded in --out (same --bound and options) for another --budget "
        "seconds; without it, a folder holding a falsify report is refused",
    )
    _add_plugins_flag(fz)

    bn = sub.add_parser(
        "bench", help="measure the batched engine's speed (see benchmarks/RESULTS.md)"
    )
    bn.add_argument("--quick", action="store_true", help="smaller sizes; a smoke test")
    bn.add_argument("--device", default="cpu", help="cpu or cuda")
    bn.add_argument("--out", help="write the JSON report here")
    bn.add_argument(
        "--peers",
        action="store_true",
        help='also run Flower\'s simulation engine on the same problem (needs: pip install "altsim[peers]")',
    )

    pr = sub.add_parser("problem", help="show a problem family's certified constants")
    pr.add_argument("--list", action="store_true", help="list the families")
    pr.add_argument(
        "--family", default="coupled_quadratic", help="problem family (altsim problem --list)"
    )
    pr.add_argument(
        "--set", nargs="+", action="extend", metavar="KEY=VALUE", help="family parameters"
    )
    pr.add_argument(
        "--config", help="TOML file whose [problem] table holds the parameters (--set overrides)"
    )
    pr.add_argument("--seed", type=int, default=0, help="problem seed (data and initial point)")
    pr.add_argument("--json", action="store_true", help="print one JSON object")
    _add_plugins_flag(pr)

    cf = sub.add_parser(
        "config", help="the config reference: every table and key, its default and valid range"
    )
    cf.add_argument(
        "--list", action="store_true", help="print every table: experiment, regime, sweep, problem"
    )
    cf.add_argument("--family", help="only this family's [problem] keys (altsim problem --list)")
    cf.add_argument("--json", action="store_true", help="print one JSON object")
    cf.add_argument(
        "--markdown",
        action="store_true",
        help="print docs/config.md (altsim config --markdown > docs/config.md regenerates it)",
    )
    _add_plugins_flag(cf)
    return p


def _bound_algorithms() -> list[str]:
    from altsim.theory import BOUNDS

    return sorted({b.algorithm for b in BOUNDS.values()})


# --- bound --------------------------------------------------------------------------------
def _bound_report(args) -> dict:
    from altsim import theory
    from altsim.theory.bound import Condition
    from altsim.theory.checks import unknown_name_message

    values = _parse_sets(args.set)
    unknown = [k for k in values if k not in theory.symbols.SYMBOLS]
    if unknown:
        raise UsageError(
            unknown_name_message("--set", unknown, theory.symbols.SYMBOLS, kind="symbol")
        )
    theory.checks.validate_values(values)
    if "eta" in values and ({"gamma_u", "gamma_v"} & set(values)):
        implied = {"gamma_u": ("L_u", "tau_u"), "gamma_v": ("L_v", "tau_v")}
        for g, (L, steps) in implied.items():
            if g in values and L in values:
                eta = values[g] * values[L] * values.get(steps, values.get("tau", 1))
                if not math.isclose(eta, values["eta"], rel_tol=1e-9):
                    raise UsageError(
                        f"--set {g}={values[g]} with {L}={values[L]} means eta={eta:.6g}, not eta={values['eta']}; "
                        "give eta or the step sizes, consistently"
                    )
    if "chi" not in values and {"L_uv", "L_u", "L_v"} <= set(values):
        values["chi"] = values["L_uv"] / math.sqrt(values["L_u"] * values["L_v"])

    # What a setting that does not say otherwise runs with (one local step per block, stateful
    # clients, fresh samples): the same completion `theory.best_value` makes.
    assumed = {k: v for k, v in theory.regime.RUN_DEFAULTS.items() if k not in values}
    full = {**assumed, **values}

    def condition_status(c: Condition) -> str:
        if any(k not in full for k in c.symbols):
            return "unchecked"
        return "holds" if c.check(full) is None else "fails"

    # Conditions on the step size are the ones the optimal eta below must meet, not the user's values.
    step_kinds = theory.STEP_SIZE_KINDS | {"step_rule"}

    def value_at(b) -> tuple[float | None, float | None, list[str], list[str]]:
        """(value, eta_opt, missing symbols, failed conditions): no value where a condition fails.

        At the user's eta where one is given; otherwise at the bound's best allowed step size, by
        `theory.best_value`, the one implementation the regime verdict and the study share."""
        missing = [p for p in b.parameters if p not in full and p not in ("eta", "eta_v")]
        if missing:  # eta_v follows eta
            return None, None, missing, []
        if "eta" in values or "eta" not in b.parameters:
            failed = [c.check(full) for c in b.conditions if condition_status(c) == "fails"]
            if failed:
                return None, None, [], failed
            return float(b.evaluate(full)), None, [], []
        best = theory.best_value(b, values)
        if "reason" in best:
            return None, None, [], [best["reason"]]
        return best["value"], best["eta"], [], []

    if args.name:
        bound = theory.get_bound(args.name)
        if args.alg and bound.algorithm != args.alg:
            raise UsageError(
                f"--name {args.name}: is a bound for {bound.algorithm}, not --alg {args.alg}"
            )
    else:
        applicable = [
            b
            for b in theory.bounds_for(args.alg, "D")
            if not any(
                c.kind not in step_kinds and condition_status(c) == "fails" for c in b.conditions
            )
        ]
        if not applicable:
            raise UsageError(
                f"--alg {args.alg}: no [D] bound's conditions hold for these values; see 'altsim bound --list'"
            )

        def needs(b) -> int:
            """How many values `b` lacks (its step sizes aside, which the report finds itself)."""
            return sum(p not in full and p not in ("eta", "eta_v") for p in b.parameters)

        # without a value, the bound that needs the fewest more (ties: the earlier registered)
        fewest = min(applicable, key=needs)
        if "eta" in values:  # the smallest at the user's step size
            valued = [(v, i) for i, b in enumerate(applicable) for v in [value_at(b)[0]]]
            bound = applicable[min((v if v is not None else math.inf, i) for v, i in valued)[1]]
            if all(v is None for v, _ in valued):
                bound = fewest
        else:  # the smallest at its own best step size
            tightest = theory.tightest_bound(args.alg, values)["bound"]
            bound = theory.get_bound(tightest) if tightest is not None else fewest
    value, eta_opt, missing, failed = value_at(bound)
    regime_keys = ("sigma_u", "sigma_v", "delta", "L_u", "L_v", "n", "m")
    regime = (
        theory.regime_winner(*(values[k] for k in regime_keys))
        if all(k in values for k in regime_keys)
        else None
    )
    derived = (
        theory.regime_winner_derived({k: v for k, v in values.items() if k != "eta"})
        if "T" in values
        else None
    )
    paper_level = None
    pl = next((q for q in theory.rate.PAPER_LEVEL.values() if q.source == bound.name), None)
    if pl is not None:
        needed = sorted({s.name for s in pl.expression.free_symbols} - set(values))
        # no value where the source bound's conditions (its step size's apart) fail, or at an eta_v
        # the rate is not derived at
        outside = [
            c.check(full)
            for c in theory.get_bound(pl.source).conditions
            if c.kind not in step_kinds and condition_status(c) == "fails"
        ] + pl.step_size_reasons(values)
        valued = not needed and not outside
        paper_level = {
            **pl.describe(),
            "value": pl.value(values) if valued else None,
            "eta": pl.eta(values) if valued else None,
            "missing": needed,
            "failed_conditions": outside,
        }
    return {
        **bound.describe(),
        "conditions": [
            {"condition": t, "kind": c.kind, "status": condition_status(c)}
            for t, c in zip(bound.conditions_text(), bound.conditions)
        ],
        "values": values,
        "assumed": {
            k: v
            for k, v in assumed.items()
            if k in bound.parameters or any(k in c.symbols for c in bound.conditions)
        },
        "value": value,
        "eta_opt": eta_opt,
        "missing": missing,
        "failed_conditions": failed,
        "regime_winner": regime,
        "regime_missing": [k for k in regime_keys if k not in values],
        "regime_winner_derived": derived["winner"] if derived else None,
        "regime_derived": derived if derived else {"reason": "needs T"},
        "paper_level_derived": paper_level,
    }


def cmd_bound(args, out) -> int:
    """`altsim bound`: list the bounds (--list), or report one (--name, or the tightest for --alg) with its
    conditions and their status, its value at the given --set values and best step size, the regime
    verdicts and the paper-level form, as text or --json. Returns the exit code."""
    from altsim import theory

    if args.list:
        if args.json:
            print(dumps([b.describe() for b in theory.BOUNDS.values()], indent=2), file=out)
            return 0
        for b in theory.BOUNDS.values():
            print(f"{b.name:<26} {b.algorithm:<7} [{b.provenance}]  {b.summary}", file=out)
        return 0
    if not args.alg and not args.name:
        raise UsageError(
            f"bound: give --list, --alg {{{','.join(_bound_algorithms())}}} or --name NAME"
        )
    if args.alg is not None and args.alg not in _bound_algorithms():
        raise UsageError(
            unknown_name_message(
                "--alg", args.alg, _bound_algorithms(), kind="algorithm with a bound"
            )
            + " (a plugin's: --plugins MODULE)"
        )
    rep = _bound_report(args)
    if args.json:
        print(dumps(rep, indent=2), file=out)
        return 0
    print(f"{rep['name']}  [{rep['provenance']}]  {rep['algorithm']}: {rep['summary']}", file=out)
    print(f"  bound: {rep['latex'] if args.latex else rep['expression']}", file=out)
    print(f"  measure weight w = {rep['personal_weight']}; reference: {rep['reference']}", file=out)
    for c in rep["conditions"]:
        print(f"  condition [{c['status']}] ({c['kind']}): {c['condition']}", file=out)
    if rep["values"]:
        if rep["assumed"]:
            shown = ", ".join(f"{k}={v}" for k, v in rep["assumed"].items())
            print(f"  assumed (not given): {shown}", file=out)
        if rep["missing"]:
            print(f"  value: needs {', '.join(rep['missing'])}", file=out)
        elif rep["failed_conditions"]:
            print(
                f"  value: none; the bound says nothing here: {'; '.join(rep['failed_conditions'])}",
                file=out,
            )
        else:
            eta = f" at eta_opt = {rep['eta_opt']:.6g}" if rep["eta_opt"] is not None else ""
            print(f"  value: {rep['value']:.6g}{eta}", file=out)
        reg = rep["regime_winner"] or f"needs {', '.join(rep['regime_missing'])}"
        print(f"  regime (paper, section 6): {reg}", file=out)
        der = rep["regime_derived"]
        verdict = rep["regime_winner_derived"] or "none"
        print(
            f"  regime (altsim's [D] bounds, each at its best step size): {verdict}; {der['reason']}",
            file=out,
        )
        pl = rep["paper_level_derived"]
        if pl is not None and pl["value"] is not None:
            print(
                f"  paper-level [D] ({pl['name']}): {pl['value']:.6g} at eta = {pl['eta']:.6g}, the template "
                f"{pl['template']} with sigma2 = {pl['sigma2']}, sigma_tilde2 = {pl['sigma_tilde2']}",
                file=out,
            )
        elif pl is not None and pl["failed_conditions"]:
            print(
                f"  paper-level [D] ({pl['name']}): no value; {'; '.join(pl['failed_conditions'])}",
                file=out,
            )
    return 0


# --- problem ------------------------------------------------------------------------------
def cmd_problem(args, out) -> int:
    """`altsim problem`: list the families (--list), or build one instance (--family, --set, --config) and
    print its certified constants beside measured ones and their ratios, as text or --json."""
    from altsim.synthetic import FAMILIES, make_problem, measured_constants

    if args.list:
        for f in FAMILIES.values():
            print(f"{f.name:<20} {f.summary}", file=out)
        return 0
    params = _parse_sets(args.set)
    if args.config:
        from altsim.synthetic import load_toml_table

        params = {**load_toml_table(args.config, "problem"), **params}
    from altsim.rates.experiment import ExperimentConfig, check_memory

    check_memory(
        ExperimentConfig(
            family=args.family, problem=params, problem_seed=args.seed, seeds=(0,), rounds=1
        ),
        fraction=0.25,
    )  # the measurement's power iterations hold several copies of the instance
    problem = make_problem(args.family, params, seed=args.seed)
    cert = problem.certified_constants().as_dict()
    keys = ("L_u", "L_v", "L_uv", "chi", "sigma_u", "sigma_v", "delta", "F_lower")
    measured = measured_constants(problem)
    # a ratio for each upper-bound constant; F_lower is a lower bound, so it has none
    ratio = {
        k: (
            measured[k]["value"] / cert[k]
            if k != "F_lower" and cert[k] not in (0.0, math.inf)
            else None
        )
        for k in keys
    }
    rep = {
        "family": args.family,
        "seed": args.seed,
        "parameters": problem.describe(),
        "certified": {k: cert[k] for k in keys},
        "measured": {k: measured[k] for k in keys},
        "ratio": ratio,
    }
    if args.json:
        print(dumps(rep, indent=2), file=out)
    else:
        print(f"{args.family} (seed {args.seed}): certified vs measured", file=out)
        for k in keys:
            r = f"{ratio[k]:.3f}" if ratio[k] is not None else "-"
            print(
                f"  {k:<8} certified {cert[k]:<12.6g} measured {measured[k]['value']:<12.6g} ratio {r:<7} "
                f"({measured[k]['method']})",
                file=out,
            )
    return 0


def cmd_config(args, out) -> int:
    """`altsim config`: the config reference read from the code (`altsim.reference`): with --list every
    table and key with its type, default and valid range, as text or --json; --markdown prints
    docs/config.md; --family NAME keeps only that family's [problem] table."""
    from altsim import reference
    from altsim.synthetic import FAMILIES
    from altsim.theory.checks import unknown_name_message

    if not args.list and not args.markdown:
        raise UsageError("config: give --list (with --json or --family NAME) or --markdown")
    if args.markdown and args.json:
        raise UsageError("config: --markdown and --json are two formats; give one")
    if args.family is not None and args.family not in FAMILIES:
        raise UsageError(
            unknown_name_message("--family", args.family, sorted(FAMILIES), kind="family")
        )
    families = None if args.family is None else [args.family]
    if args.markdown:
        out.write(reference.config_markdown(families))
        return 0
    sections = reference.config_sections(families)
    if args.json:
        print(dumps(reference.config_json(sections), indent=2), file=out)
    else:
        print(reference.config_text(sections), file=out)
    return 0


def cmd_run(args, out) -> int:
    """`altsim run CONFIG --out DIR`: run the config's experiment or sweep (`altsim.sweep.run_sweep`; --executor,
    --workers, --dask-address), then print the result table, or the regime agreement of a sweep."""
    import io as _io

    from altsim.sweep import load_spec, run_sweep

    if args.dask_address is not None and args.executor != "dask":
        raise UsageError(f"--dask-address {args.dask_address[:60]!r}: only with --executor dask")
    spec = load_spec(args.config, plugins=args.plugins or ())
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be an integer >= 1")
    with open(args.config) as f:
        text = f.read()
    stream = _io.StringIO() if args.quiet else sys.stderr
    summary = run_sweep(
        spec,
        args.out,
        executor=args.executor,
        workers=args.workers,
        config_text=text,
        stream=stream,
        dask_address=args.dask_address,
        round_progress=not args.quiet,
    )
    if "algorithms" in summary:
        from altsim.results import table

        print(table(summary), file=out)
        if "personalization" in summary:
            from altsim.rates.personalization import report_text

            print(report_text(summary["personalization"]), file=out)
    print(f"{summary['n_done']}/{summary['n_points']} points done in {args.out}", file=out)
    if "regime_study" in summary:
        r = summary["regime_study"]
        for p, name in (("paper", "the paper's condition [P]"), ("derived", "altsim's [D] bounds")):
            o = r[p]["outside"]
            ci = (
                f" (Wilson {r['study']['level']:.0%} [{o['wilson'][0]:.2f}, {o['wilson'][1]:.2f}])"
                if o["of"]
                else ""
            )
            print(
                f"regime: {name} agrees with the measured winner at {o['agree']}/{o['of']} significant rows outside "
                f"the margin band{ci}; in the band {r[p]['in_band']['agree']}/{r[p]['in_band']['of']}",
                file=out,
            )
        if r.get("eta_at_grid_edge"):
            print(
                f"regime: warning: at {r['eta_at_grid_edge']}/{r['rows']} rows a tuned eta is an end of "
                "regime.eta_grid; the best step size may lie beyond it (widen the grid)",
                file=out,
            )
        s = r["significant"]
        print(
            f"regime: {s['agree']}/{s['of']} rows have a winner significant at {r['study']['level']:.0%}; "
            f"table in {args.out}/regime_table.md",
            file=out,
        )
    elif "regime" in summary:
        r = summary["regime"]
        dec = (
            f"{r['agreement_rate_decided']:.3f}" if r["agreement_rate_decided"] is not None else "-"
        )
        print(
            f"regime: empirical winner agrees with the paper's prediction at {r['agreement_rate']:.3f} of "
            f"{r['points']} points ({dec} of the {r['decided']} points with a significant winner)",
            file=out,
        )
    return 0


def cmd_plot(args, out) -> int:
    """`altsim plot RESULT_DIR`: draw the figures a result folder supports (--kind, auto by default: rate and
    tightness for one experiment, sweep and regime for a sweep, or the teaching trajectory), all before
    writing any, into the result folder or --out."""
    import os
    from pathlib import Path

    from altsim import figures
    from altsim.folders import (
        FIGURE_STEMS,
        OutputFolder,
        SharedFolder,
        check_output_folder,
        check_recorded,
        is_result_folder,
        validate_out,
    )
    from altsim.results import load_summary

    result_dir = validate_out(args.result_dir, "result_dir")
    if args.out is not None:
        check_output_folder(args.out, "plot")
    else:  # a figure is written over a plain file only, never over a folder of that name
        for stem in (args.kind,) if args.kind != "auto" else FIGURE_STEMS:
            for suffix in (".png", ".pdf", ".gif"):
                target = result_dir / f"{stem}{suffix}"
                if os.path.lexists(target) and not (target.is_file() and not target.is_symlink()):
                    raise ValueError(
                        f"result_dir={args.result_dir!r}: {target.name} is not a plain file, so the "
                        "figure cannot be written there; move it, or give --out"
                    )
    if args.kind == "trajectory":  # a teaching figure: needs no result, only a folder to write into
        if args.out is None and not result_dir.is_dir():
            raise ValueError(
                f"result_dir={args.result_dir!r}: no such folder (give --out to write the figure elsewhere)"
            )
        figs = [("trajectory", figures.trajectory_view())]
    else:
        check_recorded(result_dir, "summary.json", "rounds.csv")  # what the figures are drawn from
        figs = _draw_from_summary(args, load_summary(args.result_dir))
    written = []

    def save_all(target: Path):
        for kind, fig in figs:
            written.extend(figures.save(fig, target / kind))
        if args.kind == "trajectory":
            written.append(figures.trajectory_animation(target / "trajectory.gif"))

    if args.out is not None:
        folder: OutputFolder | SharedFolder = OutputFolder(args.out, "plot")
    elif args.kind == "trajectory" and not is_result_folder(result_dir):
        folder = OutputFolder(result_dir, "plot")  # the teaching figure needs no result
    else:
        folder = SharedFolder(result_dir)  # no run may change the folder meanwhile
    with folder as target:
        save_all(target)
    for w in written:
        print(f"wrote {w}", file=out)
    return 0


def _draw_from_summary(args, summary: dict) -> list:
    """(kind, figure) for every figure `altsim plot` draws from a result folder's summary, before any
    is written; a summary whose content is not what altsim writes is refused naming its file."""
    from pathlib import Path

    from altsim import figures
    from altsim.results import load_comparisons

    try:
        _reimport_plugins(summary)
        single = "algorithms" in summary
        if args.kind != "auto":
            kinds = (args.kind,)
        elif single:
            kinds = (
                ("rate", "tightness", "personalization")
                if "personalization" in summary
                else ("rate", "tightness")
            )
        else:
            kinds = (
                ("regime",)
                if "regime_study" in summary
                else ("sweep", "regime")
                if "regime" in summary
                else ("sweep",)
            )
        figs = []  # every figure is drawn before anything is written
        for kind in kinds:
            if kind in ("rate", "tightness"):
                if not single:
                    raise ValueError(
                        f"--kind {kind}: {args.result_dir} is a sweep; point at one of its points/<id> folders"
                    )
                _, comps = load_comparisons(args.result_dir)
                steps = {a: s.get("name") for a, s in summary["algorithms"].items()}
                figs.append(
                    (
                        kind,
                        figures.rate_plot(comps, bounds=steps, paper_level=args.paper_level)
                        if kind == "rate"
                        else figures.tightness_plot(comps),
                    )
                )
            elif kind == "personalization":
                figs.append((kind, figures.personalization_plot(summary)))
            elif kind == "regime":
                figs.append(
                    (
                        kind,
                        figures.regime_study_plot(summary)
                        if "regime_study" in summary
                        else figures.regime_map(summary),
                    )
                )
            else:
                if single:
                    raise ValueError(
                        f"--kind sweep: {args.result_dir} holds one experiment, not a sweep"
                    )
                if "regime_study" in summary:
                    raise ValueError(
                        f"--kind sweep: {args.result_dir} holds a tuned regime study, whose points "
                        "are study rows, not runs; its figure is --kind regime"
                    )
                figs.append((kind, figures.sweep_plot(summary, x=args.x)))
    except (KeyError, TypeError, AttributeError, IndexError) as e:  # --debug shows the cause
        raise ValueError(
            f"summary {str(Path(args.result_dir) / 'summary.json')!r}: cannot be drawn "
            f"({type(e).__name__}: {_one_line(e, 80)}); damaged, or not written by this altsim"
        ) from e
    return figs


def _reimport_plugins(summary: dict) -> None:
    """Import the plugins a result folder recorded, saying in one line each which cannot be imported
    (the figures then use the names and looks the results recorded), and remember those looks."""
    from altsim.figures import style
    from altsim.plugins import reimport_recorded

    recorded = summary.get("plugins")
    if isinstance(recorded, dict):
        for why in reimport_recorded({str(k): str(v) for k, v in recorded.items()}):
            print(
                f"altsim: warning: {why}; drawing with the names and labels the results recorded",
                file=sys.stderr,
            )
    entries = [summary] + [
        p.get("summary", {}) for p in summary.get("points", []) if isinstance(p, dict)
    ]
    for entry in entries:
        for alg, e in (entry.get("algorithms") or {}).items():
            if isinstance(e, dict) and "look" in e:
                style.remember(alg, e["look"])


def cmd_falsify(args, out) -> int:
    """`altsim falsify --bound NAME`: search for a run that breaks an explicit [D] bound within --budget
    seconds (docs/theory.md section 8), writing falsify.json, worst.toml and any counterexample.toml to
    --out; `--resume` continues the search recorded there (`altsim.testing.falsify.command`)."""
    from altsim.testing.falsify.command import run_falsify

    return run_falsify(args, out)


def cmd_bench(args, out) -> int:
    """`altsim bench`: time the engine on this machine (--quick, --device, --peers for Flower beside it) and
    print the JSON report, also written to --out after every stage."""
    from altsim.bench import bench
    from altsim.io import write_json
    from altsim.synthetic import resolve_device

    resolve_device(args.device)
    if args.out is not None:
        _check_report_path(args.out)
    if args.peers:
        from altsim.peers.flower import require_flower

        try:
            require_flower()
        except (
            ImportError
        ) as e:  # before any work: a missing extra is a usage error, not a failed run
            raise UsageError(f"--peers: {e}") from None
    save = (
        (lambda partial: write_json(args.out, {**partial, "complete": False})) if args.out else None
    )
    report = bench(quick=args.quick, device=args.device, peers=args.peers, on_update=save)
    report["complete"] = True
    if args.out:
        write_json(args.out, report)
    print(dumps(report, indent=2), file=out)
    return 0


def _check_report_path(path: str) -> None:
    """A JSON report may go to a new file, or replace an earlier altsim bench report; nothing else."""
    from pathlib import Path

    from altsim.io import read_json

    p = Path(path)
    if str(path).strip() == "" or p.is_dir():
        raise ValueError(
            f"out={path!r}: give a file name (it is {'empty' if not str(path).strip() else 'a folder'})"
        )
    if not p.parent.is_dir():
        raise ValueError(f"out={path!r}: its folder {str(p.parent)!r} does not exist")
    if p.exists():
        try:
            old = read_json(p, "report")
        except ValueError:
            old = None
        if not (isinstance(old, dict) and "machine" in old and "engine_vs_loop_speedup" in old):
            raise ValueError(
                f"out={path!r}: exists and is not an altsim bench report; altsim does not overwrite it"
            )


def cmd_demo(args, out) -> int:
    """`altsim demo`: the demo runs and figures (`altsim.demo.main`) into --out."""
    from altsim import demo

    demo.main(out=args.out, device=args.device, seed=args.seed, quick=args.quick, stream=out)
    return 0


def _one_line(message, limit: int = 400) -> str:
    """An error message as one line of at most `limit` characters (values are never echoed whole)."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else f"{text[: limit // 2]} ... {text[-limit // 2 + 5 :]}"


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"altsim: warning: {_one_line(message)}", file=sys.stderr)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve blocks up to 32 MB from its heap and keep freed memory, instead of
    mapping and unmapping each large temporary: at n = 10^6 a round's tensors are tens of MB, and
    fresh pages cost a page fault each (benchmarks/RESULTS.md: 1.47 s -> 1.01 s per round). The CLI
    process only; a library import changes nothing. False where there is no glibc."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
        )
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False


def main(argv: list[str] | None = None, out=None) -> int:
    """The `altsim` command: parse `argv` (default sys.argv[1:]), run the subcommand with its output to `out`
    (default stdout), and return the exit code: 0 done, 2 refused before any work, 1 a run that failed
    after starting, 130 interrupted (module docstring)."""
    import warnings

    keep_freed_memory()

    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = (
        "--debug"
        in argv[: next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))]
    )
    warnings.showwarning = _one_line_warnings
    with _sigterm_raises():
        return _main(argv, out, debug)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that Python's flush at exit does not fail again on the
    closed pipe (and print a second error)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a captured stream)
        pass


@contextlib.contextmanager
def _sigterm_raises():
    """While the command runs, SIGTERM raises `Terminated` (restored afterwards: `main` is also
    called in-process, by tests and notebooks)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str], out, debug: bool) -> int:
    try:
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        if extras:  # reported by the subcommand's parser, so that its usage line is the one shown
            commands = next(a for a in parser._actions if a.dest == "command").choices
            commands[args.command].error(f"unrecognized arguments: {' '.join(extras)}")
        if getattr(args, "plugins", None):  # before any name is looked up
            from pathlib import Path

            from altsim.plugins import import_plugins

            import_plugins(args.plugins, [Path.cwd()])
        if getattr(args, "seed", None) is not None:  # the demo uses SEED .. SEED+15 as run seeds
            from altsim.theory import require

            require("--seed", args.seed, low=0, high=2**31 - 17, integer=True)
        return {
            "demo": cmd_demo,
            "bound": cmd_bound,
            "problem": cmd_problem,
            "config": cmd_config,
            "run": cmd_run,
            "plot": cmd_plot,
            "bench": cmd_bench,
            "falsify": cmd_falsify,
        }[args.command](args, out)
    except UsageErrorWithUsage as e:
        if debug:
            traceback.print_exc()
        print(e.usage, file=sys.stderr)
        print(f"altsim: error: {_one_line(e)}", file=sys.stderr)
        return USAGE_ERROR
    except (
        UsageError,
        ValueError,
    ) as e:  # validation of flags, configs and values, raised before any work
        if debug:
            traceback.print_exc()
        print(f"altsim: error: {_one_line(e)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated): what finished is on disk
        terminated = isinstance(e, Terminated)
        print(f"altsim: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return TERMINATED if terminated else INTERRUPTED
    except BrokenPipeError:  # the reader went away (`altsim bound --list | head -1`): not a failure
        if out is sys.__stdout__:
            _silence_stdout()
        return BROKEN_PIPE
    except Exception as e:  # a run that failed: one line, not a traceback (unless --debug)
        if debug:
            traceback.print_exc()
        print(
            f"altsim: run failed: {type(e).__name__}: {_one_line(e)}"
            + ("" if debug else " (rerun with --debug for the traceback)"),
            file=sys.stderr,
        )
        return RUN_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
