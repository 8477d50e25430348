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


def learning(row: str, seed: int, scores: list[float], evals=None, frames=100_096,
             command=None) -> dict:
    episodes = [{"native_score": s} for s in scores]
    return {"section": "learning", "row": row, "seed": seed, "frames": frames,
            "updates": 5_000, "train_wall_s": 1800.0,
            "command": command or f"run {row} {seed}",
            "machine": {"cpus": 2, "gpu": None, "date": "2026-11-21"},
            "curve": [[4 * i, 0.0, i / 100] for i in range(100)], "evals": evals or [],
            "final": {"episodes": episodes, "seeds": [1_000_000, 1_000_099]}}


def fixed(scores: list[float]) -> dict:
    return {"episodes": [{"native_score": s} for s in scores],
            "seeds": list(range(1_000_000, 1_000_000 + len(scores)))}


def test_without_records_every_section_names_the_command_that_fills_it(doc):
    _, run = doc
    text = run()
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert section in text
    assert "No learning records yet" in text
    for module in ("learner_throughput", "ros_overhead", "transport", "memory"):
        assert f"python -m benchmarks.{module}" in text


def row_line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def test_a_learned_row_lists_every_seed_and_the_sample_std_of_their_means(doc):
    module, run = doc
    write(module, "learning-reference", fixed([800.0] * 100))
    for seed, score in enumerate((100.0, 200.0, 300.0)):
        write(module, f"learning-ros-route-s{seed}", learning("ros-route", seed, [score] * 100))
    write(module, "learning-sb3-td3-s0", learning("sb3-td3", 0, [250.0, 150.0] * 50))
    text = run()
    row = row_line(text, "| td3_driving, ROS stack, `route` (default)")
    assert "3 seed(s)" in row
    assert "s0: 100.0 (100 tracks), s1: 200.0 (100 tracks), s2: 300.0 (100 tracks)" in row
    assert "**200.0 ± 100.0**" in row            # sample std (ddof=1) of the seed means
    assert "lowest seed 100.0 of 3 (only 3 of the 5 seeds the goal asks for) → **missed**" \
        in text
    assert "default ≥ SB3 TD3 on the same seeds: s0 100.0 vs 200.0 → **missed**" in text
    sb3 = row_line(text, "| stable-baselines3")
    assert "**200.0** |" in sb3                  # one seed: no spread over seeds to show
    assert "not headline scores" not in text     # every record has 100 tracks
    for png in ("learning_curves.png", "evaluation_curves.png", "final_scores.png"):
        assert (module.DOCS / "benchmarks" / png).stat().st_size > 1000
        assert f"(benchmarks/{png})" in text


def test_frames_and_minutes_to_900_come_from_the_periodic_evaluations(doc):
    module, run = doc
    evals = [[10_000, 300.0, 300.0], [20_000, 905.0, 1200.0], [30_000, 950.0, 1800.0]]
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [910.0] * 100, evals))
    write(module, "learning-ros-route-s1", learning("ros-route", 1, [500.0] * 100,
                                                    [[10_000, 400.0, 300.0]]))
    write(module, "learning-ros-camera-s0", learning("ros-camera", 0, [200.0] * 100))
    text = run()
    row = row_line(text, "| td3_driving, ROS stack, `route`")
    assert "s0: 20,000, s1: not reached" in row and "s0: 20, s1: not reached" in row
    camera = row_line(text, "| td3_driving, ROS stack, `camera`")
    assert "no periodic evaluation" in camera
    assert "`camera` ≥ 600 at 100k frames: 200.0 over 1 seed(s) → **missed**" in text


def test_a_record_its_command_cannot_have_written_is_marked(doc):
    module, run = doc
    write(module, "learning-ros-route-s0",
          learning("ros-route", 0, [900.0] * 10,
                   command="./env.sh python -m benchmarks.learning_smoke --seed 0"))
    text = run()
    assert "(10 tracks) ⚠" in text
    assert "must be re-run or removed" in text and "has no --record" in text
    assert "quick checks, not headline scores" in text


