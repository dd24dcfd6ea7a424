"""The repository is self-contained: no tracked file refers to a path above its root.

Our own checkouts have a `shared/` folder beside them; a user's clone has nothing beside it.
So anything that reads `../shared` (or `REPO.parent / ...`, or `/work/...`) passes for us and
fails for every user (issue 21). This scans every tracked file for such references:

- relative paths (`../x`, `file://../x`, markdown links, symlink targets), resolved from the
  file's own folder; a path that stays in the tree there (a chart's `file://../newsroom-lib`)
  is fine;
- Python path arithmetic on `__file__` (`.parent`, `.parents[n]`, `/ ".."`, `os.path.dirname`),
  followed through assignments such as `REPO = Path(__file__).parents[2]`;
- absolute paths into the folder that holds our checkouts.
"""

from __future__ import annotations

import ast
import functools
import os
import posixpath
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[2]
# This file is left out of the scan: its docstring and examples spell the very references the
# scan must catch.
THIS_FILE = PurePosixPath(Path(__file__).resolve().relative_to(REPO).as_posix())

# Where our own checkouts live on the development machines (with `shared/` beside them).
OUTSIDE_ROOTS = ("/work/",)

# A relative path token: `..` not part of an ellipsis or a git range, then the rest of the path.
_RELATIVE = re.compile(r"(?<![\w.])\.\.(?=/|[\s\"'`)\]>,;:]|$)(?:/[^\s\"'`)\]>,;:#*?{}$<|]*)?")


@dataclass(frozen=True)
class Reference:
    """A path in a tracked file that leads outside the repository."""

    file: PurePosixPath
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def _escapes(path: str) -> bool:
    normal = posixpath.normpath(path)
    return normal == ".." or normal.startswith("../")


def relative_references(
    file: PurePosixPath, text: str, *, in_tree: Callable[[str], bool]
) -> list[Reference]:
    """Relative paths in `text` that leave the tree.

    A path is resolved from the file's folder, as charts, links, symlinks and `__file__` code
    read it: leaving the tree from there is flagged. Code also reads paths from the working
    folder, so a path that stays inside from the file's folder must still name something in
    the tree (`in_tree` of what follows its leading `..`): `../newsroom-lib` does (a chart),
    `../shared/contracts/...` written in a sub-folder's document does not.
    """
    found = []
    folder = file.parent.as_posix()
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _RELATIVE.finditer(line):
            token = match.group(0)
            rest = "/".join(p for p in token.split("/") if p not in ("..", ".", ""))
            if _escapes(posixpath.join(folder, token)) or (rest and not in_tree(rest)):
                found.append(Reference(file, number, token))
    return found


