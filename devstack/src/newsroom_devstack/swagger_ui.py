"""Swagger UI for the gateway's docs page, vendored once from the npm package pinned in the repo.

The pin is gateway/docs/swagger-ui.pin (`name@version sha512-...`), which the gateway image's
build reads too. The tarball is fetched with npm, checked against the pinned digest, and the
files the page loads are unpacked into .cache/ (ignored by git): the page needs no CDN, and no
internet once they are there.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from newsroom_devstack.paths import cache_dir, repo_root
from newsroom_devstack.supervisor import StartupError

# What the docs page loads (and the licence, which travels with the code).
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE")


def pin_path() -> Path:
    """Return gateway/docs/swagger-ui.pin."""
    return repo_root() / "gateway" / "docs" / "swagger-ui.pin"


def read_pin(path: Path | None = None) -> tuple[str, str]:
    """Return the pinned package spec (name@version) and its sha512 integrity string."""
    spec, integrity = (path or pin_path()).read_text().split()
    if "@" not in spec or not integrity.startswith("sha512-"):
        raise StartupError(f"{path or pin_path()}: expected 'name@version sha512-...'")
    return spec, integrity


def vendor_dir() -> Path:
    """Return the folder of .cache/ where the pinned version's files go."""
    spec, _ = read_pin()
    return cache_dir() / spec.replace("@", "-")


def ensure_swagger_ui(home: Path | None = None, *, log: Callable[[str], object] = print) -> Path:
    """Return the folder holding Swagger UI's files, fetching the pinned package on first use."""
    spec, integrity = read_pin()
    home = (home or vendor_dir()).resolve()
    marker = home / "complete"
    if marker.is_file() and marker.read_text().strip() == integrity:
        return home
    npm = shutil.which("npm")
    if npm is None:
        raise StartupError(
            f"npm not found: it fetches Swagger UI ({spec}) for the gateway's docs page once "
            "(Debian: apt-get install npm)"
        )
    log(f"fetching {spec} for the docs page into {home} (once)")
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent) as scratch:
        result = subprocess.run(
            [npm, "pack", spec, "--pack-destination", scratch, "--silent"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            cwd=scratch,
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise StartupError(f"npm pack {spec} failed:\n{result.stdout}{result.stderr}")
        digest = hashlib.sha512(tarballs[0].read_bytes()).digest()
        if f"sha512-{base64.b64encode(digest).decode()}" != integrity:
            raise StartupError(f"npm pack {spec}: the tarball does not match the pinned digest")
        partial = Path(scratch) / "files"
        partial.mkdir()
        with tarfile.open(tarballs[0]) as archive:
            for name in FILES:
                member = archive.getmember(f"package/{name}")
                source = archive.extractfile(member)
                if source is None:
                    raise StartupError(f"{spec} has no file {name}")
                (partial / name).write_bytes(source.read())
        (partial / "complete").write_text(integrity + "\n")
        shutil.rmtree(home, ignore_errors=True)
        partial.rename(home)
    return home
