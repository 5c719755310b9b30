"""The `altsim falsify` command: its checks of the flags, the result folder it claims, what it writes
there, and how it stops; `altsim.cli.cmd_falsify` calls `run_falsify`.

What it writes (`Writer`): the report `falsify.json` when the search starts and after every run it
measures, marked `"complete": false` (`"partial_reason": "in_progress"`) until the search ends, and the
worst instance so far as `worst.toml` whenever it changes (before the report that names it). Each
write is atomic, so a search killed at any moment leaves a valid report holding every run it
finished. At the end: `worst.toml`, a shrunk `counterexample.toml` on a violation, then the complete
report.

Resuming (`--resume`): the search recorded in `--out` continues for another `--budget` seconds from
the report's `search_state` (`state`), with the same `--bound` and options (else exit 2, one line naming
the first that differs). Without `--resume`, a folder holding a falsify report is refused (exit 2), so
that a search is never replaced by accident; with it, a folder holding none starts a new search.

Stopping: SIGINT and SIGTERM stop the search where it is (`Signals`); the report of the runs finished
is written with `"partial_reason": "interrupted"` or `"terminated"`, one line says so on standard error,
and the exit code is 130 or 143.
"""

from __future__ import annotations

import inspect
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from altsim.exits import VIOLATED, Terminated, UsageError
from altsim.theory.checks import unknown_name_message

