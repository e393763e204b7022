"""Background-job start-up: how long a Dash background job takes from start to stored result.

    .venv/bin/python benchmarks/background_jobs.py [--jobs 10]

Jobs come from a fork server (``dashboard.background``). The first job of a process waits for
the fork server to start; later jobs only fork. The script runs
trivial jobs one after another through the manager the server uses and prints each time, and
the fork server's memory.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from dashboard.background import make_background_manager  # noqa: E402
from dashboard.config import Settings  # noqa: E402


def store_done(result_key, progress_key, args, context):
    """A job that does nothing but store its result."""
    import diskcache

    diskcache.Cache(args[0]).set(result_key, "done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args()
    manager = make_background_manager(Settings.from_env(home=tempfile.mkdtemp(prefix="halley-jobs-")))
    times = []
    for i in range(args.jobs):
        started = time.perf_counter()
        manager.call_job_fn(f"job-{i}", store_done, [manager.handle.directory], {})
        while manager.get_result(f"job-{i}", None) is manager.UNDEFINED:
            time.sleep(0.002)
        times.append(time.perf_counter() - started)
    print(f"first job (starts the fork server): {times[0] * 1000:8.1f} ms")
    if len(times) > 1:
        print(f"later jobs, median of {len(times) - 1}:     {statistics.median(times[1:]) * 1000:8.1f} ms")
    for child in psutil.Process(os.getpid()).children():
        if "forkserver" in " ".join(child.cmdline()):
            print(f"fork server memory (RSS):           {child.memory_info().rss / 2**20:8.0f} MB")


if __name__ == "__main__":
    main()
