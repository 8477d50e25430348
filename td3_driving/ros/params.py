"""Declare ROS parameters from config dataclasses and read them back as frozen configs.

The dataclass field (default, description, range) is the one source of truth; this module
turns it into a ParameterDescriptor so that `ros2 param describe` shows the same text.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node

from td3_driving.core.config_base import ConfigError, flatten, from_mapping, unflatten


def _descriptor(value: Any, f) -> ParameterDescriptor:
    meta = f.metadata
    doc = meta.get("doc", "")
    if meta.get("choices"):
        doc = f"{doc} One of: {', '.join(map(str, meta['choices']))}."
    desc = ParameterDescriptor(description=doc, read_only=bool(meta.get("read_only", True)))
    low, high = meta.get("low"), meta.get("high")
    if isinstance(value, bool) or (low is None and high is None):
        return desc
    if isinstance(value, int):
        desc.integer_range = [IntegerRange(
            from_value=int(low) if low is not None else -(2**63),
            to_value=int(high) if high is not None else 2**63 - 1, step=0)]
    elif isinstance(value, float):
        desc.floating_point_range = [FloatingPointRange(
            from_value=float(low) if low is not None else -1e308,
            to_value=float(high) if high is not None else 1e308, step=0.0)]
    return desc


def _ros_value(value: Any) -> Any:
    # ROS parameters have no tuple type; sequences travel as lists.
    return list(value) if isinstance(value, tuple) else value


def declare_config(node: Node, cls: type, prefix: str = "", defaults: Any = None) -> Any:
    """Declare every field of ``cls`` as a parameter (dotted names for nested configs).

    Returns the frozen config built from the parameters' values (defaults, overridden by a
    params file or launch arguments). A bad value raises ConfigError naming the parameter.
    ``defaults``, an instance of ``cls``, replaces the class defaults where a task has its
    own (e.g. the driving observation's vector size).
    """
    pre = f"{prefix}." if prefix else ""
    values = {}
    for name, (default, f) in flatten(cls if defaults is None else defaults).items():
        full = f"{pre}{name}"
        try:
            node.declare_parameter(full, _ros_value(default), _descriptor(default, f))
        except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
            raise ConfigError(f"parameter {node.get_name()}:{full}: {exc}") from None
        values[name] = node.get_parameter(full).value
    try:
        return from_mapping(cls, unflatten(values), f"{node.get_name()}:{prefix}".rstrip(":"))
    except ConfigError as exc:
        raise ConfigError(f"parameter {exc}") from None


def _pattern_regex(pattern: str) -> re.Pattern:
    """Rcl's node-name patterns in params files: ``**`` any namespaces, ``*`` one token."""
    parts = ["(?:/[^/]+)*" if token == "**" else "/" + re.escape(token).replace(r"\*", "[^/]*")
             for token in pattern.strip("/").split("/")]
    return re.compile("".join(parts))


def _is_global(pattern: str) -> bool:
    """A block for every node (``/**``, ``/**/*``): its keys belong to no one node."""
    return pattern.rstrip("/").rsplit("/", 1)[-1] in ("*", "**")


def override_sources(argv: list[str], fqn: str) -> dict[str, list[str]]:
    """Where each parameter override of node ``fqn`` comes from: ``-p`` arguments and the
    params-file blocks that match it ("global" when the block names no node).
    """
    sources: dict[str, list[str]] = {}
    args = list(argv)
    for i, arg in enumerate(args[:-1]):
        value = args[i + 1]
        if arg in ("-p", "--param") and ":=" in value:
            sources.setdefault(value.split(":=", 1)[0], []).append(f"argument -p {value}")
        elif arg == "--params-file":
            try:
                data = yaml.safe_load(Path(value).read_text()) or {}
            except (OSError, yaml.YAMLError):
                continue          # rcl has already refused a file it cannot read
            for pattern, block in data.items() if isinstance(data, dict) else ():
                params = (block or {}).get("ros__parameters") if isinstance(block, dict) \
                    else None
                if not isinstance(params, dict) or not _pattern_regex(str(pattern)) \
                        .fullmatch(fqn):
                    continue
                where = f"{value}, block {pattern}" + (" (global)" if _is_global(
                    str(pattern)) else "")
                for key in flatten_keys(params):
                    sources.setdefault(key, []).append(where)
    return sources


def flatten_keys(params: dict, prefix: str = "") -> list[str]:
    """Dotted parameter names of a ``ros__parameters`` mapping (nested maps allowed)."""
    keys = []
    for k, v in params.items():
        name = f"{prefix}{k}"
        keys += flatten_keys(v, name + ".") if isinstance(v, dict) else [name]
    return keys


def check_overrides(node: Node, argv: list[str]) -> None:
    """Raise ConfigError for every override (params file or ``-p``) ``node`` did not declare.

    rclpy silently ignores a value for an undeclared name, so a misspelled key would run
    with the default. A key in a block for every node (``/**``) is checked by the nodes
    that declare parameters of its group (``td3.`` for ``td3.batch_sise``): that block
    legitimately holds keys for other nodes.
    """
    declared = sorted(node._parameters)
    groups = {n.split(".", 1)[0] for n in declared if "." in n}
    fqn = node.get_fully_qualified_name()
    sources = override_sources(argv, fqn)
    errors = []
    for key in sorted(set(node._parameter_overrides) - set(declared)):
        where = sources.get(key, ["parameter_overrides"])
        if all(w.endswith("(global)") for w in where) and key.split(".", 1)[0] not in groups:
            continue                      # another node's key in a block for all nodes
        near = difflib.get_close_matches(key, declared, n=1, cutoff=0.0)
        errors.append(f"'{key}' ({'; '.join(where)}) is not a parameter of node {fqn}; "
                      f"nearest declared name: '{near[0] if near else '-'}'")
    if errors:
        raise ConfigError("unknown parameter" + ("s" if len(errors) > 1 else "") + ": "
                          + " | ".join(errors) + f". `ros2 param list {fqn}` lists them all.")
