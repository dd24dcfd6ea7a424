"""The dead-code and duplicate-code checks of `make lint` catch what they are there for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

BLOCK = textwrap.dedent(
    """
    def {name}(rows: list[dict[str, int]]) -> int:
        total = 0
        for row in rows:
            if row.get("views", 0) > 10:
                total += row["views"]
            elif row.get("views", 0) < 0:
                raise ValueError("negative views")
            else:
                total += 1
        return total
    """
)


def test_a_block_of_six_repeated_lines_fails_the_duplicate_check(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text(BLOCK.format(name="first"))
    (package / "second.py").write_text(BLOCK.format(name="second"))
    # The project's own configuration (pyproject.toml), as make lint runs it.
    result = subprocess.run(
        [BIN / "pylint", "--rcfile", ROOT / "pyproject.toml", package],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0, result.stdout
    assert "duplicate-code" in result.stdout


def test_an_unused_function_fails_the_dead_code_check(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(
        "def used() -> int:\n    return 1\n\n\ndef unused() -> int:\n    return used()\n"
    )
    result = subprocess.run(
        [BIN / "vulture", tmp_path / "module.py", ROOT / "lint" / "vulture_whitelist.py"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "unused function 'unused'" in result.stdout
