"""The exit codes of the ``reunify`` command, declared once (the README's table lists them).

``reunify status --check`` is the exception: it follows the Nagios plugin convention
(0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), which monitoring systems read.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a ``reunify`` exit status means (what each says: ``DESCRIPTIONS``)."""

    OK = 0
    FAILED = 1
    USAGE = 2  # argparse's own code
    TOTALS_CHECK = 3
    IN_PROGRESS = 75  # EX_TEMPFAIL of sysexits.h: schedulers retry on it
    INTERRUPTED = 130  # 128 + SIGINT
    BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe


DESCRIPTIONS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.FAILED: "the run failed, was refused by a publish gate or was cancelled, or the command failed "
    "(why: stderr)",
    ExitCode.USAGE: "wrong arguments",
    ExitCode.TOTALS_CHECK: "`reunify report`: the totals check failed (the report is still written)",
    ExitCode.IN_PROGRESS: "another run is in progress (its lock is held): retry later, or `reunify unlock`",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C): an in-process run is cancelled, a run through workers goes "
    "on (`reunify status`, `reunify cancel RUN`)",
    ExitCode.BROKEN_PIPE: "stdout was closed by its reader (e.g. piped to `head`)",
}


def epilog() -> str:
    """The exit codes as the end of ``reunify --help``."""
    lines = [f"  {int(code):>3}  {DESCRIPTIONS[code]}" for code in ExitCode]
    return "exit codes:\n" + "\n".join(lines) + "\n  (status --check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
