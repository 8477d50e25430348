"""The core's configuration: frozen dataclasses, one documented field each.

Defaults: docs/architecture.md, "Defaults" (why these values). YAML files and ROS
parameters only override them; nested dataclasses become dotted names (``td3.gamma``).
"""

from __future__ import annotations

from dataclasses import dataclass

from td3_driving.core.config_base import param

# The vehicle vectors of the driving task's observation presets: (name, unit, divisor that
# makes the value O(1)). "route" holds what the car measures about itself plus its pose on
# the route and the route's shape ahead (the state a path-tracking controller needs);
# "camera" only what the car measures about itself: no map, waypoints or route geometry.
ROUTE_VECTOR: tuple[tuple[str, str, float], ...] = (
    ("speed", "m/s, signed forward", 30.0),
    ("steer", "applied steer, -1..1 (CARLA convention: + = right)", 1.0),
    ("throttle", "applied throttle, 0..1", 1.0),
    ("brake", "applied brake, 0..1", 1.0),
    ("lateral_offset", "m from the route centerline, + = left", 6.7),
    ("heading_error", "rad, vehicle yaw - route direction", 1.0),
    ("curvature_near", "1/m, mean over the next 15 m, + = left turn", 0.05),
    ("curvature_far", "1/m, mean over 15..45 m ahead, + = left turn", 0.05),
)
CAMERA_VECTOR: tuple[tuple[str, str, float], ...] = ROUTE_VECTOR[:4] + (
    ("yaw_rate", "rad/s, counter-clockwise (odometry twist.angular.z)", 1.0),
)
# preset -> (the observation carries the camera image, its vehicle vector)
OBSERVATION_PRESETS: dict[str, tuple[bool, tuple[tuple[str, str, float], ...]]] = {
    "route": (True, ROUTE_VECTOR),     # camera + the route vector
    "camera": (True, CAMERA_VECTOR),   # camera + self-measurements: CarRacing from pixels
    "state": (False, ROUTE_VECTOR),    # the route vector alone: what does the camera add?
}