def absolute_references(file: PurePosixPath, text: str, roots: tuple[str, ...]) -> list[Reference]:
    """Absolute paths in `text` under one of `roots` (folders outside the repository)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for root in roots:
            for match in re.finditer(r"(?<![\w.:/~-])" + re.escape(root) + r"[^\s\"'`)]*", line):
                found.append(Reference(file, number, match.group(0)))
    return found


def python_references(file: PurePosixPath, source: str) -> list[Reference]:
    """Path expressions built from `__file__` that climb above the repository root."""
    tree = ast.parse(source)
    # Depth below the repository root: the file itself is one below its folder.
    file_depth = len(file.parts)
    names: dict[str, int] = {}

    def depth(node: ast.expr) -> int | None:
        match node:
            case ast.Name(id="__file__"):
                return file_depth
            case ast.Name(id=name):
                return names.get(name)
            case ast.Attribute(value=inner, attr="parent"):
                below = depth(inner)
                return None if below is None else below - 1
            case ast.Subscript(
                value=ast.Attribute(value=inner, attr="parents"), slice=ast.Constant(int() as k)
            ):
                below = depth(inner)
                return None if below is None else below - k - 1
            case ast.Call(func=ast.Attribute(value=inner, attr="resolve" | "absolute"), args=[]):
                return depth(inner)
            case ast.Call(func=function, args=[inner]) if _dotted(function) in _SAME_PATH:
                return depth(inner)
            case ast.Call(func=function, args=[inner]) if _dotted(function) in _DIRNAME:
                below = depth(inner)
                return None if below is None else below - 1
            case ast.Call(func=function, args=[inner, *parts]) if _dotted(function) in _JOIN:
                return _descend(depth(inner), parts)
            case ast.BinOp(left=inner, op=ast.Div(), right=part):
                return _descend(depth(inner), [part])
        return None

    assignments = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for assignment in assignments:
        targets = assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target]
        if assignment.value is None:
            continue
        value = depth(assignment.value)
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                names[target.id] = value

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.expr) or isinstance(getattr(node, "ctx", None), ast.Store):
            continue
        if (value := depth(node)) is not None and value < 0:
            found.append(Reference(file, node.lineno, ast.unparse(node)))
    # An expression inside a flagged one is flagged too; keep the innermost per line.
    innermost: dict[int, Reference] = {}
    for reference in found:
        known = innermost.get(reference.line)
        if known is None or len(reference.text) < len(known.text):
            innermost[reference.line] = reference
    return sorted(innermost.values(), key=lambda r: r.line)


_SAME_PATH = {"Path", "pathlib.Path", "PurePath", "os.path.abspath", "os.path.realpath"}
_DIRNAME = {"os.path.dirname", "posixpath.dirname"}
_JOIN = {"os.path.join", "posixpath.join"}


def _dotted(node: ast.expr) -> str:
    match node:
        case ast.Name(id=name):
            return name
        case ast.Attribute(value=inner, attr=attr):
            return f"{_dotted(inner)}.{attr}"
    return ""


def _descend(start: int | None, parts: list[ast.expr]) -> int | None:
    """Depth after joining string constants onto a path (`..` climbs, a name descends)."""
    if start is None:
        return None
    current = start
    lowest = start
    for part in parts:
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            return None
        for segment in part.value.split("/"):
            if segment == "..":
                current -= 1
            elif segment not in ("", "."):
                current += 1
            lowest = min(lowest, current)
    # A path that dips above the root and comes back down is still outside it.
    return lowest if lowest < 0 else current


def _checkout_roots() -> tuple[str, ...]:
    # The folder holding this checkout is outside it too, unless it is a system folder
    # (`/`, `/tmp`, `/home`) whose name could appear for other reasons.
    parent = REPO.parent
    extra = (f"{parent}/",) if len(parent.parts) > 2 else ()
    return tuple(dict.fromkeys((*OUTSIDE_ROOTS, *extra)))


def _tracked() -> Iterator[tuple[PurePosixPath, bool]]:
    """Every tracked path, and whether it is a symlink."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--stage", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"cannot list the tracked files with git in {REPO}: {error}", pytrace=False)
    for entry in listing.split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            yield PurePosixPath(path.decode()), meta.startswith(b"120000")


@functools.cache
def _tree_suffixes() -> frozenset[str]:
    """Every trailing part of every tracked path and folder (`newsroom-lib`, `bench/README.md`)."""
    suffixes = set()
    for file, _ in _tracked():
        for path in (file, *file.parents):
            for start in range(len(path.parts)):
                suffixes.add("/".join(path.parts[start:]))
    return frozenset(suffixes)


def _in_tree(rest: str) -> bool:
    return rest in _tree_suffixes()


def scan_repository() -> list[Reference]:
    """Every reference to a path outside the repository in its tracked files."""
    roots = _checkout_roots()
    found: list[Reference] = []
    for file, is_symlink in _tracked():
        if file == THIS_FILE:
            continue
        if is_symlink:
            target = os.readlink(REPO / file)
            if target.startswith("/") or _escapes(posixpath.join(file.parent.as_posix(), target)):
                found.append(Reference(file, 0, f"symlink to {target}"))
            continue
        raw = (REPO / file).read_bytes()
        if b"\0" in raw:
            continue  # images and other binary files hold no paths
        text = raw.decode("utf-8", errors="replace")
        found += relative_references(file, text, in_tree=_in_tree)
        found += absolute_references(file, text, roots)
        if file.suffix == ".py":
            found += python_references(file, text)
    return found


