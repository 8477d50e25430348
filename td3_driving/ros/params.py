"""Declare ROS parameters from config dataclasses and read them back as frozen configs.

The dataclass field (default, description, range) is the one source of truth; this module
turns it into a ParameterDescriptor so that `ros2 param describe` shows the same text.
"""

from __future__ import annotations

from typing import Any

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