def test_fewer_seeds_than_the_goal_asks_for_is_said(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [950.0] * 100))
    text = run()
    assert "(only 1 of the 5 seeds the goal asks for)" in text
    assert "no SB3 TD3 record yet" in text


def test_a_fixed_row_record_without_a_command_is_not_credited_to_todays(doc):
    module, run = doc
    write(module, "learning-random", fixed([-30.0, -40.0]))
    write(module, "learning-reference",
          {**fixed([910.0, 920.0]), "command": "./env.sh python -m benchmarks.reference_score"})
    text = run()
    assert "`(not recorded)` → `docs/benchmarks/results/learning-random.json`" in text
    assert "the record names no command" in text and "--random --headline" in text
    assert "`./env.sh python -m benchmarks.reference_score` → " in text
    assert "-35.0 (2 tracks) ⚠" in text and "915.0 (2 tracks) ⚠" not in text


def test_the_cost_of_a_run_is_shown_where_its_record_has_it(doc):
    module, run = doc
    costly = learning("ros-route", 0, [500.0] * 100)
    costly["cost"] = {
        "usage": {"cpu_ms_per_step": {"ego_vehicle/sim_bridge": 4.2, "ego_vehicle/agent": 5.1,
                                      "learner": 40.5},
                  "load_average_1min_start": 0.4, "load_average_1min_end": 1.9},
        "wall_s_per_100k_frames": 1020.0, "learner_updates_per_s_in_stack": 5.0,
        "learner_updates_per_s_standalone": 5.5, "learner_in_stack_vs_standalone": 0.909}
    write(module, "learning-ros-route-s0", costly)
    write(module, "learning-ros-route-s1", learning("ros-route", 1, [600.0] * 100))
    text = run()
    line = row_line(text, "| `")
    assert line == ("| `docs/benchmarks/results/learning-ros-route-s0.json` | 17.0 min | "
                    "sim_bridge 4.2, agent 5.1, learner 40.5 | 5.00 / 5.50 (91 %) | "
                    "0.4 → 1.9 |")
    assert "learning-ros-route-s1.json` |" not in text   # no cost recorded: no line


def test_the_ablation_compares_two_presets_only_on_the_seeds_both_ran(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [700.0] * 100))
    write(module, "learning-ros-route-s1", learning("ros-route", 1, [500.0] * 100))
    write(module, "learning-ros-state-s0", learning("ros-state", 0, [100.0] * 100))
    write(module, "learning-ros-state-s2", learning("ros-state", 2, [900.0] * 100))
    text = run()
    camera = row_line(text, "- What the camera adds")
    assert "s0 700.0 − 100.0 = +600.0; mean +600.0 over 1 seed(s)" in camera
    assert "s2" not in camera                  # no route record of seed 2
    assert "no pair of records yet" in row_line(text, "- What the route geometry adds")


def test_a_variant_row_names_its_overrides_and_is_not_the_default(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [700.0] * 100))
    variant = {**learning("ros-route-n3", 0, [800.0] * 100),
               "learner_overrides": {"replay.n_step": 3}}
    write(module, "learning-ros-route-n3-s0", variant)
    text = run()
    line = row_line(text, "| td3_driving, ROS stack, `route` with `replay.n_step: 3`")
    assert "a variant, not the default" in line and "800.0" in line
    assert "(default)" not in line


def cpu_record(section, trees, driver=None, profile=None):
    r = {"section": section, "command": f"./env.sh python -m benchmarks.{section}",
         "date": "2026-11-28T15:00:00+00:00", "machine": {"cpu_count": 2},
         "load_average_1min_before": 5.0, "load_average_1min_after": 6.0, "rounds": 2,
         "steps": 1500, "thread_environment": {"OMP_NUM_THREADS": "1"}, "trees": trees}
    if driver:
        r["driver"] = driver
    if profile:
        r.update(profiled=True, profile=profile)
    return r


