"""`make lint` covers what it claims: mypy reads every test folder, not only the sources."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_checks_every_folder_of_tests() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    checked = {Path(p) for p in config["files"]}
    test_folders = {
        p.relative_to(ROOT)
        for p in [*ROOT.glob("*/tests"), *ROOT.glob("*/*/tests")]
        if p.is_dir() and ".venv" not in p.parts
    }
    test_folders.add(Path("tests"))
    assert test_folders <= checked, f"not type-checked: {sorted(map(str, test_folders - checked))}"
    assert not any("tests" in pattern for pattern in config.get("exclude", []))
