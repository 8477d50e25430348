"""Learning run: CarRacing through the full ROS stack, then score the policy.

    ./env.sh python -m benchmarks.learning_smoke [--frames 100000] [--minutes 45]
        [--seed 0] [--preset route|camera|state] [--encoder_mode shared|separate]
        [--num_agents 1] [--eval_every_frames 10000] [--episodes 100]
        [--resumable | --resume] [--record] [--set KEY=VALUE --tag TAG] [--evaluate_only]

Trains with `python -m td3_driving.apps.cli train` (the nodes of `make train`) until the wall
time or the frame budget (CarRacing physics frames, 4 per agent step) is spent, whichever
comes first, then evaluates the exported policy and a random policy with the benchmark
protocol (td3_driving.apps.evaluate: fixed tracks, episodes ending where the simulator's do, no
noise) and prints the native scores side by side. The learner checkpoints every
--eval_every_frames; each checkpoint is then evaluated on 10 tracks
(benchmarks/learning_evals.py): the evaluation curve, and the frames and wall-clock minutes
until the score first reached 900. A budget spread over several sittings starts with
--resumable (the replay buffer is saved with every checkpoint) and goes on with --resume
(the run in --run_dir continues from its newest checkpoint and buffer); the frame budget
and the wall time add up across the sittings.
Every run also reports what it cost (the starter's <run_dir>/usage.json,
td3_driving/bringup/usage.py): the CPU ms per agent step of each node process (CPU time
from /proc, from the first received step to the end), the learner's updates/s while
training next to the same learner's rate alone in this process right after the run
(benchmarks/learner_throughput.py), the wall time per 100k frames and the load average;
for runs of several sittings, the last sitting's. ``--no_eval`` skips every evaluation:
a short run that prints only these figures (e.g. ``--frames 10000 --no_eval``).
Writes <run_dir>/smoke.json, and with --record the benchmark record
docs/benchmarks/results/learning-ros-<preset>[-<tag>]-s<seed>[-<frames>k].json that
benchmarks/make_benchmarks_doc.py reads. ``--set KEY=VALUE`` overrides a learner parameter
of config/train.yaml (a tuning experiment, e.g. ``--set replay.n_step=3``); such a variant
is its own row, named by ``--tag``, so that it never replaces the default's records.
``--evaluate_only`` trains nothing: it finishes a run in --run_dir whose training ended but
whose evaluation did not (a killed process, a machine that went away), with the same
arguments as the training command plus this flag. A run that dies (its training command
fails, or leaves no policy, or its evaluation fails) still writes its record with --record:
status "died", why, and how far it got, but no score. Not a test: docs/benchmarks.md lists
what each run took.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import RESULTS, private_ros_domain, variant_problem
from benchmarks.learner_throughput import standalone_updates_per_s
from benchmarks.learning_evals import (
    Sittings,
    checkpoint_learner_params,
    evaluate_checkpoints,
)
from td3_driving.apps.evaluate import evaluate
from td3_driving.apps.facts import machine_facts
from td3_driving.bringup.stack import config_file
from td3_driving.bringup.usage import USAGE_FILE, describe
from td3_driving.core.config_base import parse_assignments
from td3_driving.sim.config import PHYSICS_DT
from td3_driving.sim.driving_env import HEADLINE_EPISODES
from td3_driving.task.driving import DEFAULT_PRESET


def frames_per_step(params: dict) -> int:
    """CarRacing physics frames per agent step under a train.yaml's sim_bridge block."""
    dt = params.get("/**/sim_bridge", {}).get("ros__parameters", {}).get(
        "fixed_delta_seconds", 0.08)
    return round(dt / PHYSICS_DT)


def params_with(preset: str | None, encoder_mode: str | None, learner_extra: dict,
                out_dir: Path) -> tuple[str, int, dict]:
    """config/train.yaml with the observation preset (agents and learner alike), the
    learner's encoder_mode and ``learner_extra`` applied; (path, frames per step, params).
    """
    params = yaml.safe_load(Path(config_file("train.yaml")).read_text())
    fps = frames_per_step(params)
    learner = params["/learner"]["ros__parameters"]
    learner.update(learner_extra)
    if encoder_mode is not None:
        learner["network.encoder_mode"] = encoder_mode
    if preset is not None:   # one parameter, the same on both sides (else refused)
        learner["observation.preset"] = preset
        params["/**/agent"]["ros__parameters"]["observation.preset"] = preset
    path = out_dir / "train.yaml"
    path.write_text(yaml.safe_dump(params))
    return str(path), fps, params