def tree(commit, date, runs):
    figures = {k: sorted(run[k] for run in runs)[len(runs) // 2] for k in runs[0]}
    return {"source": {"commit": commit * 40, "commit_date": date, "subject": f"tree {commit}",
                       "modified": False}, "runs": runs, **figures}


def test_the_cpu_table_has_one_row_per_tree_oldest_first_and_judges_the_newest(doc):
    module, run = doc
    new, old = "b", "a"
    write(module, "cpu-agent-step", cpu_record("agent_step", [
        tree(new, "2026-11-28T15:00:00", [{"agent_cpu_ms_per_step": 3.0},
                                          {"agent_cpu_ms_per_step": 4.0}]),
        tree(old, "2026-11-21T11:00:00", [{"agent_cpu_ms_per_step": 6.0},
                                          {"agent_cpu_ms_per_step": 7.0}])]))
    write(module, "cpu-sim-agent", cpu_record("sim_tick_cpu", [
        tree(old, "2026-11-21T11:00:00", [{"agent_cpu_ms_per_step": 6.5,
                                          "sim_bridge_cpu_ms_per_tick": 17.0}]),
        tree(new, "2026-11-28T15:00:00", [{"agent_cpu_ms_per_step": 3.5,
                                          "sim_bridge_cpu_ms_per_tick": 5.5}])],
        driver="agent"))
    text = run()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith(f"| `{old * 10}`") and rows[1].startswith(f"| `{new * 10}`")
    assert "| 7.00 (6.00–7.00) |" in rows[0] and "| 4.00 (3.00–4.00) |" in rows[1]
    assert rows[1].endswith("| 4.00 (3.00–4.00) | – | 3.50 | 5.50 |")
    assert "- agent, scripted bridge: ms/step: 4.00 **met**" in text
    assert "- sim_bridge driven by the agent: ms/tick: 5.50 **missed**" in text
    assert "- sim_bridge, scripted driver: ms/tick: not measured" in text
    assert "No profile record" in text


def test_a_profile_record_is_shown_as_shares_and_kept_out_of_the_table(doc):
    module, run = doc
    write(module, "cpu-agent-step", cpu_record("agent_step", [
        tree("c", "2026-11-28T15:00:00", [{"agent_cpu_ms_per_step": 3.0}])]))
    write(module, "cpu-profile", cpu_record("sim_tick_cpu", [
        tree("c", "2026-11-28T15:00:00", [{"agent_cpu_ms_per_step": 12.0,
                                           "sim_bridge_cpu_ms_per_tick": 14.0}])],
        driver="agent", profile={"agent": {"profiled_cpu_s": 13.9,
                                           "shares": {"executor turns": 0.471}}}))
    text = run()
    assert "| agent | executor turns | 47 % |" in text
    assert "14.00" not in text and "12.00" not in text   # a profiled run's CPU is inflated


def test_a_run_that_died_is_a_row_that_counts_against_the_goals(doc):
    module, run = doc
    for seed, score in ((0, 950.0), (1, 920.0)):
        write(module, f"learning-ros-route-s{seed}", learning("ros-route", seed, [score] * 100))
    died = {**learning("ros-route", 2, []), "final": None, "status": "died",
            "failure": "the training command exited with code 1"}
    write(module, "learning-ros-route-s2", died)
    diverged = {**learning("ros-state", 0, [10.0] * 100), "status": "diverged: non-finite"}
    write(module, "learning-ros-state-s0", diverged)
    text = run()
    row = row_line(text, "| td3_driving, ROS stack, `route` (default)")
    assert "s2: died †" in row and "2 seed(s); 1 run(s) died, no score" in row
    assert "**935.0 ± 21.2**" in row             # the mean is over the scored seeds only
    assert ("- `docs/benchmarks/results/learning-ros-route-s2.json`: the training command "
            "exited with code 1") in text
    assert "lowest seed 920.0 of 3" in text and "s2 died" in text and "→ **missed**" in text
    assert "s0: 10.0 (100 tracks) [diverged]" in row_line(text, "| td3_driving, ROS stack, `state`")
    assert "not headline scores" not in text     # a died run is not a quick check


def test_a_longer_budget_is_its_own_row_and_the_longest_camera_goal_reads_it(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [700.0] * 100))
    for seed, score in ((0, 400.0), (1, 200.0)):
        write(module, f"learning-ros-camera-s{seed}", learning("ros-camera", seed, [score] * 100))
    write(module, "learning-ros-camera-s0-300k",
          learning("ros-camera", 0, [950.0] * 100, frames=300_012))
    text = run()
    row = row_line(text, "| td3_driving, ROS stack, `camera` |")
    assert "**300.0 ± 141.4**" in row            # the 100k seeds only
    longer = row_line(text, "| td3_driving, ROS stack, `camera`, 300k-frame budget |")
    assert "s0: 950.0 (100 tracks)" in longer and "300,012" in longer
    assert "`camera` ≥ 600 at 100k frames: 300.0 over 2 seed(s) → **missed**" in text
    assert "(300,012 frames, s0): 950.0 → **met**" in text


def test_a_long_run_short_of_its_budget_is_said_to_be_under_way(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [700.0] * 100))
    write(module, "learning-ros-camera-s0-300k",
          learning("ros-camera", 0, [330.0] * 100, frames=93_948))
    assert ("`camera` at a 300,000-frame budget: the long run is under way, 93,948 "
            "frames so far (s0: 330.0); the goal of 900 is judged when it reaches its "
            "budget") in run()
    # past 150k frames but short of its budget: still under way, not judged
    write(module, "learning-ros-camera-s0-300k",
          learning("ros-camera", 0, [721.1] * 100, frames=263_168))
    text = run()
    assert "under way, 263,168 frames so far (s0: 721.1)" in text
    assert "at the longest budget run" not in text
    # at its budget: judged, with its own last evaluations under a miss
    write(module, "learning-ros-camera-s0-300k",
          learning("ros-camera", 0, [799.5] * 100, frames=300_084,
                   evals=[[200_000, 300.0, 1.0], [244_040, 649.0, 2.0],
                          [300_084, 855.5, 3.0]]))
    text = run()
    assert "(300,084 frames, s0): 799.5 → **missed**" in text
    assert "over each seed's last 60k frames: s0 649 → 856; they ended higher on 1" in text


