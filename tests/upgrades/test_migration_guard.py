"""The expand/contract rule, checked statically (migration_guard) on the migrations added since
the previous release, and shown to catch what it must on migrations planted in a tmp dir; the
record of the previous release (previous_release.toml) checked against git."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from newsroom_devstack.paths import repo_root

from . import migration_guard, previous_release
from .previous_release import PreviousReleaseError, Release

ROOT = repo_root()
HEADER = '''"""A planted migration."""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "0003"
'''


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _chart_version(chart_yaml: str) -> tuple[int, ...]:
    match = re.search(r"^version:\s*(\S+)\s*$", chart_yaml, re.M)
    assert match, "no version in the umbrella chart"
    return _semver(match[1])


def released(release: Release) -> set[str]:
    """The migration files the previous release shipped (repository paths)."""
    listing = previous_release.git(
        "ls-tree", "-r", "--name-only", release.commit, "--", "services"
    ).splitlines()
    pattern = re.compile(r"^services/[^/]+/src/[^/]+/adapters/migrations/versions/[^/]+\.py$")
    return {path for path in listing if pattern.match(path)}


def test_the_record_names_the_previous_release_of_the_umbrella_chart(release: Release) -> None:
    assert release.chart == "newsroom"
    then = previous_release.git("show", f"{release.commit}:{previous_release.UMBRELLA_CHART}")
    assert _chart_version(then) == _semver(release.version), (
        f"{release.commit[:12]} has the umbrella chart at {_chart_version(then)}, "
        f"previous_release.toml says {release.version}"
    )
    now = (ROOT / previous_release.UMBRELLA_CHART).read_text()
    # Equal on the release commit itself (the record moves to it when it is released).
    assert _chart_version(now) >= _chart_version(then), (
        "the umbrella chart's version is older than the previous release's"
    )
    previous_release.git("merge-base", "--is-ancestor", release.commit, "HEAD")


def test_a_bad_record_and_a_missing_commit_fail_saying_what_to_do(tmp_path: Path) -> None:
    record = tmp_path / "previous_release.toml"
    record.write_text('chart = "newsroom"\nversion = "0.3.0"\ncommit = "47f3361"\n')
    with pytest.raises(PreviousReleaseError, match="full 40-digit hash"):
        previous_release.load(record)
    record.write_text('chart = "newsroom"\nversion = "0.3.0"\n')
    with pytest.raises(PreviousReleaseError, match="expected exactly the strings"):
        previous_release.load(record)
    absent = Release(chart="newsroom", version="0.0.1", commit="0" * 40)
    with pytest.raises(
        PreviousReleaseError, match=r"git fetch --unshallow.*git fetch origin 0{40}"
    ):
        previous_release.require_commit(absent)


def test_migrations_added_since_the_previous_release_only_expand(release: Release) -> None:
    shipped = released(release)
    assert shipped, f"{release.commit[:12]} has no migrations: is the commit right?"
    current = sorted(ROOT.glob(migration_guard.VERSIONS_GLOB))
    added = [p for p in current if str(p.relative_to(ROOT)) not in shipped]
    migration_guard.check(added)


def test_released_migrations_are_still_there(release: Release) -> None:
    """Databases the previous release migrated are at one of its revisions: each must stay."""
    for path in sorted(released(release)):
        assert (ROOT / path).is_file(), f"{path} shipped in {release.version} but was removed"


def test_every_migration_of_the_checkout_passes_the_guard() -> None:
    """The rule has held since the first migration (each service's 0001 only creates)."""
    migration_guard.check(sorted(ROOT.glob(migration_guard.VERSIONS_GLOB)))


BAD = {
    "drop_table": 'op.drop_table("follows")',
    "drop_column": 'op.drop_column("users", "bio")',
    "rename_table": 'op.rename_table("users", "accounts")',
    "renames a column": 'op.alter_column("users", "bio", new_column_name="about")',
    "changes a column's type": 'op.alter_column("users", "bio", type_=sa.String(20))',
    "makes a column NOT NULL": 'op.alter_column("users", "bio", nullable=False)',
    "drops the default": 'op.alter_column("users", "bio", server_default=None)',
    "a NOT NULL column without a server default": (
        'op.add_column("users", sa.Column("email2", sa.Text, nullable=False))'
    ),
    "drops a column \\(SQL\\)": 'op.execute(sa.text("ALTER TABLE users DROP COLUMN bio"))',
    "renames a table or column \\(SQL\\)": (
        'op.execute("ALTER TABLE users RENAME COLUMN bio TO about")'
    ),
    "changes a type \\(SQL\\)": 'op.execute("ALTER TABLE users ALTER COLUMN bio TYPE int")',
    "NOT NULL \\(SQL\\)": 'op.execute("ALTER TABLE users ALTER COLUMN bio SET NOT NULL")',
    "without a default \\(SQL\\)": 'op.execute("ALTER TABLE users ADD COLUMN x int NOT NULL")',
}


# Spellings of the same operations that a narrower reading would let through.
OTHER_SPELLINGS = [
    ("changes a type \\(SQL\\)", 'op.execute("ALTER TABLE users ALTER bio TYPE int")'),
    (
        "without a default \\(SQL\\)",
        'op.execute("ALTER TABLE users ADD COLUMN price numeric(10,2) NOT NULL")',
    ),
    (
        "a NOT NULL column without a server default",
        'op.add_column("users", sa.Column("x", sa.Text, nullable=False, server_default=None))',
    ),
]


def _plant(tmp_path: Path, body: str, *, extra: str = "") -> Path:
    path = tmp_path / "9999_planted.py"
    path.write_text(
        HEADER
        + extra
        + "\n\ndef upgrade() -> None:\n"
        + textwrap.indent(body, "    ")
        + '\n\n\ndef downgrade() -> None:\n    op.drop_table("follows")\n'
    )
    return path


@pytest.mark.parametrize("what", list(BAD), ids=lambda w: w.replace("\\", ""))
def test_the_guard_fails_on_a_planted_destructive_migration(tmp_path: Path, what: str) -> None:
    planted = _plant(tmp_path, BAD[what])
    with pytest.raises(AssertionError, match=what) as failure:
        migration_guard.check([planted])
    message = str(failure.value)
    assert str(planted) in message
    assert "expand/contract rule" in message
    assert "CONTRACT" in message
    # Only upgrade() counts: the same operation in downgrade() is not reported twice.
    assert message.count(str(planted)) == 1, message


@pytest.mark.parametrize(
    ("what", "body"), OTHER_SPELLINGS, ids=["ALTER c TYPE", "numeric(10,2)", "server_default=None"]
)
def test_the_guard_reads_other_spellings_of_the_same_operations(
    tmp_path: Path, what: str, body: str
) -> None:
    with pytest.raises(AssertionError, match=what):
        migration_guard.check([_plant(tmp_path, body)])


def test_the_guard_lets_expansions_and_declared_contract_steps_through(tmp_path: Path) -> None:
    expand = """
\"\"\"New tables and columns only: nothing is dropped, renamed or made NOT NULL.\"\"\"
op.create_table("drafts", sa.Column("id", sa.Integer, primary_key=True))
op.add_column("users", sa.Column("locale", sa.Text, nullable=True))
op.add_column("users", sa.Column("karma", sa.Integer, nullable=False, server_default="0"))
op.alter_column("users", "image", nullable=True, server_default=None)
op.execute("ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0")
op.create_index("users_locale_idx", "users", ["locale"])
"""
    migration_guard.check([_plant(tmp_path, expand)])

    contract = _plant(
        tmp_path,
        'op.drop_column("users", "legacy_bio")',
        extra='\nCONTRACT = "legacy_bio: unread since 0.4.0, whose successor 0.5.0 is out"\n',
    )
    migration_guard.check([contract])
    annotated = _plant(
        tmp_path,
        'op.drop_column("users", "legacy_bio")',
        extra='\nCONTRACT: str = "legacy_bio: unread since 0.4.0, whose successor 0.5.0 is out"\n',
    )
    migration_guard.check([annotated])

    silent = _plant(tmp_path, 'op.drop_column("users", "legacy_bio")', extra='\nCONTRACT = " "\n')
    with pytest.raises(AssertionError, match="CONTRACT is empty"):
        migration_guard.check([silent])
