"""The learner node's own configuration (the TD3 core's is LearnerConfig in core/config.py)."""

from __future__ import annotations

from dataclasses import dataclass

from td3_driving.core.config_base import param


@dataclass(frozen=True)
class LearnerNodeConfig:
    """The learner node's own parameters (the TD3 core's are in LearnerConfig).

    Declared at the node's root next to LearnerConfig's (``run_dir``, ``td3.gamma``...).
    Periods are wall-clock seconds: a simulator paused by backpressure stops /clock, so sim
    time would stall the learner that is meant to catch up.
    """

    run_dir: str = param("runs/latest", "Run directory: checkpoints/, policy.safetensors, "
                                        "tb/ (TensorBoard), results.json.")
    resume: bool = param(False, "Continue from run_dir's latest checkpoint (update counter, "
                                "weights version, replay buffer if saved). False refuses a "
                                "run_dir that already holds checkpoints.")
    backpressure_slack_steps: int = param(
        64, "Steps agents may send beyond what the done updates justify at "
            "td3.update_to_data; covers batches in flight (about one batch per agent). "
            "The measured ratio lags by about this many steps: within 10 % once ten times "
            "as many steps arrived after the warm-up. Larger hides learner latency.", low=0)
    train_slice_s: float = param(0.5, "Longest stretch of updates in one training callback "
                                      "(seconds); keeps shutdown and checkpoints prompt.",
                                 low=0.01, high=60.0)
    weights_period_s: float = param(1.0, "Minimum seconds between two weights publications "
                                         "(weights are only sent when the actor changed).",
                                    low=1.0, high=3600.0)
    status_period_s: float = param(0.2, "Period of LearnerStatus (backpressure) messages.",
                                   low=0.01, high=10.0)
    diagnostics_period_s: float = param(1.0, "Period of /diagnostics and TensorBoard "
                                             "scalars (means over the updates in between).",
                                        low=0.1, high=600.0)
    checkpoint_period_updates: int = param(5000, "Checkpoint every this many updates "
                                                 "(0: not by count).", low=0)
    checkpoint_period_s: float = param(600.0, "Checkpoint every this many seconds of wall "
                                              "time (0: not by time).", low=0.0)
    keep_checkpoints: int = param(3, "Newest checkpoints kept in run_dir/checkpoints.", low=1,
                                  high=1000)
    save_buffer_in_checkpoint: bool = param(
        False, "Save the replay buffer next to each checkpoint (~7 KB per step of "
               "replay.capacity at 84x84, written each time) for an exact resume; without "
               "it a resume warms up again for td3.learning_starts steps.")
    tensorboard: bool = param(True, "Write TensorBoard logs to run_dir/tb.")
    max_agent_steps_per_s: float = param(
        1000.0, "Fastest an agent can produce steps; a batch whose sequence number jumps "
                "further than this rate allows since the agent's previous batch (plus a "
                "minute) is refused as corrupt or forged instead of believed.",
        low=1.0, high=1e9)
