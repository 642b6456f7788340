"""The dashboard's TypeScript client is generated from web/openapi.json; this keeps that file
equal to the server's current OpenAPI document, so the client never drifts from the API."""

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "python web/scripts/export_openapi.py && (cd web && npm run gen:api)"


def test_committed_openapi_document_matches_the_app() -> None:
    sys.path.insert(0, str(REPO_ROOT / "web" / "scripts"))
    from export_openapi import OUTPUT, current_document

    committed = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else None
    current = json.loads(current_document())
    assert committed == current, (
        "web/openapi.json differs from the server's OpenAPI document; the dashboard's generated "
        f"client is stale. Regenerate both from the repository root with:\n  {REGENERATE}\n"
        "and commit web/openapi.json and web/src/lib/api-types.ts."
    )


def test_generated_client_types_exist() -> None:
    types = REPO_ROOT / "web" / "src" / "lib" / "api-types.ts"
    assert types.exists(), f"missing {types}; generate it with:\n  {REGENERATE}"
    assert '"/api/v1/runs"' in types.read_text()
