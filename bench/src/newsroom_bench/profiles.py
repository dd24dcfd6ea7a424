"""Summaries of py-spy's raw (collapsed) stacks: where the API workers' busy time goes."""

from __future__ import annotations

import collections
import re
from pathlib import Path

# Frames where a thread waits for work rather than doing any: left out of the shares.
_IDLE = (
    "EpollSelector.select ",
    "PollSelector.select ",
    "Condition.wait ",
    "Event.wait ",
    "Thread._wait_for_tstate_lock ",
    "_worker (concurrent",
    "sleep ",
)
# Marks the profile files of `--profile-gil` runs (profile-<scenario>.gil.txt).
GIL_SUFFIX = ".gil"
_LOCATION = re.compile(r" \((?P<file>[^()]*):\d+\)$")


def _frame(text: str) -> str:
    """`func (path/to/site-packages/pkg/mod.py:12)` as `func (pkg/mod.py)`."""
    match = _LOCATION.search(text)
    if match is None:
        return text
    path = match.group("file").split("site-packages/")[-1].split("/src/")[-1]
    return f"{text[: match.start()]} ({path})"


Shares = list[tuple[str, float]]


def summarize(raw: str, *, top: int = 12) -> tuple[int, Shares, Shares]:
    """Busy samples, the top frames by own time and the top newsroom frames by total time."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or frames[-1].startswith(_IDLE):
            continue
        busy += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if "newsroom_" in frame:
                total[frame] += int(count)
    if not busy:
        return 0, [], []
    return (
        busy,
        [(f, n / busy) for f, n in own.most_common(top)],
        [(f, n / busy) for f, n in total.most_common(top)],
    )


def markdown(folder: Path) -> str:
    """A section per profile-<scenario>.txt in folder ('' when there is none)."""
    lines: list[str] = []
    for path in sorted(folder.glob("profile-*.txt")):
        busy, own, newsroom = summarize(path.read_text())
        if not busy:
            continue
        scenario = path.stem.removeprefix("profile-")
        samples = "busy samples of the API's workers"
        if scenario.endswith(GIL_SUFFIX):  # --profile-gil: Python's CPU only, no waits
            scenario, samples = scenario.removesuffix(GIL_SUFFIX), "samples holding the GIL"
        lines += ["", f"### {scenario} ({busy:,} {samples})", ""]
        lines += ["| own time | frame |", "|---|---|"]
        lines += [f"| {share:.0%} | `{frame}` |" for frame, share in own]
        lines += ["", "| total time | newsroom frame |", "|---|---|"]
        lines += [f"| {share:.0%} | `{frame}` |" for frame, share in newsroom]
    if not lines:
        return ""
    head = [
        "## Profiles (py-spy, the API's gunicorn workers during the run, busy samples only)",
        "",
        "Time waiting on PostgreSQL shows as `do_execute`, `do_rollback` and `do_commit`; time",
        "sending to Nginx as gunicorn's `write`. With `--profile-gil`, only samples of threads",
        "holding the GIL count: the workers' Python CPU time, waits left out.",
    ]
    return "\n".join(head + lines) + "\n"
