"""Name-to-class registry, as Dassl's `Registry`, with a "did you mean" on unknown names."""
from __future__ import annotations

import difflib
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def nearest_name(requested: str, available: list[str]) -> str | None:
    """Return the name in `available` most similar to `requested` (None if there are none)."""
    if not available:
        return None
    return max(available, key=lambda name: difflib.SequenceMatcher(None, requested, name).ratio())


class Registry:
    """Maps a class (or function) name to the object, e.g. `TRAINER_REGISTRY.get("CoOp")`."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._obj_map: dict[str, Any] = {}

    def _do_register(self, name: str, obj: Any, force: bool) -> None:
        if name in self._obj_map and not force:
            raise KeyError(
                f'An object named "{name}" is already registered in the "{self._name}" registry; '
                "give the new one a different class name"
            )
        self._obj_map[name] = obj

    def register(self, obj: T | None = None, force: bool = False) -> T | Callable[[T], T]:
        """Register `obj` under its `__name__`; without `obj`, return a class decorator."""
        if obj is None:

            def decorator(target: T) -> T:
                self._do_register(target.__name__, target, force)
                return target

            return decorator
        self._do_register(obj.__name__, obj, force)
        return obj

    def get(self, name: str) -> Any:
        """Return the object registered as `name`; KeyError lists the valid names and the nearest."""
        if name not in self._obj_map:
            valid = sorted(self._obj_map)
            # Only double quotes inside: KeyError prints its message with repr().
            raise KeyError(
                f'"{name}" is not in the {self._name} registry; valid names: {", ".join(valid)} '
                f'(did you mean "{nearest_name(name, valid)}"?)'
            )
        return self._obj_map[name]

    def registered_names(self) -> list[str]:
        """Return the registered names in registration order."""
        return list(self._obj_map)

    def __contains__(self, name: str) -> bool:
        return name in self._obj_map
