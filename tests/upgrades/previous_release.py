"""The previous release (previous_release.toml): its commit, its source and its environments.

The source comes out of git (`git archive` of the commit) and each service's environment is
built from that commit's own uv.lock, so the previous release runs with the dependencies it
shipped with. Both are cached under .cache/previous-release/<commit>/, which only this module
writes; a folder is used only once it is complete (built beside it, then renamed).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newsroom_devstack.paths import cache_dir, repo_root

RELEASE_FILE = Path(__file__).with_name("previous_release.toml")
UMBRELLA_CHART = "charts/newsroom/Chart.yaml"
# That commit's lock, untouched, and only what the service's image holds (no dev group).
_SYNC = ("sync", "--frozen", "--no-dev", "--quiet")


class PreviousReleaseError(RuntimeError):
    """The previous release cannot be read, found in git or installed."""


@dataclass(frozen=True)
class Release:
    """A release of the umbrella chart: its version and the commit that made it."""

    chart: str
    version: str
    commit: str

    @property
    def cache(self) -> Path:
        """Where its source and environments are kept."""
        return cache_dir() / "previous-release" / self.commit

    @property
    def source(self) -> Path:
        """Its whole tree, as `git archive` gives it."""
        return self.cache / "src"

    def bin_dir(self, service: str) -> Path:
        """The scripts folder of one service's environment."""
        return self.cache / f"venv-{service}" / "bin"


def load(path: Path = RELEASE_FILE) -> Release:
    """The previous release named in `path`; a malformed file fails, saying what it expected."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PreviousReleaseError(f"{path}: {error}") from None
    fields = {"chart", "version", "commit"}
    if set(data) != fields or not all(isinstance(data[f], str) for f in fields):
        raise PreviousReleaseError(
            f"{path}: expected exactly the strings chart, version and commit, got {sorted(data)}"
        )
    commit = data["commit"]
    if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        raise PreviousReleaseError(f"{path}: commit must be a full 40-digit hash, got {commit!r}")
    return Release(chart=data["chart"], version=data["version"], commit=commit)


def git(*args: str) -> str:
    """Run git in the repository; its output, stripped."""
    result = subprocess.run(
        ["git", *args], cwd=repo_root(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PreviousReleaseError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def require_commit(release: Release) -> None:
    """Fail, saying how to get it, unless the release's commit is in this clone."""
    found = subprocess.run(
        ["git", "cat-file", "-e", f"{release.commit}^{{commit}}"],
        cwd=repo_root(),
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        raise PreviousReleaseError(
            f"the previous release's commit {release.commit} ({release.chart} chart "
            f"{release.version}, {RELEASE_FILE.name}) is not in this clone, which is shallow "
            "or older: fetch the history (`git fetch --unshallow`) or that commit "
            f"(`git fetch origin {release.commit}`) and run the tests again"
        )


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """One builder at a time (two test sessions may share .cache/)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _uv() -> str:
    """The uv `make env` bootstraps into .tools/, else one on PATH."""
    bundled = repo_root() / ".tools" / "bin" / "uv"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("uv")
    if found is None:
        raise PreviousReleaseError("uv not found (in .tools/bin or on PATH): run `make env`")
    return found


def install(release: Release, services: tuple[str, ...]) -> dict[str, Path]:
    """Each service's scripts folder of the release, extracted and installed when missing."""
    require_commit(release)
    with _exclusive(release.cache.with_suffix(".lock")):
        if not release.source.is_dir():
            partial = release.cache / "src.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            archive = subprocess.run(
                ["git", "archive", "--format=tar", release.commit],
                cwd=repo_root(),
                capture_output=True,
                check=False,
            )
            if archive.returncode != 0:
                raise PreviousReleaseError(
                    f"git archive {release.commit}: {archive.stderr.decode().strip()}"
                )
            with tarfile.open(fileobj=io.BytesIO(archive.stdout), mode="r:") as tar:
                tar.extractall(partial, filter="data")
            partial.rename(release.source)
        for service in services:
            venv = release.bin_dir(service).parent
            if (venv / ".complete").is_file():
                continue
            shutil.rmtree(venv, ignore_errors=True)
            result = subprocess.run(
                [_uv(), *_SYNC, "--python", sys.executable, "--package", f"newsroom-{service}"],
                cwd=release.source,
                env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)},
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise PreviousReleaseError(
                    f"installing {service} of {release.commit} with uv failed:\n{result.stderr}"
                )
            (venv / ".complete").touch()
    return {service: release.bin_dir(service) for service in services}


# Run in a release's environment: the variables its settings class for one service reads.
_SETTINGS_VARIABLES = """
import importlib, sys
from newsroom_common.config import ServiceSettings, settings_env_names
module = importlib.import_module(f"newsroom_{sys.argv[1]}.config")
(settings,) = {
    value for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, ServiceSettings)
    and value is not ServiceSettings
}
print("\\n".join(sorted(settings_env_names(settings, prefix=module.PREFIX))))
"""


def settings_variables(release: Release, service: str) -> frozenset[str]:
    """The environment variables the release's settings of `service` read."""
    result = subprocess.run(
        [str(release.bin_dir(service) / "python"), "-c", _SETTINGS_VARIABLES, service],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PreviousReleaseError(
            f"cannot read the settings of {service} in {release.commit}:\n{result.stderr}"
        )
    return frozenset(result.stdout.split())
