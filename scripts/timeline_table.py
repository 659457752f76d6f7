"""Write the care timeline's events × states table (from ``carepath.domain.timeline``) into
README.md and docs/timeline.md, between their ``lifecycle-table`` markers. A test checks
the pages are current: run this after changing ``EPISODE_EVENTS``."""

from __future__ import annotations

import re
from pathlib import Path

from carepath.domain.timeline import lifecycle_markdown

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", ROOT / "docs" / "timeline.md")
REGION = re.compile(r"(<!-- lifecycle-table:start -->\n).*?(\n<!-- lifecycle-table:end -->)",
                    re.DOTALL)


def render(page: str) -> str:
    return REGION.sub(lambda m: m.group(1) + lifecycle_markdown() + m.group(2), page)


def main() -> None:
    for path in PAGES:
        path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
