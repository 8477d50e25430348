"""Many hosts on one machine: the README's "Many hosts" recipe across network namespaces.

The learner runs in one namespace, two simulator + agent pairs in two others, each with a
private /dev/shm, so weights and experience can only travel over UDP through veth links
and a bridge (test/multihost/netns.py). Discovery is configured exactly as README.md,
"Many hosts", tells users to. The test shows:
- experience from both hosts reaches the learner; the agents act with rising versions;
- the weights cross the links (bytes on the vehicle hosts' interfaces), publish -> first
  action with them measured per version (median, p90: printed, not asserted);
- host 1's link down for LINK_DOWN_S and back: no deadlock, hero0 acts with current
  weights again, the missed steps are counted by the learner, training goes on;
- a host outside the configured domain, or with the default localhost discovery, sees
  nothing and injects nothing.
Slow (several minutes): `make test-slow`; run as root (network namespaces).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import netns  # noqa: E402  (test/multihost/netns.py)

from td3_driving.core.checkpoint import load_checkpoint, read_checkpoint_config  # noqa: E402
from td3_driving.core.td3 import TD3Agent  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1500)]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TINY = ROOT / "test" / "e2e" / "tiny_stack.yaml"
LINK_DOWN_S = 30.0
# An actor head as large as the default pixel actor's weights (a few MB), on tiny images:
# the size is what the transport sees, the images are what the CPU pays for.
BIG_HEAD = {"network.feature_dim": 512, "network.hidden_sizes": [1024, 1024]}


def _params(tmp: Path) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["/learner"]["ros__parameters"].update(BIG_HEAD)
    path = tmp / "multihost.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def recipe_environment(domain: int, peers: list[str]) -> dict[str, str]:
    """The environment README.md, "Many hosts", sets on every host."""
    return {"ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
            "ROS_STATIC_PEERS": ";".join(peers)}


class Records:
    def __init__(self, path: Path):
        self.path = path

    def all(self, kind: str | None = None) -> list[dict]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text().splitlines()
                if line.endswith("}")]
        return [r for r in rows if kind is None or r["kind"] == kind]


def _wait(condition, timeout: float, procs: dict, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        dead = {k: p.returncode for k, p in procs.items() if p.poll() is not None}
        assert not dead, f"exited while waiting for {what}: {dead}"
        if condition():
            return time.monotonic() - start
        time.sleep(1.0)
    pytest.fail(f"timed out ({timeout:.0f} s) waiting for {what}")


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(int(q * len(values)), len(values) - 1)]


@pytest.fixture
def net():
    why = netns.available()
    if why:
        pytest.skip(why)
    n = netns.Net(tag=f"{os.getpid() % 1000:03d}")
    try:
        yield n
    finally:
        n.close()


def test_learner_and_two_vehicle_hosts_over_udp(net, tmp_path):
    hosts = {"learner": 1, "h1": 2, "h2": 3, "out": 4}
    for name, index in hosts.items():
        net.add_host(name, index)
    domain = 30 + os.getpid() % 60
    peers = [net.hosts[h] for h in ("learner", "h1", "h2")]
    env = {**os.environ, **recipe_environment(domain, peers), "OMP_NUM_THREADS": "1"}
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)      # env.sh applies the shipped one
    params = _params(tmp_path)
    envsh = str(ROOT / "env.sh")
    cli = [envsh, "python", "-m", "td3_driving.apps.cli"]
    common = ["--params_file", str(params), "--quiet_nodes", "--progress_every", "30"]
    rec = {name: tmp_path / f"{name}.jsonl" for name in ("learner", "h1", "h2", "out",
                                                           "local")}
    recorder = [envsh, "python", str(HERE / "recorder.py")]
    started: dict[str, subprocess.Popen] = {}
    logs = {}

    def start(label, host, argv, extra_env=None):
        logs[label] = open(tmp_path / f"{label}.log", "w")
        started[label] = subprocess.Popen(net.command(host, argv), env={**env, **(
            extra_env or {})}, stdout=logs[label], stderr=subprocess.STDOUT, cwd=ROOT)

    run_dir = tmp_path / "run"
    try:
        start("learner", "learner", cli + ["learner", "--run_dir", str(run_dir)] + common)
        start("hero0", "h1", cli + ["vehicle", "--role_name", "hero0", "--vehicle_index",
                                    "0"] + common)
        start("hero1", "h2", cli + ["vehicle", "--role_name", "hero1", "--vehicle_index",
                                    "1"] + common)
        start("rec_learner", "learner", recorder + ["learner", str(rec["learner"]), "3600"])
        start("rec_h1", "h1", recorder + ["vehicle", str(rec["h1"]), "3600", "hero0"])
        start("rec_h2", "h2", recorder + ["vehicle", str(rec["h2"]), "3600", "hero1"])
        # outside: another domain; and the package's default (localhost-only discovery)
        start("outsider", "out", recorder + ["outsider", str(rec["out"]), "3600"],
              {"ROS_DOMAIN_ID": str(domain + 1)})
        start("local", "out", recorder + ["outsider", str(rec["local"]), "3600"],
              {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_STATIC_PEERS": ""})
        seen = Records(rec["learner"])

        def versions(agent):
            return {v for r in seen.all("replay") if r["agent"] == agent
                    for v in r["versions"]}

        # 1. both hosts' experience arrives; both act with rising weights versions
        warm = _wait(lambda: all(max(versions(a), default=0) >= 3 for a in ("hero0",
                                                                             "hero1")),
                     600, started, "experience with weights version >= 3 from both hosts")

        # 2. host 1's cable out for LINK_DOWN_S, then back
        before = seen.all("status")[-1]
        last_seq = max(r["first"] + r["n"] for r in seen.all("replay")
                       if r["agent"] == "hero0")
        net.link("h1", up=False)
        time.sleep(LINK_DOWN_S)
        version_at_up = seen.all("status")[-1]["weights_version"]
        net.link("h1", up=True)
        up_at = time.time()
        recovery = _wait(lambda: any(r["agent"] == "hero0" and r["first"] > last_seq and
                                     min(r["versions"]) >= version_at_up
                                     for r in seen.all("replay") if r["t"] > up_at),
                         300, started, "hero0 acting with current weights after the link")
        after_counted = _wait(lambda: seen.all("status")[-1]["steps_dropped"]
                              > before["steps_dropped"], 120, started,
                              "the learner counting the steps it missed")
        step_at = seen.all("status")[-1]["learner_step"]
        _wait(lambda: seen.all("status")[-1]["learner_step"] > step_at + 20, 300, started,
              "training going on after the link came back")
    finally:
        for label in ("hero0", "hero1", "learner"):          # the clis stop in order
            if label in started and started[label].poll() is None:
                started[label].send_signal(signal.SIGTERM)
        for label, proc in started.items():
            if label.startswith("rec_") or label in ("outsider", "local"):
                proc.send_signal(signal.SIGTERM)
        for proc in started.values():
            try:
                proc.wait(200)
            except subprocess.TimeoutExpired:
                proc.kill()
        for f in logs.values():
            f.close()
    codes = {k: p.returncode for k, p in started.items()}
    assert codes["learner"] == 0 and codes["hero0"] == 0 and codes["hero1"] == 0, \
        (codes, (tmp_path / "learner.log").read_text()[-3000:])

    # the weights travelled over the links: each vehicle host received at least a full
    # weights message per version it acted with (no shared memory between namespaces)
    weights = seen.all("weights")
    size = max(w["bytes"] for w in weights)
    latencies = {}
    for host in ("h1", "h2"):
        acts = Records(rec[host]).all("acts_with")
        adopted = {r["version"] for r in acts if r["version"] > 0}
        assert len(adopted) >= 3, acts
        assert net.rx_bytes(host) >= size * len(adopted)
        published = {w["version"]: w["t"] for w in weights}
        latencies[host] = [r["t"] - published[r["version"]] for r in acts
                           if r["version"] in published]
    lat = [x for v in latencies.values() for x in v]

    # nothing crossed the domain or discovery boundary, in either direction
    # (an outsider hears only itself: its own fake messages, its own two subscriptions)
    for name in ("out", "local"):
        out = Records(rec[name])
        heard = [r for r in out.all() if r["kind"] in ("replay", "status", "weights")]
        assert not [r for r in heard if r["kind"] == "status"
                    or r.get("agent", "intruder") != "intruder"
                    or r.get("version", 10**6 + 1) <= 10**6], heard[:5]
        assert out.all("sent") and all(r["matched"] == 2 for r in out.all("sent"))
    assert not [r for r in seen.all("replay") if r["agent"].startswith("intruder")]
    assert all(w["version"] < 10**6 for w in weights)
    # the learner's final checkpoint, after the outage, loads completely
    newest = sorted((run_dir / "checkpoints").glob("ckpt_*.pt"))[-1]
    load_checkpoint(newest, TD3Agent(read_checkpoint_config(newest)))
    final = seen.all("status")[-1]
    # every step that reached the learner host was accepted, except the ones it counted
    # as lost: none refused as malformed (the recorder sees what the learner sees)
    assert final["steps_received"] <= sum(r["n"] for r in seen.all("replay"))
    steps, rates = {}, {}
    for a in ("hero0", "hero1"):
        rows = [r for r in seen.all("replay") if r["agent"] == a]
        steps[a] = sum(r["n"] for r in rows)
        rates[a] = round(steps[a] / max(rows[-1]["t"] - rows[0]["t"], 1e-9), 2)
    report = {
        "weights_bytes": size,
        "weights_publish_to_first_action_s": {
            "median": round(statistics.median(lat), 3), "p90": round(_percentile(lat, 0.9), 3),
            "versions": len(lat)},
        "time_to_versions_3_s": round(warm, 1),
        "replay_steps_seen_on_learner_host": steps,
        "replay_steps_per_s_per_host": rates,
        "link_down_s": LINK_DOWN_S, "recovery_after_link_up_s": round(recovery, 1),
        "dropped_counted_by_learner": final["steps_dropped"] - before["steps_dropped"],
        "seconds_until_counted": round(after_counted, 1),
        "rx_bytes": {h: net.rx_bytes(h) for h in ("h1", "h2")},
    }
    (tmp_path / "report.json").write_text(json.dumps(report, indent=1))
    print("multihost report:", json.dumps(report), file=sys.stderr)
    out_path = os.environ.get("TD3_MULTIHOST_REPORT")   # docs/reliability/multihost.json
    if out_path:
        report["command"] = ("TD3_MULTIHOST_REPORT=docs/reliability/multihost.json ./env.sh "
                             "python -m pytest -m slow test/multihost/test_namespaces.py")
        report["load_average"] = os.getloadavg()
        report["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        Path(out_path).write_text(json.dumps(report, indent=1) + "\n")
