"""skaffold's buildah builder refuses what it cannot do, before building anything."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("IMAGE", "PUSH_IMAGE")}
    return subprocess.run(
        [sys.executable, "-m", "newsroom_devstack.skaffold_build", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_image_it_says_skaffold_sets_it() -> None:
    result = run("articles")
    assert result.returncode == 2
    assert "IMAGE is not set: skaffold sets it" in result.stderr


def test_an_unknown_image_is_named() -> None:
    result = run("postgres", IMAGE="127.0.0.1:5000/x:1")
    assert result.returncode == 2
    assert "invalid choice: 'postgres'" in result.stderr


def test_without_push_it_asks_for_a_registry() -> None:
    result = run("articles", IMAGE="newsroom/articles:dev", PUSH_IMAGE="false")
    assert result.returncode == 1
    assert "run skaffold with --default-repo <registry>" in result.stderr
