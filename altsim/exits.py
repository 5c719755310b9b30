"""How an altsim command ends: its exit codes, and the exceptions that choose them.

0 done; 1 a run that failed after starting; 2 refused before any work (`UsageError`, or a ValueError
raised while checking); 3 `altsim falsify` found a confirmed violation; 130 / 143 interrupted by
SIGINT / SIGTERM (`Terminated`); 141 the reader of its output went away (a closed pipe, as in
`yes | head`). `altsim.cli.main` maps each to its code; a command module raises them without
importing the CLI."""

from __future__ import annotations

USAGE_ERROR, RUN_FAILED, VIOLATED = 2, 1, 3
INTERRUPTED, BROKEN_PIPE, TERMINATED = 130, 141, 143  # 128 + the signal's number, as shells say


class UsageError(Exception):
    """A command refused before any work (a bad flag or value): exit code 2, one error line."""


class UsageErrorWithUsage(UsageError):
    """A flag error: printed after the subcommand's usage line."""

    def __init__(self, message: str, usage: str):
        super().__init__(message)
        self.usage = usage


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that the same cleanup
    runs (workers stopped, the summary rebuilt, temporary files removed) and the exit code is 143."""
