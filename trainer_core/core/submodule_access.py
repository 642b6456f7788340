"""Faster `self.<submodule>` in a LightningModule's forward and steps.

nn.Module keeps submodules in `self._modules`, not in the instance dict, so on Python 3.11
every `self.encoder` first fails the ordinary lookup (building and discarding an
AttributeError, message and all) before nn.Module.__getattr__ finds it: about 9,000
machine instructions, as much as a small layer's forward on the CPU. `install` gives the
module's class one non-data descriptor per submodule name that reads `_modules` directly
(a sixth of that cost). Behaviour does not change:
- the descriptor reads the instance's own `_modules` every time (so a replaced, deleted or
  replica submodule, as DataParallel makes, is always the current one); a name that is not
  a submodule of this instance raises AttributeError and nn.Module.__getattr__ takes over
  (parameters, buffers, the usual error);
- being a non-data descriptor, anything in the instance dict still wins over it, and
  assignments and deletions go through nn.Module as before;
- names the class (or a base) already defines are left alone, and so are classes with their
  own `__getattr__` and the LightningModule base itself; a slot answers only for instances
  of exactly its class (a subclass's instances take the usual way until fitted themselves).
"""

from __future__ import annotations

from typing import Any

from torch import nn


class SubmoduleSlot:
    __slots__ = ("cls", "name")

    def __init__(self, cls: type, name: str) -> None:
        self.cls = cls
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        # only for instances of the class it was made for: a subclass may answer otherwise
        if type(instance) is self.cls:
            try:
                return instance.__dict__["_modules"][self.name]
            except KeyError:
                pass  # not (or no longer) a submodule of this instance
        elif instance is None:
            return self
        raise AttributeError(self.name)  # the class's __getattr__ answers from here on

    def __repr__(self) -> str:
        return f"SubmoduleSlot({self.cls.__qualname__}.{self.name})"


def install(module: nn.Module, base: type) -> None:
    """A slot on `type(module)` for each of its direct submodules' names not already
    defined anywhere in the class hierarchy (`base` itself is never changed)."""
    cls = type(module)
    if cls is base or cls.__getattr__ is not nn.Module.__getattr__:  # type: ignore[comparison-overlap]
        return  # a class with its own __getattr__ may answer submodule names differently
    for name in module._modules:
        if not name.isidentifier() or any(name in vars(klass) for klass in cls.__mro__):
            continue
        setattr(cls, name, SubmoduleSlot(cls, name))