def test_no_tracked_file_refers_to_a_path_outside_the_repository() -> None:
    found = scan_repository()
    assert not found, "paths outside the repository (a user's clone has nothing beside it):\n" + (
        "\n".join(map(str, found))
    )


def test_the_scan_covers_the_tree() -> None:
    # A scan that read nothing would pass for the wrong reason.
    files = {file for file, _ in _tracked()}
    assert PurePosixPath("skaffold.yaml") in files
    assert PurePosixPath("charts/articles/Chart.yaml") in files
    assert len(files) > 100


TOP = PurePosixPath("Makefile")
DEEP = PurePosixPath("tests/deploy/deploy_support.py")
CHART = PurePosixPath("charts/articles/Chart.yaml")
DOC = PurePosixPath("docs/kubernetes.md")


@pytest.mark.parametrize(
    ("file", "text"),
    [
        (TOP, "cp ../shared/contracts/x.json tests/"),
        (TOP, "cd .. && make"),
        (CHART, "    repository: file://../../../newsroom-lib"),
        (DOC, "the contract (`../shared/contracts/realworld-openapi.yml`)"),
        (DOC, "[spec](../../shared/contracts/realworld-openapi.yml)"),
    ],
)
def test_relative_paths_leaving_the_tree_are_found(file: PurePosixPath, text: str) -> None:
    assert relative_references(file, text, in_tree=_in_tree)


@pytest.mark.parametrize(
    ("file", "text"),
    [
        (CHART, "    repository: file://../newsroom-lib"),
        (PurePosixPath("docs/benchmark/README.md"), "[bench](../../bench/README.md)"),
        (PurePosixPath(".ci/run"), 'cd "$(dirname "$0")/.."'),
        (DOC, "and so on... or `git log main..fixes`"),
        (TOP, "see docs/kubernetes.md"),
    ],
)
def test_relative_paths_inside_the_tree_are_not_flagged(file: PurePosixPath, text: str) -> None:
    assert relative_references(file, text, in_tree=_in_tree) == []


@pytest.mark.parametrize(
    "source",
    [
        'SHARED = Path(__file__).resolve().parents[2].parent / "shared"',
        'REPO = Path(__file__).resolve().parents[2]\nSHARED = REPO.parent / "shared"',
        'REPO = Path(__file__).resolve().parents[2]\nX = REPO / ".." / "shared"',
        "ROOT = Path(__file__).parents[3]",
        "up = Path(__file__).parent.parent.parent.parent",
        'up = os.path.join(os.path.dirname(__file__), "../../../shared")',
    ],
)
def test_python_climbing_above_the_root_is_found(source: str) -> None:
    assert python_references(DEEP, source)


@pytest.mark.parametrize(
    "source",
    [
        "REPO = Path(__file__).resolve().parents[2]",
        'REPO = Path(__file__).resolve().parents[2]\nCHARTS = REPO / "charts"',
        'HERE = Path(__file__).parent\nSCHEMA = HERE / "schemas" / ".." / "tools"',
        "for candidate in (start, *start.parents): pass",
    ],
)
def test_python_paths_inside_the_tree_are_not_flagged(source: str) -> None:
    assert python_references(DEEP, source) == []


def test_absolute_paths_into_the_checkouts_folder_are_found() -> None:
    text = 'schema = "/work/shared/contracts/x.json"  # see https://example.com/work/x'
    assert [r.text for r in absolute_references(TOP, text, OUTSIDE_ROOTS)] == [
        "/work/shared/contracts/x.json"
    ]