def test_a_missed_goal_shows_where_each_seeds_evaluations_went_near_the_budget(doc):
    module, run = doc
    rising = [[70_000, 100.0, 1.0], [80_000, 300.0, 2.0], [100_000, 500.0, 3.0]]
    falling = [[80_000, 950.0, 1.0], [100_000, 400.0, 2.0]]
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [600.0] * 100, rising))
    write(module, "learning-ros-route-s1", learning("ros-route", 1, [450.0] * 100, falling))
    text = run()
    why = row_line(text, "  - the runs' own 10-track evaluations")
    assert "s0 300 → 500, s1 950 → 400" in why          # 70k is outside the last 22k frames
    assert "higher on 1 of 2 seed(s) and lower on 1" in why
    assert "the best evaluation of any seed was 950.0" in why
    write(module, "learning-ros-route-s1", learning("ros-route", 1, [950.0] * 100, falling))
    write(module, "learning-ros-route-s0", learning("ros-route", 0, [950.0] * 100, rising))
    assert "the runs' own 10-track evaluations" not in run()   # no goal missed, no line


def test_the_sb3_goal_is_judged_per_seed_and_shows_the_means_beside(doc):
    module, run = doc
    for seed, (ours, theirs) in enumerate([(700.0, 300.0), (600.0, 650.0)]):
        write(module, f"learning-ros-route-s{seed}", learning("ros-route", seed, [ours] * 100))
        write(module, f"learning-sb3-td3-s{seed}", learning("sb3-td3", seed, [theirs] * 100))
    assert ("s0 700.0 vs 300.0, s1 600.0 vs 650.0 (means over these seeds: 650.0 vs "
            "475.0) → **missed**") in run()


