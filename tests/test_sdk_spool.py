"""The spool directory of a run whose server is unreachable: entries added while the sender
clears a drained directory are kept (the two run on different threads)."""
import threading

from dashboard.sdk import spool
from dashboard.sdk.spool import Delivery, SpoolDir


def test_an_entry_added_while_the_drained_folder_is_cleared_is_kept(tmp_path, monkeypatch):
    box = SpoolDir(tmp_path / "run", {"name": "run"})
    first = Delivery("batch", payload=b'{"batch_id": "a"}')
    box.add(first)
    SpoolDir.remove(first)  # delivered: the folder is drained

    writing, go_on = threading.Event(), threading.Event()
    write = spool._atomic_write

    def paused_write(path, data):  # the logging thread stops in the middle of adding an entry
        if path.name.endswith(".batch.json"):
            writing.set()
            go_on.wait(10)
        write(path, data)

    monkeypatch.setattr(spool, "_atomic_write", paused_write)
    second = Delivery("batch", payload=b'{"batch_id": "b"}')
    errors = []
    adder = threading.Thread(target=lambda: _run(lambda: box.add(second), errors))
    adder.start()
    assert writing.wait(10)
    clearer = threading.Thread(target=lambda: _run(box.clear_if_done, errors))
    clearer.start()
    clearer.join(0.3)
    assert clearer.is_alive()  # the sender waits for the entry being added
    go_on.set()
    adder.join(10)
    clearer.join(10)
    assert errors == []
    assert second.spool_paths and second.spool_paths[0].read_bytes() == b'{"batch_id": "b"}'
    assert spool.read_spool_dir(box.path).entries[0].payload == b'{"batch_id": "b"}'


def _run(fn, errors):
    try:
        fn()
    except Exception as exc:  # reported to the test, which asserts there was none
        errors.append(exc)
