"""Preprocessing, frame stacking, vector scaling, action scaling and the core's config."""

import numpy as np
import pytest

from td3_driving.apps.gym_trainer import DEFAULT_CONFIG, load_run_config
from td3_driving.core.actions import from_box, from_vehicle_control, to_box, to_vehicle_control
from td3_driving.core.config import ActionConfig, LearnerConfig, ObservationConfig
from td3_driving.core.config_base import ConfigError, from_mapping, load_yaml
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.task import observation
from td3_driving.task.observation import FrameStack, normalize_vector, preprocess_frame

SMALL = ObservationConfig(stack=3, height=2, width=3, vector_size=2, vector_scale=(2.0, 10.0))


def test_grayscale_uses_bt601_luma_and_area_resize_averages_blocks():
    img = np.zeros((4, 6, 3), np.uint8)
    img[:2, :2] = (255, 0, 0)       # top-left 2x2 block pure red
    img[2:, 4:] = (0, 0, 200)       # bottom-right 2x2 block blue
    out = preprocess_frame(img, SMALL)
    assert out.dtype == np.uint8 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, [[round(0.299 * 255), 0, 0], [0, 0, round(0.114 * 200)]])


def test_non_integer_downscale_keeps_constant_images_constant():
    cfg = ObservationConfig()
    frame = preprocess_frame(np.full((84, 96, 3), 77, np.uint8), cfg)   # CarRacing w/o HUD
    assert frame.shape == (84, 84) and (frame == 77).all()
    rgb = preprocess_frame(np.full((600, 800, 3), 9, np.uint8),
                           ObservationConfig(grayscale=False))
    assert rgb.shape == (3, 84, 84) and (rgb == 9).all()


@pytest.mark.parametrize("shape", [(84, 96, 3), (96, 84, 3), (84, 84, 3), (90, 100, 3)])
@pytest.mark.parametrize("grayscale", [True, False])
def test_an_axis_of_the_right_size_skips_its_product_with_the_same_bytes(shape, grayscale):
    # the area matrix of an axis already of its size is the identity: skipping its product
    # must change no pixel of any frame
    cfg = ObservationConfig(grayscale=grayscale)
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape, np.uint8)
    rgb = img.astype(np.float32)
    planes = rgb @ observation._LUMA if grayscale else np.moveaxis(rgb, 2, 0)
    both = (observation._area_matrix(shape[0], cfg.height) @ planes
            @ observation._area_matrix(shape[1], cfg.width).T)
    expected = np.clip(np.rint(both), 0, 255).astype(np.uint8)
    assert np.array_equal(preprocess_frame(img, cfg), expected)


def test_bad_images_fail_clearly():
    with pytest.raises(ValueError, match="expected a uint8 numpy image, got float32"):
        preprocess_frame(np.zeros((8, 8, 3), np.float32), SMALL)
    with pytest.raises(ValueError, match=r"got shape \(8, 8, 4\)"):
        preprocess_frame(np.zeros((8, 8, 4), np.uint8), SMALL)


def test_frame_stack_starts_full_and_shifts_oldest_out():
    fs = FrameStack(SMALL)
    frames = [np.full((2, 3), i, np.uint8) for i in range(5)]
    assert [int(x[0, 0]) for x in fs.reset(frames[0])] == [0, 0, 0]
    fs.push(frames[1])
    assert [int(x[0, 0]) for x in fs.push(frames[2])] == [0, 1, 2]
    assert [int(x[0, 0]) for x in fs.push(frames[3])] == [1, 2, 3]
    with pytest.raises(ValueError, match="run preprocess_frame first"):
        fs.push(np.zeros((84, 84), np.uint8))


def test_vector_scaling_and_errors():
    np.testing.assert_allclose(normalize_vector([4.0, -5.0], SMALL), [2.0, -0.5])
    with pytest.raises(ValueError, match="vector_size=2"):
        normalize_vector([1.0], SMALL)
    with pytest.raises(ValueError, match="non-finite"):
        normalize_vector([np.nan, 1.0], SMALL)


