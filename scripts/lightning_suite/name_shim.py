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
# Lightning internals that some 1.0.8 test files import at the top although only one or two of
# their tests use them. They resolve to placeholders whose every name raises when used, so the
# file's other tests still run; the tests that use them count as "internal" (classification.py).
INTERNAL_MODULES = ("pytorch_lightning.trainer.logging", "pytorch_lightning.accelerators")


class InternalPlaceholder:
    """Stands for a Lightning internal that trainer_core does not have."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise NotImplementedError(f"{self._name} is a Lightning internal; trainer_core has none")

    def __getattr__(self, attr: str):  # type: ignore[no-untyped-def]
        raise NotImplementedError(
            f"{self._name}.{attr} is a Lightning internal; trainer_core has none"
        )


class _PlaceholderLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = ModuleType(spec.name)

        def placeholder(attr: str) -> InternalPlaceholder:
            if attr.startswith("__"):  # __file__, __path__...: tools that inspect modules
                raise AttributeError(attr)
            return InternalPlaceholder(f"{spec.name}.{attr}")

        module.__getattr__ = placeholder  # type: ignore[method-assign]
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run."""


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        # Submodules the target has imported already are registered under the source name too,
        # so a finder placed ahead of this one never loads a second copy of them: pytest's
        # assertion rewriter claims every test_*.py name, trainer_core/loggers/test_tube.py
        # included, and `mock.patch('pytorch_lightning.loggers.test_tube.X')` would then patch
        # a copy the code never reads.
        prefix = self.target + "."
        for name, loaded in list(sys.modules.items()):
            if name.startswith(prefix):
                sys.modules.setdefault(SOURCE + name[len(TARGET) :], loaded)
        return module

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
            found = None
        if found is None:
            if any(fullname == m or fullname.startswith(m + ".") for m in INTERNAL_MODULES):
                return importlib.machinery.ModuleSpec(
                    fullname, _PlaceholderLoader(), is_package=True
                )
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(mapped), is_package=found.submodule_search_locations is not None
        )


def install() -> None:
    if not any(isinstance(f, NameShim) for f in sys.meta_path):
        sys.meta_path.insert(0, NameShim())
