"""The background-callback manager Halley configures: a job never starts on a result some
earlier job left under the same key (Dash keys results by the callback's arguments)."""
from pathlib import Path

from dashboard.background import make_background_manager
from dashboard.config import Settings


def _idle_job(result_key, progress_key, args, context):
    """A job that stores nothing (a job still computing)."""


def test_a_job_does_not_start_on_a_leftover_result(tmp_path):
    manager = make_background_manager(Settings.from_env(home=tmp_path))
    key = "same-arguments"
    for entry in (key, manager._make_progress_key(key), manager._make_set_props_key(key)):
        manager.handle.set(entry, "left by a superseded job")
    pid = manager.call_job_fn(key, _idle_job, [], {})
    assert manager.get_result(key, None) is manager.UNDEFINED  # the page waits for this job's result
    assert manager.get_progress(key) is None and manager.get_updated_props(key) == {}
    manager.terminate_job(pid)



def test_a_job_that_already_ended_is_simply_gone(tmp_path, monkeypatch):
    """Dash checks that a job's process exists, then opens it to kill it (a superseded job) or to
    ask whether it runs; a job that ends in between must not fail the request. Here psutil says
    the process exists, as it did at Dash's check, and the pid names no process (it is above
    the largest pid the system hands out), as once the job has ended."""
    import psutil

    manager = make_background_manager(Settings.from_env(home=tmp_path))
    ended = str(int(Path("/proc/sys/kernel/pid_max").read_text()) + 1)
    monkeypatch.setattr(psutil, "pid_exists", lambda pid: True)
    manager.terminate_job(ended)
    assert manager.job_running(ended) is False
    assert manager.terminate_unhealthy_job(ended) is True


def _job_storing_when_told(result_key, progress_key, args, context):
    """A job that stores its result once the file args[1] exists, then ends."""
    import pathlib
    import time

    import diskcache

    while not pathlib.Path(args[1]).exists():
        time.sleep(0.01)
    diskcache.Cache(args[0]).set(result_key, "figures")


def test_a_result_stored_as_the_job_ends_is_read_not_taken_for_a_cancel(tmp_path):
    """Dash reads the result, then asks whether the job runs; a job that stores its result and
    ends in between must still be answered with that result, not with "cancelled"."""
    import psutil

    manager = make_background_manager(Settings.from_env(home=tmp_path))
    key, go = "finishing-now", tmp_path / "go"
    pid = manager.call_job_fn(key, _job_storing_when_told, [manager.handle.directory, str(go)], {})
    real_get = manager.handle.get

    def read_then_let_the_job_finish(k, *args, **kwargs):
        value = real_get(k, *args, **kwargs)
        if k == key:  # the job stores its result and ends right after this read
            manager.handle.get = real_get
            go.touch()
            psutil.Process(pid).wait(30)
        return value

    manager.handle.get = read_then_let_the_job_finish
    assert manager.get_result(key, pid) == "figures"
    assert not manager.job_running(pid)


def _job_storing_its_parent(result_key, progress_key, args, context):
    import os
    import threading

    import diskcache

    from dashboard.background import job_settings

    diskcache.Cache(args[0]).set(result_key, {"parent": os.getppid(), "threads": threading.active_count(),
                                              "home": str(job_settings().home)})


def test_jobs_are_started_by_a_fork_server_with_the_servers_settings(tmp_path):
    """A job forked from a worker with many threads could inherit a lock another thread held
    (SQLite's, the allocator's) and wait on it for ever; jobs come from a single-threaded fork
    server instead, and get the settings of the server that started them."""
    import os
    import threading

    import psutil

    busy = threading.Event()
    threads = [threading.Thread(target=busy.wait) for _ in range(4)]  # a worker's request threads
    for t in threads:
        t.start()
    try:
        settings = Settings.from_env(home=tmp_path)
        manager = make_background_manager(settings)
        pid = manager.call_job_fn("parent", _job_storing_its_parent, [manager.handle.directory], {})
        psutil.Process(pid).wait(60) if psutil.pid_exists(pid) else None
        result = manager.get_result("parent", None)
    finally:
        busy.set()
    assert result["parent"] != os.getpid() and result["threads"] == 1
    assert result["home"] == str(settings.home)


def _sleeping_job(result_key, progress_key, args, context):
    import time

    time.sleep(60)


def test_a_superseded_job_is_ended(tmp_path):
    manager = make_background_manager(Settings.from_env(home=tmp_path))
    pid = manager.call_job_fn("superseded", _sleeping_job, [], {})
    assert manager.job_running(pid)
    manager.terminate_job(pid)
    assert not manager.job_running(pid)


def _counted_job(result_key, progress_key, args, context):
    """A job counted as ``probe``: it ends as args[0] says (completed, failed, or, once it has
    created the file args[1], waits for a cancel)."""
    import pathlib
    import time

    from dashboard import observability

    def run():
        if args[0] == "failed":
            raise RuntimeError("the job fails")
        if args[0] == "cancelled":
            pathlib.Path(args[1]).touch()
            end = time.monotonic() + 300  # (a test that fails before its cancel leaves no job behind for long)
            while time.monotonic() < end:
                time.sleep(0.05)

    observability.run_job("probe", run)


# A server process in miniature: the workers' shared metrics folder named before prometheus_client
# is imported (as `halley serve` does), jobs started through the manager, counts read as a scrape does.
COUNTING_SERVER = r"""
import json, os, sys

if __name__ == "__main__":  # not in the job processes, which import this module again
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
    import time

    import psutil

    from dashboard import observability
    from dashboard.background import make_background_manager
    from dashboard.config import Settings
    from tests.test_background_jobs import _counted_job

    manager = make_background_manager(Settings.from_env(home=sys.argv[2]))
    for round in range(int(sys.argv[3])):
        for outcome in ("completed", "failed", "cancelled"):
            running = os.path.join(sys.argv[2], f"running-{round}")
            pid = manager.call_job_fn(f"{outcome}-{round}", _counted_job, [outcome, running], {})
            if outcome == "cancelled":
                while not os.path.exists(running):  # cancelled while it runs
                    time.sleep(0.05)
                manager.terminate_job(pid)
            psutil.Process(pid).wait(60) if psutil.pid_exists(pid) else None
    observability.count_ended_jobs()
    scrape = observability.generate_latest(observability._process_registry()).decode()
    print(json.dumps({"scrape": scrape, "files": sorted(os.listdir(sys.argv[1]))}))
"""


def test_job_processes_hand_their_counts_to_the_server_and_leave_no_metrics_files(tmp_path):
    """A job process lives for one job: it counts nothing into the shared metrics folder itself
    (a set of files per job would pile up there) but hands its outcome to the server process,
    which counts every job, completed, failed or cancelled."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    shared, rounds = tmp_path / "prometheus", 3
    shared.mkdir()
    script = tmp_path / "server.py"
    script.write_text(COUNTING_SERVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run([sys.executable, str(script), str(shared), str(tmp_path / "home"), str(rounds)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for outcome in ("completed", "failed", "cancelled"):
        labels = f'job="probe",outcome="{outcome}"'
        assert f"halley_background_jobs_total{{{labels}}} {float(rounds)}" in out["scrape"], out["scrape"]
        assert f"halley_background_job_duration_seconds_count{{{labels}}} {float(rounds)}" in out["scrape"]
    # the files of one process: the server's (nine jobs ran)
    assert len({name.rsplit("_", 1)[1] for name in out["files"]}) == 1, out["files"]
