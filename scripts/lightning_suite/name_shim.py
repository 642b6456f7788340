"""`pytorch_lightning[.x.y]` -> `trainer_core[.x.y]`: the only thing the trainer_core side adds.

A meta-path finder placed first resolves every `pytorch_lightning` module name to the
trainer_core module of the same dotted path and registers it under both names, so test code
written for Lightning 1.0 imports trainer_core unchanged. Nothing else is translated.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

SOURCE = "pytorch_lightning"
TARGET = "trainer_core"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed."""


class NameShim(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != SOURCE and not fullname.startswith(SOURCE + "."):
            return None
        mapped = TARGET + fullname[len(SOURCE) :]
        try:
            found = importlib.util.find_spec(mapped)
        except ModuleNotFoundError:
            return None
        if found is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(mapped), is_package=found.submodule_search_locations is not None
        )


def install() -> None:
    if not any(isinstance(f, NameShim) for f in sys.meta_path):
        sys.meta_path.insert(0, NameShim())