def test_vehicle_control_mapping_and_its_inverse():
    cfg = ActionConfig(max_steer=0.5, max_throttle=0.8, max_brake=1.0)
    assert to_vehicle_control([1.0, 0.5], cfg) == pytest.approx((0.5, 0.4, 0.0))
    assert to_vehicle_control([-0.2, -0.25], cfg) == pytest.approx((-0.1, 0.0, 0.25))
    assert to_vehicle_control([3.0, 2.0], cfg) == pytest.approx((0.5, 0.8, 0.0))   # clipped
    for a in ([0.3, 0.7], [-1.0, -0.4]):
        np.testing.assert_allclose(from_vehicle_control(*to_vehicle_control(a, cfg), cfg), a,
                                   atol=1e-6)
    low, high = np.array([-2.0]), np.array([2.0])
    np.testing.assert_allclose(to_box([0.5], low, high), [1.0])
    np.testing.assert_allclose(from_box(to_box([-0.3], low, high), low, high), [-0.3], atol=1e-6)
    with pytest.raises(ValueError, match="expected 2 action values"):
        to_vehicle_control([0.1], cfg)


def test_recorder_terminal_wins_over_truncation():
    rec = ExperienceRecorder("a", 2)
    rec.begin_episode(None, [0.0])
    rec.step(None, [1.0], [0.0, 0.0], 1.0, terminated=True, truncated=True)
    batch = rec.flush()
    batch.validate((0, 0, 0), 1, 2)
    assert batch.terminated.tolist() == [False, True] and not batch.truncated.any()
    assert batch.sequence.tolist() == [0, 1] and batch.step_index.tolist() == [0, 1]


def test_defaults_follow_the_design_lessons():
    c = LearnerConfig()
    assert (c.td3.actor_lr, c.td3.critic_lr, c.td3.gamma, c.td3.tau) == (3e-4, 3e-4, 0.99, 0.005)
    assert (c.td3.policy_noise, c.td3.noise_clip, c.td3.policy_delay) == (0.2, 0.5, 2)
    assert (c.td3.exploration_noise, c.td3.batch_size) == (0.1, 128)
    assert c.observation.image_shape == (4, 84, 84)


def test_shipped_yaml_loads_and_bad_values_name_the_field(tmp_path):
    for env in ("carracing", "pendulum"):
        cfg, trainer = load_run_config(DEFAULT_CONFIG, env, [])
        assert trainer.env == env and isinstance(cfg, LearnerConfig)
    cfg, trainer = load_run_config(DEFAULT_CONFIG, "pendulum",
                                   ["learner.td3.tau=0.01", "trainer.total_steps=7"])
    assert (cfg.td3.tau, cfg.td3.batch_size, trainer.total_steps) == (0.01, 256, 7)
    with pytest.raises(ConfigError, match=r"pendulum\.learner\.td3\.taus: unknown TD3Config"):
        load_run_config(DEFAULT_CONFIG, "pendulum", ["learner.td3.taus=0.01"])
    (tmp_path / "t.yaml").write_text("td3: {gamma: 0.9}\n")
    assert load_yaml(tmp_path / "t.yaml", LearnerConfig).td3.gamma == 0.9
    with pytest.raises(ConfigError, match=r"td3\.gamma: 1\.5 is above the maximum"):
        from_mapping(LearnerConfig, {"td3": {"gamma": 1.5}})
    with pytest.raises(ConfigError, match="encoder_mode: 'both' is not one of"):
        from_mapping(LearnerConfig, {"network": {"encoder_mode": "both"}})
    with pytest.raises(ConfigError, match="vector_scale has 1 entries but vector_size is 3"):
        from_mapping(LearnerConfig, {"observation": {"vector_scale": [1.0]}})