def costed(seed: int, other_cores, wall_s=1500.0, in_stack=4.5, alone=4.8) -> dict:
    """A default-config record whose cost says what the rest of the machine used."""
    r = learning("ros-route", seed, [700.0] * 100, frames=100_000)
    r.update(env_steps=25_000, updates=6_000)
    usage = {"steps": 25_000, "updates": 6_000,
             "cpu_ms_per_step": {"ego_vehicle/sim_bridge": 6.0, "ego_vehicle/agent": 9.6,
                                 "learner": 48.0},
             "load_average_1min_start": 0.3, "load_average_1min_end": 2.0}
    if other_cores is not None:
        usage["other_processes_cpu_cores"] = other_cores
    r["cost"] = {"usage": usage, "wall_s_per_100k_frames": wall_s,
                 "learner_updates_per_s_in_stack": in_stack,
                 "learner_updates_per_s_standalone": alone}
    return r


def test_the_speed_goals_judge_only_runs_whose_machine_was_measured_quiet(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", costed(0, None))     # before the machine was sampled
    write(module, "learning-ros-route-s1", costed(1, 0.9))      # beside other work
    text = run()
    assert "- no such run recorded yet" in text
    assert "wall time per 100k frames ≤" not in text
    write(module, "learning-ros-route-s2", costed(2, 0.1, in_stack=4.5, alone=4.8))
    text = run()
    assert "- no such run" not in text
    assert row_line(text, "- the learner's updates/s in the stack") == (
        "- the learner's updates/s in the stack ≥ 90 % of its rate alone: s2 4.50 / 4.80 "
        "(94 %) → **met**")
    wall = row_line(text, "- wall time per 100k frames")
    assert wall == "- wall time per 100k frames ≤ 8.5 min: s2 25.0 min → **missed**"
    # the reason is the record's own CPU work per 100k frames (25,000 steps here):
    # sim_bridge 6.0 ms x 25k = 2.5 min, agent 4.0, learner 20.0 -> 26.5 CPU-minutes
    why = row_line(text, "  - why, from the same record (s2)")
    assert "sim_bridge 2.5 + agent 4.0 + learner 20.0 = 26.5 CPU-minutes" in why
    assert "at least 13.2 min of wall time" in why and "share is 20.0 CPU-minutes" in why
    # 8.5 min x 2 cores = 17 CPU-min, less 6.5 for sim and agent: 10.5 for 6,000 updates
    assert "10.5 CPU-minutes for its 6,000 updates: 105 ms per update at most" in why
    assert "200 ms of CPU per update" in why
    fitted = costed(3, 0.0, in_stack=5.0, alone=4.5)   # fitted threads, alone on one
    fitted["cost"]["learner_standalone_threads"] = 1
    write(module, "learning-ros-route-s3", fitted)
    text = run()
    assert "s3 5.00 / 4.50 on 1 thread (111 %)" in row_line(
        text, "- the learner's updates/s in the stack")
    assert "| 5.00 / 4.50 on 1 thread (111 %) |" in text


def test_a_quiet_run_within_the_speed_goals_meets_them_and_needs_no_reason(doc):
    module, run = doc
    write(module, "learning-ros-route-s0", costed(0, 0.05, wall_s=480.0, in_stack=3.0,
                                                   alone=4.0))
    text = run()
    assert row_line(text, "- wall time per 100k frames") == (
        "- wall time per 100k frames ≤ 8.5 min: s0 8.0 min → **met**")
    assert "  - why, from the same record" not in text
    assert "s0 3.00 / 4.00 (75 %) → **missed**" in text


def test_the_threads_table_has_a_row_per_busy_setting_and_the_speedup_per_thread(doc):
    module, run = doc
    assert "No record: run `./env.sh python -m benchmarks.learner_threads`" in run()
    rows = [{"other_cores": o, "threads": t, "updates_per_s": v}
            for o, t, v in [(0.0, 1, 4.0), (0.0, 2, 6.0), (1.0, 1, 4.0), (1.0, 2, 2.0)]]
    write(module, "learner_threads", {
        "section": "learner_threads", "command": "x", "machine": {}, "date": "2026-11-28",
        "batch_size": 128, "encoder_mode": "shared", "updates_timed_per_round": 20,
        "rounds": 3, "rows": rows})
    text = run()
    assert "| cores kept busy by other processes | 1 thread(s) | 2 thread(s) |" in text
    assert "| 0 | 4.00 | 6.00 (1.50×) |" in text and "| 1 | 4.00 | 2.00 (0.50×) |" in text
