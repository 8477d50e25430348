"""Learning smoke run: CarRacing through the full ROS stack, then score the policy.

    ./env.sh python scripts/learning_smoke.py [--minutes 25] [--num_agents 1]

Trains with `python -m td3_driving.cli train` (the nodes of `make train`) for the given
wall time, then evaluates the exported policy and a random policy with the benchmark
protocol (td3_driving.evaluate: 10 fixed tracks, full episodes, no noise) and prints the
native scores side by side. Not a test: it takes ~30 minutes on 2 cores.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from td3_driving.evaluate import evaluate


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=25.0, help="training wall time")
    p.add_argument("--num_agents", type=int, default=1)
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes")
    p.add_argument("--run_dir", default=time.strftime("runs/smoke-%Y%m%d-%H%M%S"))
    ns = p.parse_args()
    cmd = [sys.executable, "-m", "td3_driving.cli", "train", "--run_dir", ns.run_dir,
           "--num_agents", str(ns.num_agents), "--duration", str(ns.minutes * 60),
           "--quiet_nodes", "--progress_every", "60"]
    print("training:", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        print("training failed", file=sys.stderr)
        return 1
    results = json.loads((Path(ns.run_dir) / "results.json").read_text())
    learned = evaluate(str(Path(ns.run_dir) / "policy.safetensors"), ns.episodes)
    random = evaluate(None, ns.episodes)
    summary = {"run_dir": ns.run_dir, "train_minutes": ns.minutes, "learner": results,
               "learned": learned, "random": random}
    (Path(ns.run_dir) / "smoke.json").write_text(json.dumps(summary, indent=2))
    print(f"\nlearned policy: native score {learned['mean']:.1f} ± {learned['std']:.1f}")
    print(f"random policy:  native score {random['mean']:.1f} ± {random['std']:.1f}")
    print(f"(10 tracks from seed {learned['seeds'][0]}; details in {ns.run_dir}/smoke.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
