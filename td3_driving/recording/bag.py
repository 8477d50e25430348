"""ROS 2 bags in the rosbag2 layout (a folder with metadata.yaml and one .mcap file).

Messages arrive already serialized (CDR, as rclpy serializes and as ``ros2 bag record``
stores them); the rosbags typestore only supplies each type's definition for the MCAP
schema and metadata.yaml, so ``ros2 bag info/play`` on a ROS install and Foxglove read the
result. Definitions of our own and carla_msgs types come from the .msg files of this
repository (or of an installed share/), so there is one copy of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

_ROOT = Path(__file__).resolve().parents[2]
# package -> folders that may hold its msg/*.msg (source tree first, then installs)
_MSG_PACKAGES = {"td3_driving": [_ROOT / "msg"],
                 "carla_msgs": [_ROOT / "interfaces" / "carla_msgs" / "msg"]}

_NO_TIME = QosTime(0, 0)
# The bridge's QoS (docs/carla_bridge.md): reliable, keep last 10, volatile; waypoints are
# latched (transient local, depth 1) so that `ros2 bag play` hands them to late joiners.
QOS_DEFAULT = Qos(QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE,
                  _NO_TIME, _NO_TIME, QosLiveliness.AUTOMATIC, _NO_TIME, False)
QOS_LATCHED = QOS_DEFAULT._replace(depth=1, durability=QosDurability.TRANSIENT_LOCAL)


class BagError(ValueError):
    """A bag cannot be written or read (what, where, what to do)."""


def _msg_folders(package: str) -> list[Path]:
    folders = list(_MSG_PACKAGES.get(package, []))
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            folders.append(Path(prefix) / "share" / package / "msg")
    return folders


def typestore():
    """ROS 2 Kilted's standard types plus td3_driving and carla_msgs messages."""
    store = get_typestore(Stores.ROS2_KILTED)
    types: dict = {}
    for package in _MSG_PACKAGES:
        folder = next((f for f in _msg_folders(package) if f.is_dir()), None)
        if folder is None:
            raise BagError(f"no msg/ folder of {package} found (looked in "
                           f"{', '.join(map(str, _msg_folders(package)))}); run from the "
                           "source tree or source the colcon install")
        for path in sorted(folder.glob("*.msg")):
            types.update(get_types_from_msg(path.read_text(), f"{package}/msg/{path.stem}"))
    store.register(types)
    return store


class BagWriter:
    """One bag: ``write(topic, msgtype, stamp_ns, cdr_bytes)``; close() writes metadata.yaml.

    ``msgtype`` is the ROS name, ``sensor_msgs/msg/Image``. Connections open on first use.
    """

    def __init__(self, path: str | Path, store=None, latched: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} already exists; rosbag2 writes a new folder per bag: "
                           "choose another path or remove the old recording")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.store = store or typestore()
        self.latched = set(latched)
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes) -> None:
        conn = self._connections.get(topic)
        if conn is None:
            if msgtype not in self.store.fielddefs:
                raise BagError(f"{self.path}: message type {msgtype} of {topic} is unknown to "
                               "the bag's typestore")
            qos = QOS_LATCHED if topic in self.latched else QOS_DEFAULT
            conn = self._writer.add_connection(topic, msgtype, typestore=self.store,
                                               offered_qos_profiles=[qos])
            self._connections[topic] = conn
        elif conn.msgtype != msgtype:
            raise BagError(f"{self.path}: {topic} was recorded as {conn.msgtype}, now "
                           f"{msgtype}")
        self._writer.write(conn, int(stamp_ns), bytes(data))
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def set_custom_data(self, key: str, value: str) -> None:
        """A string in metadata.yaml's custom_data (``ros2 bag info`` shows it)."""
        self._writer.set_custom_data(key, value)

    def close(self) -> None:
        self._writer.close()

    def close_incomplete(self) -> Path:
        """Close a bag whose episode did not end (a stop): kept, renamed ``<name>_incomplete``
        so that no one takes it for a whole episode. Returns the new path.
        """
        self.set_custom_data("incomplete", "true")
        self.close()
        renamed = self.path.with_name(self.path.name + "_incomplete")
        self.path.rename(renamed)   # metadata.yaml names its .mcap relative to the folder
        self.path = renamed
        return renamed

    def __enter__(self) -> "BagWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_bag(path: str | Path, topics: tuple[str, ...] | None = None,
             store=None) -> Iterator[tuple[str, str, int, Any]]:
    """(topic, msgtype, timestamp_ns, message) of a bag folder, in time order."""
    store = store or typestore()
    try:
        reader = Reader(Path(path))
        reader.open()
    except Exception as exc:   # rosbags raises its own error types for every bad input
        raise BagError(f"{path}: not a readable rosbag2 folder ({exc})") from None
    try:
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        for conn, stamp, raw in reader.messages(connections=conns):
            yield conn.topic, conn.msgtype, stamp, store.deserialize_cdr(raw, conn.msgtype)
    finally:
        reader.close()


def bag_topics(path: str | Path) -> dict[str, tuple[str, int]]:
    """{topic: (msgtype, message count)} from the bag's metadata."""
    reader = Reader(Path(path))
    reader.open()
    try:
        return {t: (info.msgtype, info.msgcount) for t, info in reader.topics.items()}
    finally:
        reader.close()


def custom_data(path: str | Path) -> dict[str, str]:
    """metadata.yaml's custom_data of a bag."""
    meta = Path(path) / "metadata.yaml"
    try:
        info = yaml.safe_load(meta.read_text())["rosbag2_bagfile_information"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise BagError(f"{meta}: not a rosbag2 metadata file ({exc})") from None
    return dict(info.get("custom_data") or {})
