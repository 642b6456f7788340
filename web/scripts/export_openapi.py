"""Write the server's OpenAPI document to web/openapi.json, the input of `npm run gen:api`.

Run from the repository root: `python web/scripts/export_openapi.py && (cd web && npm run gen:api)`.
"""

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT = REPO_ROOT / "web" / "openapi.json"


def current_document() -> str:
    # Imported here so the module can be found from any working directory.
    sys.path.insert(0, str(REPO_ROOT))
    from server.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    OUTPUT.write_text(current_document())
    print(f"wrote {OUTPUT}; now run: cd web && npm run gen:api")


if __name__ == "__main__":
    main()
