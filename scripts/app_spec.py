"""Generate the app spec reference and its JSON Schema from stacks/spec.py (a test keeps both current).

    .venv/bin/python scripts/app_spec.py          # writes docs/app-spec.md and docs/app-spec.schema.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stacks.specschema import json_schema, markdown  # noqa: E402

MARKDOWN = ROOT / "docs" / "app-spec.md"
SCHEMA = ROOT / "docs" / "app-spec.schema.json"


def rendered() -> dict[Path, str]:
    return {MARKDOWN: markdown() + "\n", SCHEMA: json.dumps(json_schema(), indent=2) + "\n"}


def main() -> None:
    for path, text in rendered().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
