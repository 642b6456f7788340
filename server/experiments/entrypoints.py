"""What can be known about an entrypoint without running user code: the server never imports
it. In a code bundle the module's file can be looked for, and the file parsed (not executed)
for the class; anything outside a bundle is the worker's to find when the run starts."""

import ast
import tarfile
from dataclasses import dataclass
from pathlib import Path

from runyard.schemas import ExperimentSpec

# A module bigger than this is not parsed for its classes (its presence is still checked).
_MAX_PARSED_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class EntrypointFinding:
    field: str
    """'model' or 'datamodule'."""
    message: str
    fatal: bool
    """True: the run cannot start (422). False: a note for the validation answer."""


def _names_bound(source: bytes) -> set[str] | None:
    """Top-level names a module defines or imports; None when it imports `*` (anything goes)
    or does not parse (the worker reports the syntax error with its traceback)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.If | ast.Try):
            return None  # conditional definitions: too dynamic to judge
    return names


def _member_files(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    return {m.name.removeprefix("./"): m for m in archive.getmembers() if m.isfile()}


def check_entrypoints(spec: ExperimentSpec, bundle: Path | None) -> list[EntrypointFinding]:
    entries = [("model", spec.model.entrypoint)]
    if spec.datamodule is not None:
        entries.append(("datamodule", spec.datamodule.entrypoint))
    if bundle is None:
        return [
            EntrypointFinding(
                field,
                f"{entrypoint} is imported on the worker when the run starts (the server never "
                "imports user code); without a bundle it must be installed there",
                fatal=False,
            )
            for field, entrypoint in entries
        ]
    findings: list[EntrypointFinding] = []
    with tarfile.open(bundle, mode="r:gz") as archive:
        files = _member_files(archive)
        folders = {n.split("/")[0] for n in files if "/" in n}
        for field, entrypoint in entries:
            module, _, cls = entrypoint.partition(":")
            parts = module.split(".")
            top_level_in_bundle = parts[0] in folders or f"{parts[0]}.py" in files
            if not top_level_in_bundle:
                findings.append(
                    EntrypointFinding(
                        field,
                        f"the bundle has no {parts[0]!r}: {entrypoint} must be installed on "
                        "the worker",
                        fatal=False,
                    )
                )
                continue
            candidates = ["/".join(parts) + ".py", "/".join(parts) + "/__init__.py"]
            found = next((c for c in candidates if c in files), None)
            if found is None:
                findings.append(
                    EntrypointFinding(
                        field,
                        f"the bundle has {parts[0]!r} but no {candidates[0]} (or "
                        f"{candidates[1]}) for {entrypoint}; check the module path",
                        fatal=True,
                    )
                )
                continue
            member = files[found]
            if member.size > _MAX_PARSED_BYTES:
                continue
            extracted = archive.extractfile(member)
            names = _names_bound(extracted.read()) if extracted else None
            if names is not None and cls not in names:
                findings.append(
                    EntrypointFinding(
                        field,
                        f"{found} in the bundle defines no {cls!r}; check the class name in "
                        f"{entrypoint}",
                        fatal=True,
                    )
                )
    return findings
