"""Text for people: the progress lines `altsim falsify` prints while it searches, and their printer.

`falsify(progress=...)` passes each line to a callable; `print_progress` is the one the command line
uses (standard error, prefixed `[falsify]`).
"""

from __future__ import annotations

import sys

from altsim.testing.falsify.targets import Attempt


def print_progress(msg: str) -> None:
    """Print one progress line of a search to stderr, prefixed [falsify], at once (not buffered)."""
    print(f"[falsify] {msg}", file=sys.stderr, flush=True)


def unconfirmed_line(
    elapsed: float, candidate: Attempt, confirmed: Attempt, fresh_seeds: int
) -> str:
    """A candidate violation that its rerun on fresh seeds did not confirm."""
    return (
        f"{elapsed:6.1f}s  candidate at ratio {candidate.ratio:.4f} not confirmed on "
        f"{fresh_seeds} fresh seeds (ratio {confirmed.ratio:.4f})"
    )


def improvement_line(
    elapsed: float, evals: int, attempt: Attempt, target: str, min_drift_share: float
) -> str:
    """A new worst instance: its ratio and horizon (round, for the drift lemma), and its drift share where
    the search weighs it."""
    worst = (
        f"worst drift-lemma ratio {attempt.ratio:.4f} at round {attempt.T} "
        f"(diversity share {attempt.drift_share:.2f})"
        if target == "drift_lemma"
        else f"worst ratio {attempt.ratio:.4f} at T={attempt.T}"
        + (f" (drift share {attempt.drift_share:.2f})" if min_drift_share else "")
    )
    return f"{elapsed:6.1f}s  eval {evals}: {worst}" + ("  VIOLATION" if attempt.violated else "")
