"""Hosts on one machine: network namespaces joined by veth links to a bridge.

The bridge lives in a namespace of its own, so nothing is added to the machine's own
network: each "host" namespace has one interface (eth0) with one address on a private
/24, and a process started in it gets a private /dev/shm too (a mount namespace), so
that, as between real machines, no shared memory can carry DDS traffic between hosts.
Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN). Everything is removed by ``close()``.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def available() -> str:
    """'' if namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root (ip netns add)"
    probe = f"td3probe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"cannot create network namespaces: {exc}"
    _ip("netns", "del", probe)
    return ""


@dataclass
class Net:
    """A switch namespace with a bridge and one namespace per host."""

    tag: str                                   # short unique tag: names stay < 16 chars
    subnet: str = "10.231.7"
    hosts: dict[str, str] = field(default_factory=dict)     # name -> address
    _ports: dict[str, str] = field(default_factory=dict)    # name -> bridge-side veth
    _holders: dict[str, subprocess.Popen] = field(default_factory=dict)  # mount namespaces

    @property
    def switch(self) -> str:
        return f"td3{self.tag}sw"

    def ns(self, name: str) -> str:
        return f"td3{self.tag}{name}"

    def __post_init__(self) -> None:
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        _ip("-n", self.switch, "link", "set", "lo", "up")

    def add_host(self, name: str, index: int) -> str:
        """A host namespace on the bridge with address <subnet>.<index>; returns it."""
        ns, port = self.ns(name), f"p{index}"
        _ip("netns", "add", ns)
        _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns)
        _ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        address = f"{self.subnet}.{index}"
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        # multicast discovery (239.255.0.1) leaves through eth0
        _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
        self.hosts[name], self._ports[name] = address, port
        # One mount namespace per host with its own /dev/shm, held by a sleeping process:
        # every process of the host joins it (processes of one host share memory, as on
        # a real machine; Fast DDS silently loses shared-memory samples between processes
        # that see the same addresses but different /dev/shm).
        self._holders[name] = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
             "sh", "-c", "mount -t tmpfs -o size=1g tmpfs /dev/shm && exec sleep infinity"])
        comm = f"/proc/{self._holders[name].pid}/comm"
        deadline = time.monotonic() + 10.0
        while open(comm).read().strip() != "sleep":       # mounted once it sleeps
            if time.monotonic() > deadline or self._holders[name].poll() is not None:
                raise RuntimeError(f"host {name}: could not mount a private /dev/shm")
            time.sleep(0.05)
        return address

    def link(self, name: str, up: bool) -> None:
        """Take a host's cable out of the switch (or put it back)."""
        _ip("-n", self.switch, "link", "set", self._ports[name], "up" if up else "down")

    def rx_bytes(self, name: str) -> int:
        """Bytes a host received on its network interface."""
        out = subprocess.run(["ip", "netns", "exec", self.ns(name), "cat",
                              "/sys/class/net/eth0/statistics/rx_bytes"],
                             check=True, capture_output=True, text=True).stdout
        return int(out)

    def command(self, name: str, argv: list[str]) -> list[str]:
        """``argv`` run inside host ``name``: its network and its /dev/shm."""
        holder = self._holders[name].pid
        return ["nsenter", "-t", str(holder), "--mount", "--net", "--", *argv]

    def close(self) -> None:
        for holder in self._holders.values():
            holder.kill()
            holder.wait()
        self._holders.clear()
        for name in list(self.hosts):
            subprocess.run(["ip", "netns", "del", self.ns(name)], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True)
        self.hosts.clear()
