"""Frozen, documented configuration dataclasses and their loading from YAML / mappings.

One source of truth: each field's default, description and valid range are declared once
with :func:`param`. The ROS adapter turns the same metadata into parameter descriptors, YAML
files only override values, and the core receives frozen dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml


class ConfigError(ValueError):
    """A configuration value or file is wrong; the message says where and how to fix it."""


def param(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
          choices: tuple | None = None, read_only: bool = True) -> Any:
    """Declare a config field with its default, description and valid range.

    ``low``/``high`` are inclusive bounds for numbers; ``choices`` lists allowed values.
    ``read_only`` tells the ROS adapter that changing it at run time would be meaningless.
    """
    meta = {"doc": doc, "low": low, "high": high, "choices": choices, "read_only": read_only}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple default for sequence fields (configs are frozen)")
    return dataclasses.field(default=default, metadata=meta)


def field_doc(cls: type, name: str) -> str:
    """The description declared for field ``name`` of dataclass ``cls``."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}[name]


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, typ: Any, where: str) -> Any:
    origin = typing.get_origin(typ)
    if isinstance(typ, type) and dataclasses.is_dataclass(typ):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping of {typ.__name__} fields, "
                              f"got {type(value).__name__}")
        return from_mapping(typ, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(typ)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _check_range(f: dataclasses.Field, value: Any, where: str) -> None:
    low, high, choices = f.metadata.get("low"), f.metadata.get("high"), f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {list(choices)}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: must be finite, got {value!r}")
        if low is not None and value < low:
            raise ConfigError(f"{where}: {value!r} is below the minimum {low}")
        if high is not None and value > high:
            raise ConfigError(f"{where}: {value!r} is above the maximum {high}")


def from_mapping(cls: type, values: Mapping[str, Any], where: str = "") -> Any:
    """Build dataclass ``cls`` from a (nested) mapping; unknown keys and bad values raise."""
    prefix = f"{where}." if where else ""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown {cls.__name__} field; "
                          f"valid fields are {sorted(names)}")
    types = _field_types(cls)
    kwargs = {}
    for name, value in values.items():
        key = f"{prefix}{name}"
        kwargs[name] = _coerce(value, types[name], key)
        if not dataclasses.is_dataclass(types[name]):
            _check_range(names[name], kwargs[name], key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def flatten(cls_or_obj: Any, prefix: str = "") -> dict[str, tuple[Any, dataclasses.Field]]:
    """Dotted name -> (value or default, field) for every leaf field, nested ones expanded."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    types = _field_types(cls)
    out: dict[str, tuple[Any, dataclasses.Field]] = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        if isinstance(cls_or_obj, type):
            value = (f.default_factory() if f.default_factory is not dataclasses.MISSING
                     else f.default)
        else:
            value = getattr(cls_or_obj, f.name)
        if dataclasses.is_dataclass(types[f.name]):
            out.update(flatten(value if not isinstance(cls_or_obj, type) else types[f.name],
                               f"{name}."))
        else:
            out[name] = (value, f)
    return out


def parse_assignments(items: list[str], example: str = "replay.n_step=3") -> dict[str, Any]:
    """Command-line ``KEY=VALUE`` overrides -> {dotted key: value read as a YAML scalar}."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. {example}")
        values[key] = yaml.safe_load(value)
    return values


def unflatten(dotted: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b": 1} -> {"a": {"b": 1}}."""
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        node = nested
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return nested


def merge_into(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Nested update: mappings in ``extra`` merge into those of ``base``, other values replace."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_into(base[key], value)
        else:
            base[key] = value


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as plain nested dicts/lists, for JSON/YAML next to checkpoints."""
    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple):
            return [conv(x) for x in v]
        return v
    return conv(obj)


def load_yaml(path: str | Path, cls: type, section: str | None = None) -> Any:
    """Load ``cls`` from a YAML file, optionally from a top-level ``section`` of it.

    A ROS params file (``<node>: ros__parameters: {...}``) is accepted as well: pass the node
    name as ``section``; dotted keys are nested.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    where = str(path)
    if section is not None:
        if section not in data:
            raise ConfigError(f"{path}: no section '{section}' (found {sorted(data)})")
        data = data[section]
        where = f"{path}:{section}"
        if isinstance(data, Mapping) and "ros__parameters" in data:
            data = data["ros__parameters"]
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    if any("." in k for k in data):
        data = unflatten(data)
    return from_mapping(cls, data, where)
