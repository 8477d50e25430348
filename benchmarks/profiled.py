"""Run a Python program under cProfile, profiling only between SIGUSR1 and SIGUSR2.

    python benchmarks/profiled.py OUT -m package.module [ARGS...]
    python benchmarks/profiled.py OUT script.py [ARGS...]

A benchmark that starts a node process this way sends SIGUSR1 when its measurement window
opens and SIGUSR2 when it closes, so imports, start-up and shutdown stay out of the
figures; the stats (CPU time, not wall time: a busy machine must not inflate them) are
written to OUT when the program exits. Run as a file, not as ``-m benchmarks.profiled``:
it only needs the standard library, so it also runs a node of another checkout.
"""

import cProfile
import runpy
import signal
import sys
import time


def main() -> None:
    out, target = sys.argv[1], sys.argv[2:]
    profile = cProfile.Profile(time.process_time)
    signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
    signal.signal(signal.SIGUSR2, lambda *_: profile.disable())
    try:
        if target[0] == "-m":
            sys.argv = [target[1], *target[2:]]
            runpy.run_module(target[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = target
            runpy.run_path(target[0], run_name="__main__")
    except SystemExit:
        pass
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
