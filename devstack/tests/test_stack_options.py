"""StackOptions checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsroom_devstack.stack import Stack, StackOptions
from newsroom_devstack.supervisor import StartupError, Supervisor


def test_bin_dirs_naming_no_service_is_refused(tmp_path: Path) -> None:
    options = StackOptions(bin_dirs={"user": tmp_path / "bin"})
    with pytest.raises(StartupError, match=r"bin_dirs names no service: user \(known: users,"):
        Stack(tmp_path, tmp_path, supervisor=Supervisor(tmp_path), options=options)
