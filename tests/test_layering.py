"""Dependencies point one way: orchestration -> assets -> storage -> transforms."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        modules = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module.split(".")[0])
        found[path.relative_to(ROOT).as_posix()] = modules
    return found


def test_transforms_import_neither_dagster_nor_deltalake_nor_the_layers_above():
    for path, modules in imported_modules("transforms").items():
        assert not modules & {"dagster", "deltalake", "storage", "assets", "orchestration"}, path


def test_transforms_read_no_environment_and_no_files():
    for path in sorted((ROOT / "transforms").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert "os.environ" not in source and "open(" not in source, path


def test_storage_imports_neither_assets_nor_orchestration():
    found = imported_modules("storage")
    assert "storage/lake.py" in found
    for path, modules in found.items():
        assert not modules & {"assets", "orchestration"}, path


def test_asset_modules_do_not_import_each_other():
    """A module that defines assets takes shared code from storage, transforms or a
    helper module of assets/ that defines none, never from another asset module."""
    defining = {
        path.stem
        for path in (ROOT / "assets").glob("*.py")
        if re.search(r"^\s*@(dg\.)?(multi_)?asset\b", path.read_text(encoding="utf-8"), re.M)
    }
    assert {"bronze", "silver", "gold_prefs", "gold_sft", "gold_prompts", "views"} <= defining
    for path in sorted((ROOT / "assets").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assets."):
                assert node.module.split(".")[1] not in defining, (path.name, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("assets."):
                        assert alias.name.split(".")[1] not in defining, (path.name, alias.name)


def test_checks_and_the_benchmark_use_storage_not_asset_internals():
    checks = imported_modules("orchestration")["orchestration/checks.py"]
    for path, modules in {**imported_modules("bench"), "orchestration/checks.py": checks}.items():
        assert "assets" not in modules, path


def test_assets_do_not_import_orchestration():
    for path, modules in imported_modules("assets").items():
        assert "orchestration" not in modules, path


def test_evaluation_imports_neither_assets_nor_orchestration():
    # The engine evaluations are pure; the silver-stage evaluation builds a lake, as a user
    # does, through orchestration (never assets directly).
    for path, modules in imported_modules("evaluation").items():
        forbidden = (
            {"assets"}
            if path.endswith("silver_stage.py")
            else {"dagster", "deltalake", "assets", "orchestration"}
        )
        assert not modules & forbidden, path


def test_asset_modules_are_small():
    for path in sorted((ROOT / "assets").glob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 400, (path.name, lines)


def test_no_dataset_is_named_in_code_only_in_the_catalogue():
    """Adding a dataset is a declaration: assets, orchestration and storage read what they
    need to know about a dataset from sources/catalogue.yaml, never from its name."""
    names = re.findall(
        r"^  ([a-z0-9_]+):$",
        (ROOT / "sources" / "catalogue.yaml").read_text(encoding="utf-8"),
        re.M,
    )
    assert "chatbot_arena_conversations" in names
    for package in ("assets", "orchestration", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for name in names:
                assert f'"{name}"' not in source and f"'{name}'" not in source, (path, name)
