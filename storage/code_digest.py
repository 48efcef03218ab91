"""What a table is computed by, as a digest of code: the `transforms` modules its asset
module imports, directly or through each other, compared as syntax trees.

A table records this digest with its inputs, so a changed rule rebuilds it. Only the
modules it uses count (an edit to `transforms/release.py` rebuilds no silver or gold
table), and only what the code does: comments, docstrings and layout leave the digest
unchanged.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "transforms"


def settings_digest(described: str) -> str:
    """What a build plan records as a table's settings or inputs: sha256 of their
    description, 32 hex digits."""
    return hashlib.sha256(described.encode("utf-8")).hexdigest()[:32]


def imported(path: Path, package: str = PACKAGE) -> set[str]:
    """Dotted names under `package` that the module at `path` imports (a `from m import
    n` names both `m` and `m.n`, which may be a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] == package}
    return found


def module_file(name: str, root: Path) -> Path | None:
    """The source file of a dotted module name under `root` (None for a non-module name)."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def used_modules(consumers: Sequence[Path], root: Path, package: str = PACKAGE) -> list[Path]:
    """Every `package` module the `consumers` reach through imports, sorted."""
    names = [name for path in consumers for name in imported(path, package)]
    return reached_modules(names, root, package)


def reached_modules(names: Sequence[str], root: Path, package: str = PACKAGE) -> list[Path]:
    """The modules named (dotted) and every `package` module they reach through imports,
    sorted."""
    seen: set[Path] = set()
    pending = list(names)
    while pending:
        path = module_file(pending.pop(), root)
        if path is None or path in seen:
            continue
        seen.add(path)
        pending.extend(imported(path, package))
    return sorted(seen)


def code_of(source: str) -> str:
    """A module's syntax tree without docstrings: what it does, not how it is written up."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        documented = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, documented) and node.body and is_docstring(node.body[0]):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def code_digest(consumers: Sequence[Path], root: Path = PROJECT_ROOT) -> str:
    """sha256 over the code of the `transforms` modules the `consumers` use."""
    return digest_of(used_modules(consumers, root), root)


@cache
def module_digest(name: str, root: Path = PROJECT_ROOT) -> str:
    """sha256 over the code of the module `name` (dotted) and the `transforms` modules it
    uses, once per process: what a text engine's cached results were computed by."""
    return digest_of(reached_modules([name], root), root)


def digest_of(paths: Sequence[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(code_of(path.read_text(encoding="utf-8")).encode("utf-8") + b"\0")
    return digest.hexdigest()


@cache
def asset_code_digest(*consumers: str) -> str:
    """`code_digest` of asset modules given by file path, once per process (the code of a
    running process does not change)."""
    return code_digest([Path(c) for c in consumers])