@dataclass(frozen=True)
class ObservationConfig:
    """What the networks see: a stack of preprocessed camera frames and a vehicle vector.

    A driving ``preset`` sets ``image``, ``vector_size`` and ``vector_scale`` (docs/
    observation.md); without one ("") they are taken as given (other tasks, e.g. Pendulum).
    """

    preset: str = param("", "The driving task's observation: 'route' (camera + speed, "
                            "controls and route geometry), 'camera' (camera + speed, "
                            "controls and yaw rate: no map, no route), 'state' (the route "
                            "vector, no image). It sets image, vector_size and vector_scale "
                            "(values given for those are replaced); '' = no preset, they "
                            "are taken as given (non-driving tasks).",
                        choices=("", *OBSERVATION_PRESETS))
    image: bool = param(True, "Observations carry a stacked camera image; false for "
                              "state-only tasks (Pendulum), which use only the vector.")
    stack: int = param(4, "Number of most recent frames stacked into one observation.",
                       low=1, high=16)
    height: int = param(84, "Height in pixels of a preprocessed frame.", low=16, high=512)
    width: int = param(84, "Width in pixels of a preprocessed frame.", low=16, high=512)
    grayscale: bool = param(True, "Convert camera frames to one luma channel (else RGB, "
                                  "3 channels per frame).")
    vector_size: int = param(3, "Length k of the vehicle vector fused with the image "
                                "features (its content is defined by whoever builds it).",
                             low=0, high=4096)
    vector_scale: tuple[float, ...] = param(
        (), "Divisors applied to the raw vector, one per element, so that values are O(1) "
            "(e.g. speed in m/s / 20). Empty = no scaling.")

    def __post_init__(self) -> None:
        if self.preset:
            if self.preset not in OBSERVATION_PRESETS:
                raise ValueError(f"observation.preset {self.preset!r} is not one of "
                                 f"{sorted(OBSERVATION_PRESETS)} (or '' for no preset)")
            image, fields = OBSERVATION_PRESETS[self.preset]
            # frozen: the preset's values replace the given ones once, at construction
            object.__setattr__(self, "image", image)
            object.__setattr__(self, "vector_size", len(fields))
            object.__setattr__(self, "vector_scale", tuple(s for _, _, s in fields))
        if self.vector_scale and len(self.vector_scale) != self.vector_size:
            raise ValueError(f"vector_scale has {len(self.vector_scale)} entries but "
                             f"vector_size is {self.vector_size}; give one per element or none")
        if any(s == 0 for s in self.vector_scale):
            raise ValueError("vector_scale entries must be non-zero (they are divisors)")
        if not self.image and self.vector_size == 0:
            raise ValueError("an observation needs an image or a vector (image=false and "
                             "vector_size=0)")

    @property
    def channels(self) -> int:
        """Channels of one preprocessed frame (1 grayscale, 3 RGB)."""
        return 1 if self.grayscale else 3

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of a stacked image observation: [stack * channels, height, width]."""
        return (self.stack * self.channels, self.height, self.width)


@dataclass(frozen=True)
class NetworkConfig:
    """Image encoder, MLP heads and how actor and critic share the encoder."""

    encoder_mode: str = param(
        "shared", "'separate': actor and critic each own a CNN (each with a target copy); "
                  "'shared': DrQ-v2 style, one CNN trained by the critic loss only, the actor "
                  "reads detached features.", choices=("separate", "shared"))
    conv_channels: tuple[int, ...] = param((32, 64, 64), "Output channels of each conv "
                                                         "layer (NatureCNN).")
    conv_kernels: tuple[int, ...] = param((8, 4, 3), "Kernel size of each conv layer.")
    conv_strides: tuple[int, ...] = param((4, 2, 1), "Stride of each conv layer.")
    feature_dim: int = param(512, "Size of the linear layer after the convolutions.",
                             low=1, high=65536)
    hidden_sizes: tuple[int, ...] = param((256, 256), "Hidden layer sizes of the actor and "
                                                      "of each critic head.")
    augment_pad: int = param(4, "Random-shift augmentation (DrQ): pad by this many pixels "
                                "and crop back at a random offset; 0 disables it.",
                             low=0, high=32)
    encoder_precision: str = param(
        "float32", "Arithmetic of the image encoders: 'bfloat16' runs their convolutions and "
                   "linear layer in bf16 (fp32 weights and gradients): faster only on CPUs "
                   "with native bf16 (the avx512_bf16 or amx_bf16 flag) and on recent GPUs, "
                   "several times slower on other CPUs (README.md, 'Where the CPU goes'; "
                   "docs/benchmarks.md section 2).",
        choices=("float32", "bfloat16"))
    channels_last: bool = param(True, "Run convolutions in channels-last memory format "
                                      "(faster with oneDNN on x86 CPUs).")

    def __post_init__(self) -> None:
        n = len(self.conv_channels)
        if n == 0 or len(self.conv_kernels) != n or len(self.conv_strides) != n:
            raise ValueError("conv_channels, conv_kernels and conv_strides must be non-empty "
                             f"and equally long (got {self.conv_channels}, {self.conv_kernels},"
                             f" {self.conv_strides})")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError(f"hidden_sizes must list positive sizes, got {self.hidden_sizes}")


@dataclass(frozen=True)
class TD3Config:
    """The TD3 algorithm (Fujimoto et al. 2018) and its optimisation."""

    gamma: float = param(0.99, "Discount factor.", low=0.0, high=0.9999)
    tau: float = param(0.005, "Polyak rate of the target networks (1 = copy).", low=0.0,
                       high=1.0)
    actor_lr: float = param(3e-4, "Adam learning rate of the actor (and its CNN).",
                            low=0.0, high=1.0)
    critic_lr: float = param(3e-4, "Adam learning rate of the critics (and their CNN).",
                             low=0.0, high=1.0)
    batch_size: int = param(128, "Transitions per update (128 for pixels).",
                            low=1, high=65536)
    policy_noise: float = param(0.2, "Std of the target policy smoothing noise.", low=0.0,
                                high=10.0)
    noise_clip: float = param(0.5, "Clip of the target policy smoothing noise.", low=0.0,
                              high=10.0)
    policy_delay: int = param(2, "Critic updates per actor and target update.", low=1,
                              high=1000)
    deploy_target_actor: bool = param(
        True, "Deploy the target actor, the Polyak average of the online actor at rate tau, "
              "as the policy (policy file, evaluations, checkpoints' scores); training "
              "agents explore with the online actor. The online actor of a 100k-frame run "
              "can swing from one checkpoint to the next; its average moves slowly. "
              "Which scores higher differs from checkpoint to checkpoint "
              "(docs/benchmarks.md section 6).")
    exploration_noise: float = param(0.1, "Std of the Gaussian noise added when acting to "
                                          "explore (network action space [-1, 1]).",
                                     low=0.0, high=10.0)
    learning_starts: int = param(5000, "Environment steps collected before the first "
                                       "update (random actions until then).", low=0)
    update_to_data: float = param(1.0, "Updates per environment step collected; the "
                                       "learner throttles producers to hold this ratio.",
                                  low=0.0, high=1000.0)
    max_grad_norm_actor_mlp: float = param(10.0, "Clip of the actor MLP's global "
                                                 "gradient norm; 0 disables.", low=0.0)
    max_grad_norm_actor_cnn: float = param(10.0, "Clip of the actor CNN's global gradient "
                                                 "norm ('separate' mode); 0 disables.",
                                           low=0.0)
    max_grad_norm_critic_mlp: float = param(10.0, "Clip of the critic heads' global "
                                                  "gradient norm; 0 disables.", low=0.0)
    max_grad_norm_critic_cnn: float = param(10.0, "Clip of the critic (or shared) CNN's "
                                                  "global gradient norm; 0 disables.",
                                            low=0.0)


@dataclass(frozen=True)
class ReplayConfig:
    """The replay buffer."""

    capacity: int = param(100_000, "Steps kept (one frame each, ~7.2 KB at 84x84); the "
                                   "oldest are overwritten.", low=2, high=100_000_000)
    n_step: int = param(1, "Length of the n-step return (1 = plain TD3).", low=1, high=20)


@dataclass(frozen=True)
class ActionConfig:
    """How the network action (steer, accel) in [-1, 1]^2 maps onto vehicle controls."""

    max_steer: float = param(1.0, "Steer command at a = +1 (CarlaEgoVehicleControl.steer).",
                             low=0.0, high=1.0)
    max_throttle: float = param(1.0, "Throttle at accel = +1.", low=0.0, high=1.0)
    max_brake: float = param(1.0, "Brake at accel = -1.", low=0.0, high=1.0)


@dataclass(frozen=True)
class WatchdogConfig:
    """Divergence detection: |Q| beyond what the reward range allows, or non-finite values.

    The reward range itself is not configured here: it belongs to the reward (the driving
    task's RewardConfig.step_bound(), a gym task's own bound), passed to TD3Agent.
    """

    margin: float = param(2.0, "Tolerance factor on that bound before Q counts as "
                               "diverged.", low=1.0, high=1e6)
    stop_on_divergence: bool = param(True, "Raise DivergenceError (stop training) instead "
                                           "of only reporting it in the metrics.")


@dataclass(frozen=True)
class LearnerConfig:
    """Everything the TD3 core needs, grouped."""

    observation: ObservationConfig = ObservationConfig()
    network: NetworkConfig = NetworkConfig()
    td3: TD3Config = TD3Config()
    replay: ReplayConfig = ReplayConfig()
    action: ActionConfig = ActionConfig()
    watchdog: WatchdogConfig = WatchdogConfig()
    action_size: int = param(2, "Length of the network action ((steer, accel) for driving).",
                             low=1, high=64)
    seed: int = param(0, "Seed of network initialisation and of the learner's noise.",
                      low=0)
    torch_threads: int = param(1, "torch intra-op threads: the cores other processes leave "
                                  "free (oversubscribing makes OpenMP spin). 0: a ROS learner "
                                  "fits the count to the cores the rest of the machine left "
                                  "idle, every 10 s (Linux; learner/threads.py); elsewhere 0 "
                                  "means 1.",
                               low=0, high=256)
    device: str = param("auto", "Torch device for the learner; 'auto' = cuda if available.",
                        choices=("cpu", "cuda", "auto"))
