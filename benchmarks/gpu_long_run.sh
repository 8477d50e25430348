#!/usr/bin/env bash
# The camera preset's long run on a GPU host with no ROS and no package registry
# (make bench-learning-gpu prepares it; run it there from the repository root):
#
#   OUT=<dir> FRAMES=1000000 MINUTES=9 NUM_ENVS=14 bash benchmarks/gpu_long_run.sh
#
# Installs wheels-gpu/ (tools/gpu_wheels.sh) into a private folder, then trains with
# td3_driving.apps.parallel_trainer: NUM_ENVS simulators in worker processes, the learner on
# the GPU, 10-track evaluations every EVAL_EVERY frames. MINUTES bounds the sitting
# (evaluations included), so the whole call fits the machine's lease; the run directory
# (results.json, policy.safetensors; the checkpoint with its replay buffer only when
# KEEP_CHECKPOINT=1) lands in $OUT/run. Back home, benchmarks/learning_gpu.py scores
# the policy on the 100 evaluation tracks and writes the benchmark record.
# DEVICE=cpu dry-runs the same path on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder the results go to}
FRAMES=${FRAMES:-1000000}
MINUTES=${MINUTES:-9}
NUM_ENVS=${NUM_ENVS:-14}
EVAL_EVERY=${EVAL_EVERY:-100000}
EVAL_EPISODES=${EVAL_EPISODES:-10}
DEVICE=${DEVICE:-cuda}
SEED=${SEED:-0}
PY=${PYTHON:-python3}
SITE="$OUT/site"
if [ -d wheels-gpu ]; then
  "$PY" -m pip install -q --no-index --find-links wheels-gpu --target "$SITE" \
    gymnasium Box2D pygame-ce numpy PyYAML safetensors
fi
export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=1 SDL_VIDEODRIVER=dummy
"$PY" - <<'PY'
import torch
print(f"torch {torch.__version__}, cuda {torch.cuda.is_available()}"
      + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""))
PY
"$PY" -m td3_driving.apps.parallel_trainer --run_dir "$OUT/run" --num_envs "$NUM_ENVS" \
  --frames "$FRAMES" --minutes "$MINUTES" --eval_every_frames "$EVAL_EVERY" \
  --eval_episodes "$EVAL_EPISODES" --set learner.observation.preset=camera \
  --set learner.device="$DEVICE" --set learner.seed="$SEED" \
  --set learner.torch_threads=2 ${RESUME:+--resume}
if [ "${KEEP_CHECKPOINT:-0}" != 1 ]; then
  rm -f "$OUT/run/checkpoint.pt" "$OUT/run/checkpoint.pt.replay.npz"
fi
rm -rf "$SITE"
