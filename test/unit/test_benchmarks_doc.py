"""benchmarks/make_benchmarks_doc.py: the document says what the records say, and no more."""

import importlib
import json

import pytest


@pytest.fixture
def doc(tmp_path, monkeypatch):
    """The generator pointed at an empty docs tree under tmp_path; returns (module, run)."""
    module = importlib.reload(importlib.import_module("benchmarks.make_benchmarks_doc"))
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "RESULTS", tmp_path / "docs" / "benchmarks" / "results")
    module.RESULTS.mkdir(parents=True)

    def run() -> str:
        assert module.main() == 0
        return (tmp_path / "docs" / "benchmarks.md").read_text()
    return module, run


def write(module, name: str, record: dict) -> None:
    (module.RESULTS / f"{name}.json").write_text(json.dumps(record))


def learning(row: str, seed: int, scores: list[float]) -> dict:
    episodes = [{"native_score": s} for s in scores]
    return {"section": "learning", "row": row, "seed": seed, "frames": 100_096,
            "updates": 5_000, "train_wall_s": 1800.0, "command": f"run {row} {seed}",
            "machine": {"cpus": 2, "gpu": None, "date": "2026-11-21"},
            "curve": [[4 * i, 0.0, i / 100] for i in range(100)],
            "final": {"episodes": episodes, "seeds": [1_000_000, 1_000_009]}}


def fixed(scores: list[float]) -> dict:
    return {"episodes": [{"native_score": s} for s in scores],
            "seeds": list(range(1_000_000, 1_000_010))}


def test_without_records_every_section_names_the_command_that_fills_it(doc):
    _, run = doc
    text = run()
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert section in text
    assert "No learning records yet" in text
    for module in ("learner_throughput", "ros_overhead", "transport", "memory"):
        assert f"python -m benchmarks.{module}" in text


def test_a_learned_row_is_the_mean_and_std_of_its_seeds_means(doc):
    module, run = doc
    write(module, "learning-reference", fixed([800.0] * 10))
    for seed, score in enumerate((100.0, 200.0, 300.0)):
        write(module, f"learning-ros-shared-s{seed}", learning("ros-shared", seed, [score] * 10))
    write(module, "learning-sb3-td3-s0", learning("sb3-td3", 0, [250.0, 150.0] * 5))
    text = run()
    row = next(line for line in text.splitlines() if line.startswith("| td3_driving, ROS"))
    assert "3 seed(s)" in row and "s0: 100.0, s1: 200.0, s2: 300.0" in row
    assert "**200.0 ± 81.6**" in row            # np.std of the three seed means
    assert "learned score ≥ 150: 200.0 over 3 seed(s) → **met**" in text
    assert "of the reference controller's 800.0: 25% → **missed**" in text
    assert "200.0 vs 200.0 (1 seed(s)) → **met**" in text
    assert "the same training seed(s) only: s0 100.0 vs 200.0" in text
    sb3 = next(line for line in text.splitlines() if line.startswith("| stable-baselines3"))
    assert "**200.0** |" in sb3                  # one seed: no spread over seeds to show
    for png in ("learning_curves.png", "final_scores.png"):
        assert (module.DOCS / "benchmarks" / png).stat().st_size > 1000


def test_fewer_seeds_than_the_goal_asks_for_is_said(doc):
    module, run = doc
    write(module, "learning-ros-shared-s0", learning("ros-shared", 0, [900.0] * 10))
    text = run()
    assert "(only 1 of the 3 seeds the goal asks for)" in text
    assert "no SB3 TD3 record yet" in text
