"""A static guard for the expand/contract rule, read from the migrations' source.

It reads each migration's `upgrade()` (never `downgrade()`, which undoes an expansion by
dropping it) for the operations that break the previous release's code: Alembic's
drop_table, drop_column, rename_table, alter_column with a new name, a new type, NOT NULL or
a dropped default, add_column of a NOT NULL column with no server default, and the same in
SQL given to op.execute. A migration that does one on purpose is a contract step and says so
in a module-level `CONTRACT = "..."` naming what it removes and why no running release uses
it any more; the guard lets it through. test_expand_contract.py checks the same rule on the
schema itself, by reflection on a real PostgreSQL.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

RULE = (
    "the expand/contract rule (docs/kubernetes.md, 'Upgrades: expand, then contract'): "
    "the previous release's code runs against the new schema during an upgrade and after a "
    "rollback, so a migration only expands (new tables, nullable columns or columns with a "
    "server default, wider strings, new indexes); dropping, renaming, retyping, or making a "
    "column NOT NULL is a contract step, in a migration of its own one release after the "
    "code stopped using it, with a module-level CONTRACT = '...' saying what it removes and "
    "why no running release still uses it"
)

VERSIONS_GLOB = "services/*/src/*/adapters/migrations/versions/*.py"

# What SQL in op.execute may not do outside a contract step.
_SQL = (
    (re.compile(r"\bDROP\s+TABLE\b", re.I), "drops a table (SQL)"),
    (re.compile(r"\bDROP\s+COLUMN\b", re.I), "drops a column (SQL)"),
    (re.compile(r"\bRENAME\b", re.I), "renames a table or column (SQL)"),
    # COLUMN is optional in ALTER TABLE ... ALTER [COLUMN] c [SET DATA] TYPE t.
    (
        re.compile(r"\bALTER\s+(COLUMN\s+)?\S+\s+(SET\s+DATA\s+)?TYPE\b", re.I),
        "changes a type (SQL)",
    ),
    (re.compile(r"\bSET\s+NOT\s+NULL\b", re.I), "makes a column NOT NULL (SQL)"),
    (re.compile(r"\bDROP\s+DEFAULT\b", re.I), "drops a column default (SQL)"),
)
# Each column an ALTER TABLE adds, up to the next clause (constraints aside); a comma in
# parentheses, as in numeric(10,2), is part of the column.
_ADDED_COLUMN = re.compile(
    r"\bADD\s+(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|FOREIGN\b|CHECK\b|EXCLUDE\b)"
    r"(?:COLUMN\s+)?((?:\([^()]*\)|[^,;()])*)",
    re.I,
)
_NOT_NULL = re.compile(r"\bNOT\s+NULL\b", re.I)
_DEFAULT = re.compile(r"\bDEFAULT\b", re.I)


def _sql_findings(sql: str) -> list[str]:
    found = [what for pattern, what in _SQL if pattern.search(sql)]
    for column in _ADDED_COLUMN.finditer(sql):
        if _NOT_NULL.search(column[1]) and not _DEFAULT.search(column[1]):
            found.append("adds a NOT NULL column without a default (SQL)")
    return found


_REMOVALS = {
    "drop_table": "drops a table",
    "drop_column": "drops a column",
    "rename_table": "renames a table",
}


@dataclass(frozen=True)
class Finding:
    """One destructive operation: where, and what it does."""

    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _call_findings(call: ast.Call) -> list[str]:
    name = _name(call)
    if name in _REMOVALS:
        return [f"{name}: {_REMOVALS[name]}"]
    found = []
    if name == "alter_column":
        if _keyword(call, "new_column_name") is not None:
            found.append("alter_column(new_column_name=...): renames a column")
        if _keyword(call, "type_") is not None:
            found.append("alter_column(type_=...): changes a column's type")
        if _is(_keyword(call, "nullable"), False):
            found.append("alter_column(nullable=False): makes a column NOT NULL")
        if _is(_keyword(call, "server_default"), None) and not _is(
            _keyword(call, "nullable"), True
        ):
            found.append("alter_column(server_default=None): drops the default of a column")
    if name == "add_column":
        columns = [a for a in call.args if isinstance(a, ast.Call) and _name(a) == "Column"]
        for column in columns:
            not_null = _is(_keyword(column, "nullable"), False) or (
                _is(_keyword(column, "primary_key"), True)
                and not _is(_keyword(column, "nullable"), True)
            )
            default = _keyword(column, "server_default")
            # server_default=None is no default either.
            if not_null and (default is None or _is(default, None)):
                found.append("add_column: a NOT NULL column without a server default")
    return found


def _contract(tree: ast.Module) -> str | None:
    """The module's CONTRACT string, if it declares one."""
    for node in tree.body:
        # CONTRACT = "..." or, annotated, CONTRACT: str = "..."
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if (
            any(isinstance(t, ast.Name) and t.id == "CONTRACT" for t in targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None


def findings(path: Path) -> list[Finding]:
    """What in `path`'s upgrade() breaks the previous release, unless it is a contract step."""
    tree = ast.parse(path.read_text(), filename=str(path))
    upgrades = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"]
    if not upgrades:
        return [Finding(path, 1, "has no module-level upgrade() to check")]
    contract = _contract(tree)
    if contract is not None:
        if contract.strip():
            return []
        return [Finding(path, 1, "CONTRACT is empty: say what it removes and why it may")]
    found = []
    for node in ast.walk(upgrades[0]):
        if not isinstance(node, ast.Call):
            continue
        found += [Finding(path, node.lineno, what) for what in _call_findings(node)]
        # SQL is what op.execute or sa.text is given (docstrings and comments are not).
        if _name(node) in {"execute", "text"}:
            sql = " ".join(
                n.value
                for a in node.args
                for n in ast.walk(a)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            )
            found += [Finding(path, node.lineno, what) for what in _sql_findings(sql)]
    # op.execute(sa.text(...)) reads the same SQL twice.
    return list(dict.fromkeys(found))


def check(paths: list[Path]) -> None:
    """Raise AssertionError naming each destructive operation in `paths`, and the rule."""
    problems = [str(f) for path in paths for f in findings(path)]
    if problems:
        raise AssertionError(
            "migrations break the previous release's code:\n  "
            + "\n  ".join(problems)
            + f"\nThis is {RULE}."
        )
