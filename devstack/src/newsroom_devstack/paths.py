"""Where the local stack lives: the repository, its var/ and .cache/ folders, the venv's scripts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# A file only the Newsroom repository has at its root, so a search upwards cannot stop early.
_ROOT_MARKER = Path("devstack") / "kafka" / "pom.xml"


def repo_root() -> Path:
    """Return the repository root (env NEWSROOM_ROOT, else found above this package or the cwd)."""
    if configured := os.environ.get("NEWSROOM_ROOT"):
        return Path(configured).resolve()
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / _ROOT_MARKER).is_file():
                return candidate
    raise RuntimeError(
        "cannot find the Newsroom repository (no devstack/kafka/pom.xml above "
        f"{Path(__file__).resolve()} or {Path.cwd()}); set NEWSROOM_ROOT"
    )


def var_dir() -> Path:
    """Return var/, where everything the stack writes goes (git ignores it)."""
    return repo_root() / "var"


def cache_dir() -> Path:
    """Return .cache/, where slow downloads are kept between runs (git ignores it)."""
    return repo_root() / ".cache"


def venv_bin() -> Path:
    """Return the scripts folder of the environment running us (the repository's .venv/bin)."""
    return Path(sys.prefix) / "bin"
