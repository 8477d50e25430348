"""Replay message size: serialized bytes per transition of ExperienceBatch messages.

    ./env.sh python -m benchmarks.replay_bytes

Messages built as the agent builds them (ExperienceRecorder, flushed the agent's way: 32
steps per message while an episode runs, the rest at its end; 84x84 grayscale frames,
vector 8, action 2) over whole 250-step episodes, serialized with rclpy.serialization,
divided by the steps they carry. Part ``bytes`` of benchmarks.transport's record.
"""

from __future__ import annotations

import numpy as np

from benchmarks.goals import REPLAY_BYTES_PER_TRANSITION

BATCH_STEPS = 32          # the agent's batch_steps (config/train.yaml)
EPISODE_STEPS = 250       # reward.max_episode_steps (config/reward.yaml)


def episode_batches(rng: np.random.Generator, agent_id: str = "bench:0",
                    episodes: int = 1, steps: int = EPISODE_STEPS) -> list:
    """StepBatches of whole episodes, flushed as AgentLoop._flush does."""
    from td3_driving.core.experience import ExperienceRecorder
    from td3_driving.task.driving import DRIVING_OBSERVATION
    obs = DRIVING_OBSERVATION
    rec = ExperienceRecorder(agent_id, 2)
    out = []

    def frame():
        return rng.integers(0, 256, (obs.channels, obs.height, obs.width), dtype=np.uint8)

    def vector():
        return rng.normal(size=obs.vector_size).astype(np.float32)

    for _ in range(episodes):
        rec.begin_episode(frame(), vector())
        for t in range(1, steps):
            rec.step(frame(), vector(), rng.uniform(-1, 1, 2).astype(np.float32),
                     float(rng.normal()), False, t == steps - 1)
            if t < steps - 1 and rec.pending() > BATCH_STEPS:
                out.append(rec.flush(keep_last=True))
        out.append(rec.flush())
    return out


def measure() -> dict:
    from rclpy.serialization import serialize_message

    from td3_driving.ros.experience_msg import step_batch_to_msg
    from td3_driving.task.driving import DRIVING_OBSERVATION
    batches = episode_batches(np.random.default_rng(0), episodes=2)
    sizes = [len(serialize_message(step_batch_to_msg(b))) for b in batches]
    steps = [len(b) for b in batches]
    full = [s / n for s, n in zip(sizes, steps) if n == BATCH_STEPS]
    obs = DRIVING_OBSERVATION
    frame = obs.channels * obs.height * obs.width
    per = sum(sizes) / sum(steps)
    return {"batch_steps": BATCH_STEPS, "frame_shape": [obs.channels, obs.height, obs.width],
            "vector_size": obs.vector_size, "action_size": 2, "messages": len(sizes),
            "steps": sum(steps), "serialized_bytes": sum(sizes),
            "bytes_per_transition": round(per, 1), "frame_bytes_per_transition": frame,
            "overhead_bytes_per_transition": round(per - frame, 1),
            "full_batch_bytes_per_transition": round(float(np.mean(full)), 1),
            "goal_bytes_per_transition": REPLAY_BYTES_PER_TRANSITION,
            "goal_met": per <= REPLAY_BYTES_PER_TRANSITION}


def summary(b: dict) -> str:
    return (f"replay bytes/transition: {b['bytes_per_transition']:.0f} over {b['steps']} "
            f"steps in {b['messages']} messages ({b['frame_bytes_per_transition']} of them "
            f"the frame; full 32-step batch {b['full_batch_bytes_per_transition']:.0f}); "
            f"goal <= {b['goal_bytes_per_transition']}: "
            f"{'met' if b['goal_met'] else 'missed'}")


if __name__ == "__main__":
    print(summary(measure()))
