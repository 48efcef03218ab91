"""``python -m evaluation.run`` (``make eval``): measure the text engines, write docs/quality.md.

The PII evaluation always runs. The language evaluation runs when ``evaluation.language``
exists (it provides ``evaluate()`` and ``markdown(result)``); otherwise its section says so.
Last, ``evaluation.silver_stage`` builds bronze and silver from a local mirror of the same
external texts and scores what silver kept (the whole pipeline, not the engine alone).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from evaluation import pii, silver_stage

ROOT = Path(__file__).resolve().parent.parent
QUALITY_MD = ROOT / "docs" / "quality.md"

HEADER = """# Quality of the text engines, measured on data this project did not generate

Written by `make eval` (`python -m evaluation.run`); do not edit by hand. Generated samples
(sources/samples) test the pipeline; the figures below test the engines on text that other
people and models wrote, vendored with its provenance under `evaluation/data/`. The last
section runs the pipeline itself (bronze and silver, built from a local mirror of the same
texts) and scores what silver keeps.
"""


def language_module() -> ModuleType | None:
    """``evaluation.language`` if it is there (another part of the evaluation), else None."""
    try:
        return importlib.import_module("evaluation.language")
    except ModuleNotFoundError as missing:
        if missing.name in {"evaluation.language"}:
            return None
        raise


def language_section() -> str:
    """The language evaluation's markdown, or a note that it is not there yet."""
    module = language_module()
    if module is None:
        note = "evaluation/language.py is not there yet: no language figures."
        print(f"language: skipped ({note})")
        return f"## Language\n\n{note}\n"
    result = module.evaluate()
    section = module.markdown(result)
    print(section)
    return section


def main() -> int:
    result = pii.evaluate()
    pii_section = pii.markdown(result)
    print(pii_section)
    language = language_section()
    stage = silver_stage.markdown(silver_stage.evaluate())
    print(stage)
    QUALITY_MD.write_text("\n".join([HEADER, pii_section, language, stage]), encoding="utf-8")
    print(f"wrote {QUALITY_MD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