def training_curve(run_dir: Path, fps: int) -> list[list[float]]:
    """[frames, native score (None: agents do not see it), route completion] per episode."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    if "charts/route_completion" not in events.Tags()["scalars"]:
        return []
    return [[e.step * fps, None, e.value]
            for e in events.Scalars("charts/route_completion")]


def row_name(summary: dict) -> str:
    """ros-<preset>, or ros-<preset>-<tag> for a variant with learner overrides."""
    tag = summary.get("tag")
    return f"ros-{summary['preset']}" + (f"-{tag}" if tag else "")


def record_name(summary: dict) -> str:
    """<row>-s<seed>, with -<budget>k for a budget other than 100k frames."""
    budget = summary["budget_frames"]
    suffix = "" if budget == 100_000 else f"-{budget // 1000}k"
    return f"{row_name(summary)}-s{summary['seed']}{suffix}"


def run_cost(run_dir: Path, results: dict, frames: int, train_wall_s: float) -> dict:
    """What the run cost: the starter's usage report, wall time per 100k frames, and the
    learner's in-stack update rate next to its standalone rate (measured now).
    """
    path = run_dir / USAGE_FILE
    usage = json.loads(path.read_text()) if path.is_file() else None
    standalone = standalone_updates_per_s(results["config"]["learner"])
    training = (usage or {}).get("learner_training")
    in_stack = training["updates_per_s"] if training else None
    return {"usage": usage,
            "wall_s_per_100k_frames": round(train_wall_s * 100_000 / frames, 1)
            if frames else None,
            "learner_updates_per_s_in_stack": in_stack,
            "learner_updates_per_s_standalone": round(standalone, 3),
            # (torch_threads 0, fitted while running, is measured alone on one thread)
            "learner_standalone_threads": max(1, results["config"]["learner"]["torch_threads"]),
            "learner_in_stack_vs_standalone": round(in_stack / standalone, 3)
            if in_stack is not None else None}


def trained_preset(results: dict) -> str:
    """The observation preset a learner's results.json was trained with."""
    return results["config"]["learner"]["observation"].get("preset") or DEFAULT_PRESET


def finished_run(run_dir: Path, preset: str | None, overrides: dict) -> dict:
    """The learner's results.json of a run whose training ended, checked against the
    arguments of the command that is to finish it; ValueError says what does not match.
    """
    path = run_dir / "results.json"
    if not path.is_file() or not (run_dir / "policy.safetensors").is_file():
        raise ValueError(f"{run_dir} holds no finished training (results.json and "
                         "policy.safetensors are written when it ends); train it first, "
                         "or --resume it")
    results = json.loads(path.read_text())
    learner = results["config"]["learner"]
    trained = trained_preset(results)
    if preset is not None and preset != trained:
        raise ValueError(f"{run_dir} was trained with --preset {trained}, not {preset}")
    for key, value in overrides.items():
        node: object = learner
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None and node != value:
            raise ValueError(f"{run_dir} was trained with {key}={node!r}, not {value!r}; "
                             "give the --set of its training command")
    return results


def describe_cost(cost: dict) -> str:
    lines = []
    if cost["wall_s_per_100k_frames"] is not None:
        lines.append(f"wall time per 100k frames: {cost['wall_s_per_100k_frames'] / 60:.1f} "
                     "min")
    lines.append(describe(cost["usage"]) if cost["usage"] else
                 "no usage report (the starter wrote no usage.json)")
    ratio = cost["learner_in_stack_vs_standalone"]
    lines.append(f"learner updates/s: {cost['learner_updates_per_s_in_stack'] or 0:.2f} in the "
                 f"stack, {cost['learner_updates_per_s_standalone']:.2f} alone"
                 + (f" ({100 * ratio:.0f} %)" if ratio is not None else " (never trained)"))
    return "\n".join(lines)


