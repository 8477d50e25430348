"""Sections 2-7 of docs/benchmarks.md, one function per section, from the performance records.

Learner throughput (and its torch threads beside busy processes), ROS overhead,
transport, memory, the deployed actor, and the per-step CPU table with its profile; each
section without its record names the command that writes it.
benchmarks/make_benchmarks_doc.py puts them after the learning section.
"""

from __future__ import annotations

from benchmarks.doc_format import cpu_count, fmt, provenance
from benchmarks.goals import AGENT_CPU_MS_PER_STEP as GOAL_AGENT_MS
from benchmarks.goals import LEARNER_SPEEDUP as GOAL_LEARNER_SPEEDUP
from benchmarks.goals import SIM_CPU_MS_PER_TICK as GOAL_SIM_MS


def goal(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def opening(heading: str, r: dict | None, command: str) -> list[str]:
    """A section's first lines: its heading, then the record's provenance, or the command
    that writes the record when there is none.
    """
    said = provenance(r) if r is not None else f"No record: run `{command}`."
    return [heading, "", said, ""]


def throughput_section(r: dict | None) -> list[str]:
    lines = opening("## 2. Learner throughput", r,
                    "./env.sh python -m benchmarks.learner_throughput")
    if r is None:
        return lines
    lines += [f"Updates/s of one TD3 update (replay sampling included) with "
              f"{r['threads']} torch thread(s), best of {r['rounds']} interleaved rounds; "
              f"stable-baselines3 TD3 MultiInputPolicy with the same NatureCNN and MLP sizes. "
              f"Measured fp32 matmul peak of this machine: {fmt(r['matmul_peak_gflops'])} "
              "GFLOP/s.", "",
              "| batch | learner | parameters | updates/s | × SB3 TD3 | GFLOP/update | "
              "fraction of matmul peak |", "|---|---|---|---|---|---|---|"]
    for batch, b in r["batches"].items():
        for row in b["rows"]:
            lines.append(f"| {batch} | {row['learner']} | {row['params']:,} | "
                         f"{row['updates_per_s']:.3f} | {row['ratio_vs_sb3']:.2f} | "
                         f"{row['gflop_per_update']:.1f} | "
                         f"{100 * row['fraction_of_matmul_peak']:.0f} % |")
    lines.append("")
    for batch, b in r["batches"].items():
        ours = {row["learner"]: row["ratio_vs_sb3"] for row in b["rows"]}
        sep, shared = ours.get("ours separate"), ours.get("ours shared")
        lines.append(f"- Goal ≥ {GOAL_LEARNER_SPEEDUP:g}× SB3 updates/s, batch {batch}: "
                     f"`separate` {sep:.2f}× {goal(sep >= GOAL_LEARNER_SPEEDUP)}, `shared` "
                     f"(default) {shared:.2f}× {goal(shared >= GOAL_LEARNER_SPEEDUP)}.")
    return lines + [""]


def threads_lines(r: dict | None) -> list[str]:
    """Section 2's second table: the learner's torch threads beside busy processes."""
    command = "./env.sh python -m benchmarks.learner_threads"
    head = "### The learner's torch threads beside other busy processes"
    if r is None:
        return [head, "", f"No record: run `{command}`.", ""]
    threads = sorted({row["threads"] for row in r["rows"]})
    others = sorted({row["other_cores"] for row in r["rows"]})
    rate = {(row["other_cores"], row["threads"]): row["updates_per_s"] for row in r["rows"]}
    lines = [head, "", provenance(r), "",
             f"Updates/s of the default config's update (batch {r['batch_size']}, encoder "
             f"`{r['encoder_mode']}`, replay sampling included) with each number of torch "
             "threads, while stand-in processes keep some of the machine's cores busy (one "
             "vehicle's simulator and agent took about 0.3 of a core in the quiet run of section "
             f"1); best of {r['rounds']} interleaved rounds of {r['updates_timed_per_round']} "
             "updates.", "",
             "| cores kept busy by other processes | "
             + " | ".join(f"{t} thread(s)" for t in threads) + " |",
             "|---|" + "---|" * len(threads)]
    for o in others:
        lines.append(f"| {o:g} | " + " | ".join(
            f"{rate[o, t]:.2f}" + (f" ({rate[o, t] / rate[o, threads[0]]:.2f}×)"
                                   if t != threads[0] else "")
            for t in threads) + " |")
    return lines + [""]


def overhead_section(r: dict | None) -> list[str]:
    lines = opening("## 3. ROS overhead", r, "./env.sh python -m benchmarks.ros_overhead")
    if r is None:
        return lines
    ros, inproc, cfg = r["ros"], r["inprocess"], r.get("settings", {})

    def row(name: str, x: dict) -> str:
        utd = x.get("update_to_data_measured") or x["updates"] / max(x["steps"], 1)
        cores = x.get("stack_cpu_cores", x.get("cpu_cores"))
        return (f"| {name} | {x['steps_per_s']:.1f} | {x['updates_per_s']:.2f} | {utd:.3f} | "
                f"{cores:.2f} | {x['steps_per_cpu_s']:.1f} |")
    lines += [f"Both train the same core with the same settings (update-to-data "
              f"{cfg.get('update_to_data')}, batch {cfg.get('batch_size')}, encoder "
              f"`{cfg.get('encoder_mode')}`, {cfg.get('torch_threads')} torch thread), timed "
              f"over {cfg.get('window_steps')} agent steps after the warm-up.", "",
              "| trainer | env steps/s | updates/s | updates per step | CPU cores used | "
              "env steps per CPU-second |", "|---|---|---|---|---|---|",
              row("full ROS stack (sim_bridge + agent + learner processes)", ros),
              row("in-process (`gym_trainer --env driving`, one thread of control)", inproc),
              "",
              f"- Overhead = 1 − ROS / in-process env steps/s = {100 * r['overhead']:.0f} % "
              f"(negative: the stack is faster, because its processes overlap simulation, "
              f"acting and training on both cores while the in-process loop runs them one "
              f"after the other); goal ≤ {100 * r['goal_overhead_max']:.0f} % "
              f"{goal(r['goal_met'])}.",
              f"- Per CPU-second, the cost view: overhead "
              f"{100 * r['overhead_per_cpu_second']:.1f} %.", ""]
    return lines


def transport_section(r: dict | None) -> list[str]:
    lines = opening("## 4. Transport", r, "./env.sh python -m benchmarks.transport")
    if r is None:
        return lines
    b, t, w, a = r["bytes"], r["throughput"], r["weights"], r["agents"]
    lines += ["| measurement | value |", "|---|---|",
              f"| replay bytes per transition (serialized ExperienceBatch, {b['batch_steps']} "
              f"steps, frame {'×'.join(map(str, b['frame_shape']))}) | "
              f"{b['bytes_per_transition']:,.0f} B ({b['frame_bytes_per_transition']:,} B "
              f"frame + {b['overhead_bytes_per_transition']:.0f} B rest) |",
              f"| replay transitions/s into a ReplayBuffer (receiver as the learner: "
              f"{t['executor']}) | {t['transitions_per_s']:,.0f} ({t['megabytes_per_s']:.0f} "
              f"MB/s, {t['messages_per_s']:.0f} msg/s) |",
              f"| … steps the receiver lost to gaps while the publisher ran flat out | "
              f"{t['steps_lost_total']:,} of {t['publisher_steps_sent']:,} sent |",
              f"| weights ({w['payload_bytes'] / 1e6:.1f} MB) publish → agent swap, median / "
              f"p90 / max | {w['latency_ms']['median']:.0f} / {w['latency_ms']['p90']:.0f} / "
              f"{w['latency_ms']['max']:.0f} ms ({w['received']}/{w['publications']} "
              f"received at {w['rate_hz']:g} Hz) |", ""]
    lines += ["Env steps/s with N agents, the learner never training (warm-up actions): "
              "the simulators and agents alone.", "",
              "| agents | env steps/s | × 1 agent | stack CPU cores | stack CPU ms per step "
              "| machine busy |", "|---|---|---|---|---|---|"]
    for run in a["runs"]:
        lines.append(f"| {run['num_agents']} | {run['steps_per_s']:.1f} | "
                     f"{run['ratio_vs_1_agent']:.2f} | {run['stack_cpu_cores']:.2f} | "
                     f"{run['stack_cpu_ms_per_step']:.0f} | "
                     f"{100 * run['machine_cpu_busy_fraction']:.0f} % |")
    one = a["runs"][0]
    cores = cpu_count(r["machine"])
    share = ", ".join(f"{name.split('/')[-1]} {c:.2f}" for name, c in one["cpu_cores"].items())
    lines += ["", f"- Goal replay ≤ {b['goal_bytes_per_transition'] / 1000:g} KB/transition: "
              f"{b['bytes_per_transition']:,.0f} B {goal(b['goal_met'])}.",
              f"- Goal 4 agents ≥ {a['goal_ratio_4_vs_1']:g}× the env steps/s of 1: "
              f"{a['ratio_4_vs_1']:.2f}× {goal(a['goal_met'])}. What limits it: CPU. The "
              f"simulator is not "
              f"paced to real time, so one agent's stack already used "
              f"{one['stack_cpu_cores']:.2f} of the {cores} cores ({share}); at the CPU cost "
              f"per step measured with 4 agents, {cores} cores give at most "
              f"{a['ratio_4_vs_1_bound_all_cores']:.2f}× the 1-agent rate. Env steps/s grow "
              f"with cores, not with agents on one machine: {a['goal_ratio_4_vs_1']:g}× "
              f"needs about {a['goal_ratio_4_vs_1'] * one['stack_cpu_cores']:.1f} cores' "
              f"worth of hosts (agents on other "
              f"hosts feeding the learner over DDS) or a cheaper step (the agent's per-step "
              f"CPU is the largest share).", ""]
    return lines


def memory_section(r: dict | None) -> list[str]:
    lines = opening("## 5. Memory", r, "./env.sh python -m benchmarks.memory")
    if r is None:
        return lines
    rss = r["rss_mb"]
    lines += [f"A learner node fed {r['transitions']:,} transitions over the replay topic "
              f"(never training): RSS {rss['start']:.0f} MB at start, "
              f"{rss['after_warmup']:.0f} MB after the first {r['warmup_steps']:,}, "
              f"{rss['after']:.0f} MB at the end.", "",
              "| measurement | MB per 100k transitions |", "|---|---|",
              f"| learner RSS growth | {r['rss_mb_per_100k_transitions']:.0f} |",
              f"| the replay buffer's own bytes ({r['buffer_bytes_per_transition']:,.0f} B "
              f"per transition) | {r['buffer_mb_per_100k_transitions']:.0f} |", "",
              f"RSS growth / buffer bytes = {r['rss_over_buffer_ratio']:.3f}.", ""]
    return lines


def deployed_actor_section(r: dict | None) -> list[str]:
    lines = opening("## 6. The deployed actor: online or its Polyak average", r,
                    "./env.sh python -m benchmarks.deployed_actor CHECKPOINT ...")
    if r is None:
        return lines
    lines += ["Both actors of each learner checkpoint, scored with the benchmark protocol "
              f"without ROS on {r['episodes']} tracks: the online actor and the target "
              "actor (its Polyak average at rate tau). The learner deploys the target "
              "actor (TD3Config.deploy_target_actor).", "",
              "| checkpoint | frames | online actor | target actor | target − online |",
              "|---|---|---|---|---|"]
    for row in r["rows"]:
        frames = f"{row['frames']:,}" if row.get("frames") else "–"
        on, tg = row["online"]["mean"], row["target"]["mean"]
        lines.append(f"| `{row['checkpoint']}` | {frames} | {on:.1f} | {tg:.1f} | "
                     f"{tg - on:+.1f} |")
    better = sum(row["target"]["mean"] > row["online"]["mean"] for row in r["rows"])
    lines += ["", f"The target actor scored higher on {better} of {len(r['rows'])} "
              "checkpoints.", ""]
    return lines


# The per-step CPU table's columns: (record section, sim_tick_cpu driver, figure, heading)
CPU_COLUMNS = [
    ("agent_step", None, "agent_cpu_ms_per_step", "agent, scripted bridge: ms/step"),
    ("sim_tick_cpu", "scripted", "sim_bridge_cpu_ms_per_tick",
     "sim_bridge, scripted driver: ms/tick"),
    ("sim_tick_cpu", "agent", "agent_cpu_ms_per_step", "agent driving sim_bridge: ms/step"),
    ("sim_tick_cpu", "agent", "sim_bridge_cpu_ms_per_tick",
     "sim_bridge driven by the agent: ms/tick"),
]
CPU_COMMANDS = ("./env.sh python -m benchmarks.agent_step --source OLD --source . --rounds 3 "
                "--json docs/benchmarks/results/cpu-agent-step.json",
                "./env.sh python -m benchmarks.sim_tick_cpu --source OLD --source . --rounds 3 "
                "--json docs/benchmarks/results/cpu-sim-tick.json",
                "./env.sh python -m benchmarks.sim_tick_cpu --driver agent --source OLD "
                "--source . --rounds 3 --json docs/benchmarks/results/cpu-sim-agent.json")


def _cpu_cell(tree: dict | None, figure: str) -> str:
    """The median over a tree's runs, with their range."""
    if tree is None or figure not in tree:
        return "–"
    runs = [r[figure] for r in tree["runs"] if figure in r]
    spread = f" ({min(runs):.2f}–{max(runs):.2f})" if len(runs) > 1 else ""
    return f"{tree[figure]:.2f}{spread}"


def cpu_section(records: list[dict]) -> list[str]:
    """One before/after table of CPU per agent step and per simulator tick, and the profile."""
    lines = ["## 7. CPU per agent step and per simulator tick", ""]
    measured = [r for r in records if r.get("section") in ("agent_step", "sim_tick_cpu")
                and not r.get("profiled")]
    by_column = {(r["section"], r.get("driver")): r for r in measured}
    if not measured:
        return lines + ["No records: run " + "; ".join(f"`{c}`" for c in CPU_COMMANDS)
                        + " (OLD: a checkout of the commit to compare with).", ""]
    commits: dict[str, dict] = {}
    for r in measured:
        for tree in r["trees"]:
            commits.setdefault(tree["source"]["commit"], tree["source"])
    order = sorted(commits.values(), key=lambda src: src["commit_date"])
    lines += ["CPU time (user + system, from /proc) of the node processes per agent step or "
              "simulator tick, in lockstep, warm-up actions (no policy inference). Each tree "
              "ran as many times as its record's rounds, the trees in turn; a cell is the "
              "median (and the range) of its runs. `agent_step`: the agent alone, fed by a "
              "scripted bridge that sends what the simulator sends (image, vehicle status, "
              "/clock, /carla/status, odometry; a track-long route on every reset). "
              "`sim_tick_cpu`: sim_bridge driven by a scripted driver, or by the agent node "
              "itself with a stand-in learner taking its replay: episodes and track changes "
              "as in training, the stack of §4 without the learner. OpenMP/BLAS threads per "
              "node as each record says below (the stack starts every node with one).", "",
              "| tree | " + " | ".join(h for _, _, _, h in CPU_COLUMNS) + " |",
              "|---|" + "---|" * len(CPU_COLUMNS)]
    for src in order:
        cells = []
        for section, driver, figure, _ in CPU_COLUMNS:
            r = by_column.get((section, driver))
            tree = next((t for t in r["trees"] if t["source"]["commit"] == src["commit"]),
                        None) if r else None
            cells.append(_cpu_cell(tree, figure))
        note = " (with changes not committed)" if src.get("modified") else ""
        lines.append(f"| `{src['commit'][:10]}` {src['commit_date'][:10]}: "
                     f"{src['subject'][:70]}{note} | " + " | ".join(cells) + " |")
    lines.append("")
    for (section, driver), r in sorted(by_column.items(), key=lambda kv: str(kv[0])):
        lines.append(f"- {section}" + (f" ({driver} driver)" if driver else "") + ": "
                     + provenance(r) + f" {r.get('rounds', 1)} round(s) of "
                     + (f"{r['steps']} measured steps" if "steps" in r else
                        f"{r.get('ticks')} measured ticks")
                     + f"; threads {r.get('thread_environment')}.")
    newest = order[-1]["commit"]
    lines += ["", f"Goals for the newest tree (`{newest[:10]}`): agent ≤ {GOAL_AGENT_MS:g} ms "
              f"per step, sim_bridge ≤ {GOAL_SIM_MS:g} ms per tick, in every measurement:"]
    for section, driver, figure, heading in CPU_COLUMNS:
        r = by_column.get((section, driver))
        tree = next((t for t in r["trees"] if t["source"]["commit"] == newest), None) \
            if r else None
        if tree is None or figure not in tree:
            lines.append(f"- {heading}: not measured")
            continue
        limit = GOAL_AGENT_MS if figure.startswith("agent") else GOAL_SIM_MS
        lines.append(f"- {heading}: {tree[figure]:.2f} {goal(tree[figure] <= limit)}")
    lines += ["", *profile_lines(records), ""]
    return lines


def profile_lines(records: list[dict]) -> list[str]:
    """Where a profiled sim_tick_cpu run's CPU went, per process (shares of cProfile time)."""
    prof = [r for r in records if r.get("section") == "sim_tick_cpu" and r.get("profile")]
    if not prof:
        return ["No profile record: run `./env.sh python -m benchmarks.sim_tick_cpu --driver "
                "agent --profile sim.prof --profile_agent agent.prof --json "
                "docs/benchmarks/results/cpu-profile.json`."]
    r = prof[0]
    src = r["trees"][0]["source"]
    out = [f"Where the time goes: one run of `{src['commit'][:10]}` under cProfile "
           "(benchmarks/profiled.py, the measured ticks only; the profiler inflates Python "
           "calls more than C code, so shares, not milliseconds). Parts are cumulative CPU of "
           "the named function, as a share of the process's profiled CPU; nested parts are "
           "marked with ...; the rest is the executor's own work around each callback "
           "(tasks, handlers) outside these functions.",
           "", provenance(r), "", "| process | part | share |", "|---|---|---|"]
    for process, p in r["profile"].items():
        for part, share in p["shares"].items():
            out.append(f"| {process} | {part} | {100 * share:.0f} % |")
    return out


def other_sections(records: list[dict]) -> list[str]:
    """Sections 2-7 from the records the performance scripts write."""
    by_section = {r.get("section"): r for r in records if r.get("section") != "learning"}
    return (throughput_section(by_section.get("learner_throughput"))
            + threads_lines(by_section.get("learner_threads"))
            + overhead_section(by_section.get("ros_overhead"))
            + transport_section(by_section.get("transport"))
            + memory_section(by_section.get("memory"))
            + deployed_actor_section(by_section.get("deployed_actor"))
            + cpu_section(records))
