"""Write the guard's route table (digitnet/routes.py: every route, its bound and why) into docs/serving.md.

    .venv/bin/python scripts/route_table.py

tests/test_routes.py checks that the section is the table."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitnet import routes  # noqa: E402
from digitnet.lab.docs import write_section  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "serving.md"

if __name__ == "__main__":
    changed = write_section(DOC, "routes", routes.markdown(), "python scripts/route_table.py")
    print(f"{DOC}: {'written' if changed else 'unchanged'}")
