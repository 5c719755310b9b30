"""The `altsim falsify` command: its checks of the flags, the result folder it claims, and what it
writes there (`falsify.json`, `worst.toml`, `counterexample.toml`); `altsim.cli.cmd_falsify` calls
`run_falsify`."""

from __future__ import annotations

from altsim.cli import VIOLATED, UsageError
from altsim.theory.checks import unknown_name_message


def run_falsify(args, out) -> int:
    """`altsim falsify --bound NAME`: search for a run that breaks an explicit [D] bound within --budget
    seconds (docs/theory.md section 8), writing falsify.json, worst.toml and any counterexample.toml to --out."""

    from altsim.io import OutputFolder
    from altsim.rates.experiment import work_started
    from altsim.testing.falsify import (
        ALL_FAMILIES,
        DRIFT_LEMMA_BOUNDS,
        SEARCH_FAMILIES,
        falsify,
        print_progress,
    )
    from altsim.theory import get_bound, require

    bound = get_bound(args.bound)
    if bound.provenance != "D" or bound.eta_max is None:
        raise UsageError(
            f"--bound {args.bound}: falsify attacks explicit [D] bounds; this one is [{bound.provenance}]"
        )
    from altsim.synthetic import FAMILIES

    if args.family != ALL_FAMILIES and args.family not in FAMILIES:
        raise UsageError(
            unknown_name_message("--family", args.family, [*FAMILIES, ALL_FAMILIES], kind="family")
            + f" ({ALL_FAMILIES}: the search families {', '.join(SEARCH_FAMILIES)}; a plugin's: "
            "--plugins MODULE)"
        )
    require(
        "--budget", args.budget, low=1, high=7 * 86400
    )  # seconds: at least one run, at most a week
    require("--scale", args.scale, low=0, low_open=True)
    require("--min-drift-share", args.min_drift_share, low=0, high=1, high_open=True)
    if args.target == "drift_lemma" and args.bound not in DRIFT_LEMMA_BOUNDS:
        raise UsageError(
            f"--target drift_lemma: measures the drift step of {', '.join(DRIFT_LEMMA_BOUNDS)}, "
            f"not of --bound {args.bound}"
        )
    if args.max_rounds is not None:
        require("--max-rounds", args.max_rounds, low=6, high=100_000, integer=True)
    with (
        OutputFolder(args.out, "falsify") as target,
        work_started(),
    ):  # the folder is checked before it is claimed
        rep = falsify(
            args.bound,
            args.budget,
            scale=args.scale,
            seed=args.seed,
            family=args.family,
            progress=None if args.quiet else print_progress,
            min_drift_share=args.min_drift_share,
            max_rounds=args.max_rounds,
            target=args.target,
            plugins=args.plugins or (),
        )
        write_falsify(args, target, rep, out)
    return VIOLATED if rep["violation"] else 0


def write_falsify(args, target, rep: dict, out) -> None:
    from pathlib import Path

    from altsim.io import write_json, write_text
    from altsim.testing.falsify import config_toml

    write_json(Path(target) / "falsify.json", rep)
    scaled = f" x {args.scale:g}" if args.scale != 1 else ""
    if rep["worst_config"]:
        write_text(
            Path(target) / "worst.toml",
            config_toml(
                rep["worst_config"],
                f"altsim falsify --bound {args.bound}{scaled}"
                + (
                    f" --target drift_lemma: worst drift-lemma ratio {rep['worst_ratio']:.6g} "
                    f"at round {rep['worst_T']} "
                    f"(altsim.testing.falsify.drift_lemma_ratio reruns it)"
                    if rep.get("target") == "drift_lemma"
                    else f": worst ratio {rep['worst_ratio']:.6g} at T = {rep['worst_T']}"
                )
                + "\nrerun: altsim run worst.toml --out DIR",
            ),
        )
    if rep["counterexample"]:
        write_text(
            Path(target) / "counterexample.toml",
            config_toml(
                rep["counterexample"],
                f"altsim falsify --bound {args.bound}{scaled}: shrunk counterexample, ratio "
                f"{rep['counterexample_ratio']:.6g}\nrerun: altsim run counterexample.toml --out DIR",
            ),
        )
    verdict = "VIOLATED" if rep["violation"] else "no violation found"
    worst = (
        f"worst measured/bound = {rep['worst_ratio']:.4g} at T = {rep['worst_T']}"
        if rep["worst_ratio"] is not None
        else "no run finished within the budget"
    )
    if rep["worst_ratio"] is not None and rep.get("target") == "drift_lemma":
        worst = f"worst drift / what the drift lemma allows = {rep['worst_ratio']:.4g} at round {rep['worst_T']}"
    if rep["worst_ratio"] is not None and rep.get("min_drift_share"):
        worst += f" (drift share {rep['worst_drift_share']:.2f})"
    print(
        f"{args.bound}{scaled}: {verdict}; {worst} after {rep['evaluations']} runs in {rep['elapsed_seconds']:.0f} s; "
        f"report in {target}/falsify.json",
        file=out,
    )
