"""What the upgrade tests share: the previous release, read from previous_release.toml."""

from __future__ import annotations

import pytest

from . import previous_release
from .previous_release import PreviousReleaseError, Release


@pytest.fixture(scope="module")
def release() -> Release:
    """The previous release, its commit present in this clone."""
    try:
        named = previous_release.load()
        previous_release.require_commit(named)
    except PreviousReleaseError as error:
        pytest.fail(str(error), pytrace=False)
    return named