REPORT, WORST, COUNTEREXAMPLE = "falsify.json", "worst.toml", "counterexample.toml"
FLAGS = {
    "bound": "--bound",
    "family": "--family",
    "scale": "--scale",
    "seed": "--seed",
    "min_drift_share": "--min-drift-share",
    "max_rounds": "--max-rounds",
    "target": "--target",
    "plugins": "--plugins",
}
"""The flag of each option of a search (`state.OPTIONS`) that the command line sets."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_REASONS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived: the search stops where it is (a BaseException, like
    KeyboardInterrupt, so that no `except Exception` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame):
    raise Stopped(signum)


def _signal_of(e: BaseException) -> int:
    """The signal that stopped the command: `Stopped`'s, SIGTERM for the command line's `Terminated`
    (raised before the search took the signals over), else SIGINT (KeyboardInterrupt)."""
    if isinstance(e, Stopped):
        return e.signum
    return signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT


class Signals:
    """While held, SIGINT and SIGTERM raise `Stopped`; `hold` then ignores them while the partial
    report is written. Only the main thread can take signals; elsewhere this does nothing."""

    def __init__(self):
        self.saved: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self.saved[s] = signal.signal(s, _stop)
        return self

    def hold(self) -> None:
        """Ignore SIGINT and SIGTERM from now on (until the context ends)."""
        for s in self.saved:
            signal.signal(s, signal.SIG_IGN)

    def __exit__(self, *exc) -> None:
        for s, handler in self.saved.items():
            signal.signal(s, handler)
        self.saved = {}


class Writer:
    """Writes a search's files into its claimed folder `target`: `update` after every run, `final` at
    the end, `partial` when the search was stopped (what the last `update` held)."""

    def __init__(self, args):
        self.args = args
        self.target: Path | None = None
        self.last: dict | None = None
        self.done = False
        self._worst: tuple | None = None  # what worst.toml holds now

    def _scaled(self) -> str:
        return f" x {self.args.scale:g}" if self.args.scale != 1 else ""

    def _write_worst(self, rep: dict) -> None:
        from altsim.io import write_text
        from altsim.testing.falsify import config_toml

        assert self.target is not None
        key = (rep["worst_ratio"], rep["worst_T"], repr(rep["worst_config"]))
        if not rep["worst_config"] or key == self._worst:
            return
        write_text(
            self.target / WORST,
            config_toml(
                rep["worst_config"],
                f"altsim falsify --bound {self.args.bound}{self._scaled()}"
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
        self._worst = key

    def update(self, rep: dict) -> None:
        """A partial report (after a run): worst.toml where the worst instance changed, then the report."""
        from altsim.io import write_json

        assert self.target is not None
        self.last = rep
        self._write_worst(rep)
        write_json(self.target / REPORT, rep)

    def partial(self, reason: str) -> None:
        """The last partial report again, saying why the search stopped."""
        from altsim.io import write_json

        if self.done or self.last is None or self.target is None:
            return
        rep = {**self.last, "complete": False, "partial_reason": reason}
        self._write_worst(rep)
        write_json(self.target / REPORT, rep)
        self.last = rep

    def final(self, rep: dict, out) -> None:
        """The complete report, its worst instance and counterexample, and the verdict line on `out`."""
        from altsim.io import write_json, write_text
        from altsim.testing.falsify import config_toml

        assert self.target is not None
        self.last = rep
        self._write_worst(rep)
        scaled = self._scaled()
        if rep["counterexample"]:
            write_text(
                self.target / COUNTEREXAMPLE,
                config_toml(
                    rep["counterexample"],
                    f"altsim falsify --bound {self.args.bound}{scaled}: shrunk counterexample, ratio "
                    f"{rep['counterexample_ratio']:.6g}\nrerun: altsim run counterexample.toml --out DIR",
                ),
            )
        write_json(self.target / REPORT, rep)
        self.done = True
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
        resumed = f" ({rep['sessions']} sessions)" if rep.get("sessions", 1) > 1 else ""
        print(
            f"{self.args.bound}{scaled}: {verdict}; {worst} after {rep['evaluations']} runs in "
            f"{rep['elapsed_seconds']:.0f} s{resumed}; report in {self.target}/{REPORT}",
            file=out,
        )


def _options(args) -> dict:
    """The options of the search the flags ask for (`state.OPTIONS`), with `falsify`'s defaults for
    those the command line does not set."""
    from altsim.testing.falsify.search import falsify

    defaults = inspect.signature(falsify).parameters
    return {
        "bound": args.bound,
        "family": args.family,
        "scale": args.scale,
        "seed": args.seed,
        "n_seeds": defaults["n_seeds"].default,
        "random_fraction": defaults["random_fraction"].default,
        "min_drift_share": args.min_drift_share,
        "max_rounds": args.max_rounds,
        "target": args.target,
        "plugins": list(args.plugins or ()),
    }


def _flag_value(name: str, value) -> str:
    flag = FLAGS.get(name, name)
    if value is None:
        return f"no {flag}"
    if isinstance(value, list):
        return f"{flag} {' '.join(map(str, value))}" if value else f"no {flag}"
    return f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}"


def recorded_search(args, folder: Path) -> dict | None:
    """The report of the search recorded in `folder` that `--resume` continues (None where there is
    none), refused in one line (exit 2) where it cannot: a report that is not valid JSON or records no
    search state, a search with other options, or a recorded search without `--resume`."""
    from altsim.io import read_json
    from altsim.testing.falsify.state import differing_option, state_from_report

    path = folder / REPORT
    if not path.is_file() or path.is_symlink():  # none; or damage, which claiming moves aside
        return None
    if not args.resume:
        try:
            runs = read_json(path, "falsify report").get("evaluations")
        except (ValueError, AttributeError):
            runs = None
        held = f" ({runs} runs recorded)" if isinstance(runs, int) else ""
        raise UsageError(
            f"--out {folder}: holds a falsify search{held}; --resume continues it, or use a new folder"
        )
    rep = read_json(path, "falsify report")
    state = state_from_report(rep, f"--resume: {path}")
    differs = differing_option(state.options, _options(args))
    if differs is not None:
        name, old, new = differs
        raise UsageError(
            f"--resume: {_flag_value(name, new)} differs from the search recorded in {path} "
            f"({_flag_value(name, old)}); give the same options, or use a new folder"
        )
    return rep


def run_falsify(args, out) -> int:
    """`altsim falsify --bound NAME`: search for a run that breaks an explicit [D] bound within --budget
    seconds (docs/theory.md section 8), writing falsify.json, worst.toml and any counterexample.toml to
    --out; with --resume, continue the search recorded there. Returns the exit code: 0 no violation,
    3 a confirmed violation, 130 / 143 stopped by SIGINT / SIGTERM (the partial report written)."""
    writer = Writer(args)
    with Signals() as signals:
        try:
            return _run(args, out, writer, signals)
        except (Stopped, KeyboardInterrupt) as e:
            signals.hold()
            signum = _signal_of(e)
            how = f"{STOP_REASONS[signum]} ({signal.Signals(signum).name})"
            if writer.done:
                where = f"the search had ended; its report is in {writer.target}/{REPORT}"
            elif writer.last is not None:
                where = (
                    f"partial report of {writer.last['evaluations']} runs in {writer.target}/{REPORT}"
                    "; --resume continues the search"
                )
            else:
                where = "before the search recorded any run"
            print(f"altsim: {how}: {where}", file=sys.stderr, flush=True)
            return 128 + signum


def _run(args, out, writer: Writer, signals: Signals) -> int:
    from altsim.folders import OutputFolder
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
    folder = OutputFolder(args.out, "falsify", stream=sys.stderr)  # checked, not yet claimed
    recorded_search(args, Path(args.out))
    with folder as target:
        writer.target = Path(target)
        previous = recorded_search(args, writer.target)  # again, now that no one else can write
        progress = None if args.quiet else print_progress
        if args.resume and previous is None and progress is not None:
            progress(f"no search recorded in {target}; starting one")
        try:
            with work_started():
                rep = falsify(
                    args.bound,
                    args.budget,
                    scale=args.scale,
                    seed=args.seed,
                    family=args.family,
                    progress=progress,
                    min_drift_share=args.min_drift_share,
                    max_rounds=args.max_rounds,
                    target=args.target,
                    plugins=args.plugins or (),
                    resume=previous,
                    on_update=writer.update,
                )
                writer.final(rep, out)
        except (Stopped, KeyboardInterrupt) as e:
            signals.hold()  # a second Ctrl-C does not cut the partial report short
            signum = _signal_of(e)
            writer.partial(STOP_REASONS[signum])
            raise
    return VIOLATED if rep["violation"] else 0