def write_record(summary: dict, run_dir: Path, args: str, died: str | None = None) -> Path:
    """The run's benchmark record; a run that ``died`` (why) is a row too, with no score."""
    results = summary.get("learner") or {}
    fps = summary["frames_per_step"]
    record = {
        "section": "learning", "row": row_name(summary), "seed": summary["seed"],
        "preset": summary["preset"], "encoder_mode": summary.get("encoder_mode"),
        "frames": summary.get("frames"), "env_steps": results.get("steps_received"),
        "train_wall_s": round(summary["train_wall_s"], 1), "updates": results.get("updates"),
        "update_to_data": results.get("update_to_data"),
        "status": "died" if died else results["stop_reason"],
        "sittings": summary["sittings"], "learner_overrides": summary.get("overrides", {}),
        "device": "cpu",
        "curve": training_curve(run_dir, fps) if (run_dir / "tb").is_dir() else [],
        "evals": summary.get("evals", []), "final": None if died else summary["learned"],
        "random": summary.get("random"), "cost": summary.get("cost"),
        "machine": machine_facts(),
        "command": f"./env.sh python -m benchmarks.learning_smoke {args}"}
    if died:
        record["failure"] = died
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"learning-{record_name(summary)}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"benchmark record: {path}")
    return path


def training_failure(run_dir: Path, code: int) -> str | None:
    """Why a training run left nothing to evaluate (None: it did not fail)."""
    path = run_dir / "results.json"
    stop = json.loads(path.read_text()).get("stop_reason") if path.is_file() else None
    if code != 0:
        return f"the training command exited with code {code}" + (
            f" (the learner's stop reason: {stop})" if stop else " before the learner "
            "wrote its results")
    if not (run_dir / "policy.safetensors").is_file():
        return f"training ended ({stop or 'no results.json'}) without a policy to evaluate"
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=45.0,
                   help="training wall time limit of this sitting")
    p.add_argument("--frames", type=int, default=100_000,
                   help="training budget in CarRacing frames, all sittings together "
                        "(0: wall time only)")
    p.add_argument("--seed", type=int, default=0, help="training seed (tracks, networks)")
    p.add_argument("--preset", choices=("route", "camera", "state"), default=None,
                   help="observation.preset of agents and learner (default: train.yaml's)")
    p.add_argument("--encoder_mode", choices=("shared", "separate"), default=None,
                   help="override the learner's network.encoder_mode (default: train.yaml)")
    p.add_argument("--num_agents", type=int, default=1)
    p.add_argument("--episodes", type=int, default=HEADLINE_EPISODES,
                   help="evaluation episodes of the final score")
    p.add_argument("--eval_every_frames", type=int, default=10_000,
                   help="a checkpoint, evaluated on 10 tracks after training, every this "
                        "many frames (0: none)")
    p.add_argument("--no_random", action="store_true", help="skip the random-policy row")
    p.add_argument("--run_dir", default=None, help="default: runs/smoke-<time>")
    p.add_argument("--resumable", action="store_true",
                   help="save the replay buffer with every checkpoint, so that a later "
                        "--resume continues exactly (about 0.7 GB at capacity 100k)")
    p.add_argument("--resume", action="store_true",
                   help="continue --run_dir from its newest checkpoint and replay buffer")
    p.add_argument("--record", action="store_true",
                   help="also write the benchmark record into docs/benchmarks/results/")
    p.add_argument("--no_eval", action="store_true",
                   help="no evaluation at all: train, then print what the run cost")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a learner parameter of config/train.yaml, e.g. "
                        "replay.n_step=3 (repeatable); needs --tag")
    p.add_argument("--tag", default="",
                   help="the variant's name: its row is ros-<preset>-<tag>")
    p.add_argument("--evaluate_only", action="store_true",
                   help="train nothing: evaluate the finished training run in --run_dir "
                        "(same arguments as its training command)")
    ns = p.parse_args()
    try:
        overrides = parse_assignments(ns.set)
    except ValueError as e:
        p.error(str(e))
    problem = variant_problem(ns.tag, bool(overrides))
    if problem:
        p.error(problem)
    if ns.no_eval and ns.record:
        p.error("--record needs the evaluations (a record without a score is no row)")
    if ns.resume and not ns.run_dir:
        p.error("--resume needs the --run_dir of the run to continue")
    if ns.evaluate_only and (ns.resume or ns.no_eval or not ns.run_dir):
        p.error("--evaluate_only needs the --run_dir of a finished training run, and "
                "neither --resume nor --no_eval")
    # a domain of its own: two runs at once (or a `make train` beside it) must not meet
    print(f"ROS_DOMAIN_ID={private_ros_domain()}", flush=True)
    run_dir = Path(ns.run_dir or time.strftime("runs/smoke-%Y%m%d-%H%M%S"))
    tmp = Path(tempfile.mkdtemp(prefix="td3-smoke-"))
    base = yaml.safe_load(Path(config_file("train.yaml")).read_text())
    fps = frames_per_step(base)
    utd = base["/learner"]["ros__parameters"].get("td3.update_to_data", 0.25)
    extra = checkpoint_learner_params(ns.eval_every_frames // fps, utd) \
        if ns.eval_every_frames and not ns.no_eval else {}
    if ns.resumable or ns.resume:   # a run of several sittings: exact resumes
        extra["save_buffer_in_checkpoint"] = True
    extra.update(overrides)
    params_file, fps, params = params_with(ns.preset, ns.encoder_mode, extra, tmp)
    cmd = [sys.executable, "-m", "td3_driving.apps.cli", "train", "--run_dir", str(run_dir),
           "--num_agents", str(ns.num_agents), "--duration", str(ns.minutes * 60),
           "--seed", str(ns.seed), "--params_file", params_file,
           "--quiet_nodes", "--progress_every", "60"]
    if ns.resume:
        cmd += ["--resume", "true"]
    if ns.frames:
        cmd += ["--max_steps", str(-(-ns.frames // fps))]
    sittings = Sittings(run_dir)
    args = " ".join(sys.argv[1:])
    summary: dict = {"run_dir": str(run_dir), "seed": ns.seed,
                     "preset": ns.preset or DEFAULT_PRESET, "frames_per_step": fps,
                     "budget_frames": ns.frames, "tag": ns.tag, "overrides": overrides}
    if ns.evaluate_only:
        try:
            results = finished_run(run_dir, ns.preset, overrides)
        except ValueError as e:
            print(f"--evaluate_only: {e}", file=sys.stderr)
            return 2
    else:
        print("training:", " ".join(cmd), flush=True)
        sittings.begin()
        started = time.monotonic()
        code = subprocess.run(cmd).returncode
        sittings.end(time.monotonic() - started)
        why = training_failure(run_dir, code)
        if why is not None:
            print(f"training failed: {why}", file=sys.stderr)
            if ns.record and not ns.resume:   # (a resumed run keeps its last sitting's)
                path = run_dir / "results.json"
                done = json.loads(path.read_text()) if path.is_file() else {}
                write_record({**summary, "learner": done,
                              "frames": done.get("steps_received", 0) * fps or None,
                              "train_wall_s": sittings.train_wall_s,
                              "sittings": len(sittings.items)}, run_dir, args, died=why)
            return 1
        results = json.loads((run_dir / "results.json").read_text())
    frames = results["steps_received"] * fps
    cost = run_cost(run_dir, results, frames, sittings.train_wall_s)
    print(f"\nwhat the run cost ({ns.minutes:g}-minute limit, {frames:,} frames):\n"
          f"{describe_cost(cost)}", flush=True)
    learner_cfg = results["config"]["learner"]
    summary.update(preset=trained_preset(results),
                   encoder_mode=learner_cfg["network"]["encoder_mode"], frames=frames,
                   train_wall_s=sittings.train_wall_s, sittings=len(sittings.items),
                   learner=results, cost=cost)
    if ns.no_eval:
        (run_dir / "smoke.json").write_text(json.dumps(summary, indent=2))
        return 0
    try:
        summary["evals"] = evaluate_checkpoints(run_dir, fps, sittings) \
            if ns.eval_every_frames else []
        learned = evaluate(str(run_dir / "policy.safetensors"), ns.episodes)
        random = None if ns.no_random else evaluate(None, ns.episodes)
    except Exception as exc:  # noqa: BLE001  (the run is a row even when its evaluation dies)
        why = (f"its evaluation failed ({type(exc).__name__}: {exc}); the same command with "
               "--evaluate_only finishes it")
        print(why, file=sys.stderr)
        if ns.record and not ns.resume:
            write_record(summary, run_dir, args, died=why)
        return 1
    summary.update(learned=learned, random=random)
    (run_dir / "smoke.json").write_text(json.dumps(summary, indent=2))
    if ns.record:
        write_record(summary, run_dir, args)
    print(f"\ntrained {summary['frames']:,} frames ({results['steps_received']:,} steps, "
          f"{results['updates']:,} updates) in {summary['train_wall_s'] / 60:.1f} min over "
          f"{summary['sittings']} sitting(s)")
    print(f"learned policy: native score {learned['mean']:.1f} ± {learned['std']:.1f}")
    if random is not None:
        print(f"random policy:  native score {random['mean']:.1f} ± {random['std']:.1f}")
    print(f"({ns.episodes} tracks from seed {learned['seeds'][0]}; details in "
          f"{run_dir}/smoke.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
