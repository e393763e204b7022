"""The background-callback manager Halley configures: a job never starts on a result some
earlier job left under the same key (Dash keys results by the callback's arguments)."""
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
