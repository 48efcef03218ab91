"""A table's code version: the transforms it uses, as code, not as text."""

from pathlib import Path

import assets.gold_tables
import assets.silver_plan
from storage.code_digest import PROJECT_ROOT, code_digest, used_modules


def package(root: Path, modules: dict[str, str]) -> Path:
    (root / "transforms").mkdir(exist_ok=True)
    (root / "transforms" / "__init__.py").write_text("")
    for name, source in modules.items():
        (root / "transforms" / f"{name}.py").write_text(source)
    consumer = root / "asset.py"
    consumer.write_text("from transforms.rules import keep\n")
    return consumer


RULES = (
    '"""Rules."""\nfrom transforms.helpers import limit\n\n\ndef keep(n):\n    return n < limit()\n'
)
HELPERS = "def limit():\n    return 10\n"
UNUSED = "def other():\n    return 1\n"


def test_comments_docstrings_and_layout_leave_the_digest_unchanged(tmp_path):
    consumer = package(tmp_path, {"rules": RULES, "helpers": HELPERS, "unused": UNUSED})
    before = code_digest([consumer], tmp_path)
    rewritten = (
        '"""Rules, documented at length."""\n# a comment\nfrom transforms.helpers import limit\n'
        '\n\ndef keep(n):\n    """Whether to keep n."""\n\n    return n < limit()  # why\n'
    )
    package(tmp_path, {"rules": rewritten})
    assert code_digest([consumer], tmp_path) == before


def test_a_changed_rule_in_a_module_used_through_another_changes_the_digest(tmp_path):
    consumer = package(tmp_path, {"rules": RULES, "helpers": HELPERS, "unused": UNUSED})
    before = code_digest([consumer], tmp_path)
    package(tmp_path, {"unused": "def other():\n    return 2\n"})
    assert code_digest([consumer], tmp_path) == before  # not used: nothing to rebuild
    package(tmp_path, {"helpers": "def limit():\n    return 11\n"})
    assert code_digest([consumer], tmp_path) != before


def test_silver_and_gold_depend_on_their_rules_and_not_on_the_release_code():
    silver_code = [Path(f) for f in assets.silver_plan.SILVER_CODE]
    silver = {p.name for p in used_modules(silver_code, PROJECT_ROOT)}
    gold = {
        p.name
        for p in used_modules([Path(m) for m in assets.gold_tables.GOLD_MODULES], PROJECT_ROOT)
    }
    assert {"scrub.py", "pii.py", "language.py", "silver.py", "person_names.py"} <= silver
    assert {"binarize.py", "decontaminate.py", "near_duplicates.py", "gold.py"} <= gold
    for used in (silver, gold):
        assert not used & {"release.py", "release_report.py"}
    assert "views.py" not in silver
