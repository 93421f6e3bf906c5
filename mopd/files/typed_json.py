"""Dataclasses from JSON with every key and type checked, so a record that is not what its class says is
refused where it is read, with the field named, rather than failing later where it is used.

Supported field types: str, int, float (an int is accepted), bool, None, Literal[...], unions, tuples
(`tuple[X, ...]` and fixed `tuple[X, Y]`, stored as JSON lists) and nested dataclasses.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")
_SCALARS = (str, int, float, bool)


def from_json(cls: type[T], value: Any) -> T:
    """`cls` built from the JSON `value`; ValueError naming the keys and values that do not fit."""
    return _convert(value, cls, "")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(path: str) -> str:
    return f"{path} " if path else ""


def _dataclass(value: Any, cls: type, path: str) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{_where(path)}should be an object, got {_show(value)}")
    fields = [field for field in dataclasses.fields(cls) if field.init]
    required = {f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(value))
    unknown = sorted(set(value) - {f.name for f in fields})
    if missing or unknown:
        problems = ([f"lacks the keys {', '.join(missing)}"] if missing else []) + (
            [f"has unknown keys {', '.join(unknown)}"] if unknown else [])
        raise ValueError(_where(path) + " and ".join(problems))
    hints, values, wrong = typing.get_type_hints(cls), {}, []
    for name, item in value.items():
        try:
            values[name] = _convert(item, hints[name], f"{path}.{name}" if path else name)
        except ValueError as err:
            wrong.append(str(err))
    if wrong:
        raise ValueError("; ".join(wrong))
    return cls(**values)


def _tuple(value: Any, args: tuple, path: str) -> tuple:
    if not isinstance(value, list):
        raise ValueError(f"{_where(path)}should be a list, got {_show(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        args = (args[0],) * len(value)
    elif len(value) != len(args):
        raise ValueError(f"{_where(path)}should hold {len(args)} items, got {len(value)}")
    return tuple(_convert(item, arg, f"{path}[{i}]") for i, (item, arg) in enumerate(zip(value, args)))


def _scalar(value: Any, kind: type, path: str) -> Any:
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:  # not isinstance: a bool is no int here
        raise ValueError(f"{_where(path)}should be {kind.__name__}, got {_show(value)}")
    return value


def _convert(value: Any, hint: Any, path: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _dataclass(value, hint, path)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        if not any(type(value) is type(arg) and value == arg for arg in args):
            raise ValueError(f"{_where(path)}should be one of {', '.join(map(repr, args))}, got {_show(value)}")
        return value
    if origin in (Union, types.UnionType):
        for arg in args:
            try:
                return _convert(value, arg, path)
            except ValueError:
                continue
        names = " or ".join("null" if arg is type(None) else getattr(arg, "__name__", str(arg)) for arg in args)
        raise ValueError(f"{_where(path)}should be {names}, got {_show(value)}")
    if origin is tuple:
        return _tuple(value, args, path)
    if hint is type(None):
        if value is not None:
            raise ValueError(f"{_where(path)}should be null, got {_show(value)}")
        return None
    if hint in _SCALARS:
        return _scalar(value, hint, path)
    raise TypeError(f"from_json cannot build {hint!r} (at {path or 'the top'})")  # a class this module does not support
