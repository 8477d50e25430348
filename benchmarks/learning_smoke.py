"""Learning smoke run: CarRacing through the full ROS stack, then score the policy.

    ./env.sh python -m benchmarks.learning_smoke [--frames 100000] [--minutes 45]
        [--seed 0] [--encoder_mode shared|separate] [--num_agents 1] [--record]

Trains with `python -m td3_driving.apps.cli train` (the nodes of `make train`) until the wall
time or the frame budget (CarRacing physics frames, 4 per agent step) is spent, whichever
comes first, then evaluates the exported policy and a random policy with the benchmark
protocol (td3_driving.apps.evaluate: 10 fixed tracks, full episodes, no noise) and prints the
native scores side by side. Writes <run_dir>/smoke.json, and with --record the benchmark
record docs/benchmarks/results/learning-ros-<encoder_mode>-s<seed>.json (final score and
the training curve: route completion of every training episode, from TensorBoard) that
benchmarks/make_benchmarks_doc.py reads. Not a test: the default 100k frames took 31.5
minutes on 2 cores (2026-11-21, shared with other work): native score 904.2 ± 6.6 learned,
-35.8 ± 20.6 random (docs/benchmarks.md).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import RESULTS, learning_machine, params_file, private_ros_domain
from td3_driving.apps.evaluate import evaluate
from td3_driving.bringup.stack import config_file
from td3_driving.sim.config import PHYSICS_DT


def frames_per_step(params: dict) -> int:
    """CarRacing physics frames per agent step under a train.yaml's sim_bridge block."""
    dt = params.get("/**/sim_bridge", {}).get("ros__parameters", {}).get(
        "fixed_delta_seconds", 0.08)
    return round(dt / PHYSICS_DT)


def params_with(encoder_mode: str | None, out_dir: Path) -> tuple[str, int]:
    """config/train.yaml, with the learner's encoder_mode replaced if one is given."""
    base = Path(config_file("train.yaml"))
    fps = frames_per_step(yaml.safe_load(base.read_text()))
    if encoder_mode is None:
        return str(base), fps
    return params_file(out_dir, {"network.encoder_mode": encoder_mode}), fps


def training_curve(run_dir: Path, fps: int) -> list[list[float]]:
    """[frames, native score (None: agents do not see it), route completion] per episode."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    if "charts/route_completion" not in events.Tags()["scalars"]:
        return []
    return [[e.step * fps, None, e.value]
            for e in events.Scalars("charts/route_completion")]


def write_record(summary: dict, run_dir: Path, args: str) -> Path:
    results, learned = summary["learner"], summary["learned"]
    record = {
        "section": "learning", "row": f"ros-{summary['encoder_mode']}", "seed": summary["seed"],
        "frames": summary["frames"], "env_steps": results["steps_received"],
        "train_wall_s": round(summary["train_wall_s"], 1), "updates": results["updates"],
        "update_to_data": results["update_to_data"], "status": results["stop_reason"],
        "device": "cpu", "curve": training_curve(run_dir, summary["frames_per_step"]),
        "evals": [], "final": learned, "random": summary["random"],
        "machine": learning_machine(),
        "command": f"./env.sh python -m benchmarks.learning_smoke {args}"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"learning-ros-{summary['encoder_mode']}-s{summary['seed']}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"benchmark record: {path}")
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=45.0, help="training wall time limit")
    p.add_argument("--frames", type=int, default=100_000,
                   help="training budget in CarRacing frames (0: wall time only)")
    p.add_argument("--seed", type=int, default=0, help="training seed (tracks, networks)")
    p.add_argument("--encoder_mode", choices=("shared", "separate"), default=None,
                   help="override the learner's network.encoder_mode (default: train.yaml)")
    p.add_argument("--num_agents", type=int, default=1)
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    p.add_argument("--no_random", action="store_true", help="skip the random-policy row")
    p.add_argument("--run_dir", default=None, help="default: runs/smoke-<time>")
    p.add_argument("--record", action="store_true",
                   help="also write the benchmark record into docs/benchmarks/results/")
    ns = p.parse_args()
    # a domain of its own: two runs at once (or a `make train` beside it) must not meet
    print(f"ROS_DOMAIN_ID={private_ros_domain()}", flush=True)
    run_dir = Path(ns.run_dir or time.strftime("runs/smoke-%Y%m%d-%H%M%S"))
    tmp = Path(tempfile.mkdtemp(prefix="td3-smoke-"))
    params_file, fps = params_with(ns.encoder_mode, tmp)
    cmd = [sys.executable, "-m", "td3_driving.apps.cli", "train", "--run_dir", str(run_dir),
           "--num_agents", str(ns.num_agents), "--duration", str(ns.minutes * 60),
           "--seed", str(ns.seed), "--params_file", params_file,
           "--quiet_nodes", "--progress_every", "60"]
    if ns.frames:
        cmd += ["--max_steps", str(-(-ns.frames // fps))]
    print("training:", " ".join(cmd), flush=True)
    started = time.monotonic()
    if subprocess.run(cmd).returncode != 0:
        print("training failed", file=sys.stderr)
        return 1
    train_wall = time.monotonic() - started
    results = json.loads((run_dir / "results.json").read_text())
    learned = evaluate(str(run_dir / "policy.safetensors"), ns.episodes)
    random = None if ns.no_random else evaluate(None, ns.episodes)
    summary = {"run_dir": str(run_dir), "seed": ns.seed,
               "encoder_mode": results["config"]["learner"]["network"]["encoder_mode"],
               "frames_per_step": fps, "frames": results["steps_received"] * fps,
               "train_wall_s": train_wall, "learner": results, "learned": learned,
               "random": random}
    (run_dir / "smoke.json").write_text(json.dumps(summary, indent=2))
    if ns.record:
        write_record(summary, run_dir, " ".join(sys.argv[1:]))
    print(f"\ntrained {summary['frames']:,} frames ({results['steps_received']:,} steps, "
          f"{results['updates']:,} updates) in {train_wall / 60:.1f} min")
    print(f"learned policy: native score {learned['mean']:.1f} ± {learned['std']:.1f}")
    if random is not None:
        print(f"random policy:  native score {random['mean']:.1f} ± {random['std']:.1f}")
    print(f"(10 tracks from seed {learned['seeds'][0]}; details in {run_dir}/smoke.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
