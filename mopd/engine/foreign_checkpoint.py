"""Read checkpoints of other code bases (CoOp, CoCoOp, KgCoOp, MoPD-TMM on Dassl) without running pickled code.

Dassl saves `scheduler.state_dict()` and `optimizer.state_dict()` as they are. With a warm-up
scheduler that state holds whole Python objects (the successor `CosineAnnealingLR`, the optimizer
it wraps, Dassl's `ConstantWarmupScheduler`), which `torch.load(weights_only=True)` refuses.
`load_foreign_checkpoint` reads such a file with `RestrictedUnpickler`: tensors, storages and plain
containers are rebuilt, and every other pickled global becomes an `InertObject` class whose
instances only keep the arguments and state they were given.

Why no pickled code can run: unpickling calls code only through the globals that `find_class`
returns (GLOBAL/STACK_GLOBAL/INST/EXT opcodes; REDUCE, NEWOBJ and OBJ call what those produced,
BUILD calls `__setstate__` of what they produced), plus torch's `persistent_load`, which only
rebuilds storages. `find_class` returns either an entry of `_SAFE_GLOBALS` (containers, dtypes and
torch's tensor-rebuild functions, which build values from their arguments and call none of them)
or a fresh `InertObject` subclass, whose construction and `__setstate__` store their arguments and
which is not callable once built. torch.load is called with `weights_only=False` only so that it
accepts this `pickle_module`; TorchScript archives, which torch.load would hand to
`torch.jit.load`, are refused before that.
"""
from __future__ import annotations

import _compat_pickle
import io
import logging
import pickle
import posixpath
import types
import zipfile
from collections import OrderedDict, defaultdict
from typing import Any

import torch

logger = logging.getLogger(__name__)

_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("collections", "defaultdict"): defaultdict,
    **{("builtins", container.__name__): container for container in (dict, list, set, frozenset)},
    ("torch", "Size"): torch.Size,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    **{("torch", name): value for name, value in vars(torch).items() if isinstance(value, torch.dtype)},
}


class InertObject:
    """Stand-in for a pickled object whose class is never imported: it keeps what it was built with.

    `pickled_class` is the "module.name" of the class (or function) that the file named.
    """

    pickled_class = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> InertObject:
        instance = super().__new__(cls)
        instance.args, instance.kwargs, instance.state, instance.items = args, kwargs, None, []
        return instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: `__new__` stored the arguments."""

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items.append((key, value))

    def append(self, item: Any) -> None:
        """Keep an item the pickle appends (list-like objects)."""
        self.items.append(item)

    def extend(self, items: Any) -> None:
        """Keep the items the pickle appends (list-like objects)."""
        self.items.extend(items)

    def __repr__(self) -> str:
        return f"<inert {self.pickled_class}>"


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that imports nothing: safe globals are returned, every other one becomes an InertObject class.

    `replaced` collects the "module.name" of every global it stood in for.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replaced: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 2 (torch.save's) writes Python 2 names, e.g. __builtin__ for builtins; read them as pickle does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        safe = _SAFE_GLOBALS.get((module, name))
        if safe is not None:
            return safe
        self.replaced.add(f"{module}.{name}")
        return type(name, (InertObject,), {"pickled_class": f"{module}.{name}", "__module__": __name__})


def _pickle_module(replaced: set[str]) -> types.SimpleNamespace:
    """A module-like object for torch.load's `pickle_module`: restricted unpicklers that report to `replaced`."""

    class Unpickler(RestrictedUnpickler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.replaced = replaced

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    return types.SimpleNamespace(__name__=__name__, Unpickler=Unpickler, load=load)


def _is_torchscript(buffer: io.BytesIO) -> bool:
    """Whether the bytes are a TorchScript archive (torch.load would run `torch.jit.load` on it)."""
    if not zipfile.is_zipfile(buffer):
        return False
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as archive:
        return any(posixpath.basename(name) == "constants.pkl" for name in archive.namelist())


def load_foreign_checkpoint(fpath: str) -> Any:
    """Read a torch checkpoint that holds pickled Python objects, with each of them made inert.

    Raises:
        ValueError: the file is a TorchScript archive (code, not a checkpoint).
        Whatever torch.load raises for a corrupt file (the caller reports it).
    """
    with open(fpath, "rb") as f:
        buffer = io.BytesIO(f.read())  # checked and loaded from the same bytes
    if _is_torchscript(buffer):
        raise ValueError(f'"{fpath}" is a TorchScript archive, not a checkpoint of weights; it is not loaded')
    buffer.seek(0)
    replaced: set[str] = set()
    checkpoint = torch.load(buffer, map_location="cpu", weights_only=False, pickle_module=_pickle_module(replaced))
    logger.warning(
        'Checkpoint "%s" holds pickled Python objects (%s); they were read as inert placeholders, '
        "never imported or run, and only its tensors are used", fpath, ", ".join(sorted(replaced)),
    )
    return checkpoint


def inert_objects_in(value: Any) -> list[str]:
    """The classes of the InertObjects found in nested dicts, lists and tuples, sorted and without repeats."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, InertObject):
            found.add(item.pickled_class)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return sorted(found)
