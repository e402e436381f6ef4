"""Start-up: ``import summarize`` and ``summarize --help`` as whole processes, medians of one run.

    python benchmarks/startup_bench.py [--runs 15]

Each command runs `runs` times, interleaved, after one warm-up run (the OS file cache). The
bare interpreter is the floor; ``import summarize.pipeline`` is what ``import summarize`` cost
before names were imported on first use (the openai SDK and instructor load with the
backends). Target: ``import summarize`` and ``summarize --help`` at most 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python (bare interpreter)": [sys.executable, "-c", "pass"],
    "import summarize": [sys.executable, "-c", "import summarize"],
    "summarize --help": [sys.executable, "-m", "summarize", "--help"],
    "first use: summarize.Summarizer": [
        sys.executable,
        "-c",
        "import summarize; summarize.Summarizer",
    ],
    "import summarize.pipeline": [sys.executable, "-c", "import summarize.pipeline"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        subprocess.run(command, check=True, capture_output=True)
    for _ in range(runs):
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[name].append(time.perf_counter() - started)
    floor = statistics.median(times["python (bare interpreter)"])
    print(f"{runs} runs each, interleaved; median wall time of the whole process\n")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:34} {median:6.3f}s  (+{median - floor:.3f}s over the interpreter)")
    print("\ntarget: import summarize and summarize --help at most 0.3 s")


if __name__ == "__main__":
    main()
