"""HTTP to the server and the background sender.

Logging calls append plain tuples to a deque (no lock, no I/O). The sender thread drains it
about every 0.5 s, coalesces items into batches of at most 5,000 (each with a fresh batch_id;
metric points go column by column per metric, the compact ``metric_columns`` form), and posts
them in order. Its first request creates (or resumes) the experiment; a new run's creation
rides on its first batch (``start``) when one is ready within the interval; ``end()`` queues the end,
which rides on the last batch. When the server is unreachable (connection error, timeout, 5xx, 408,
429) every pending entry is written to the spool directory and retried with exponential
backoff; the same batch_id / asset_id is reused, so the server stores each entry once.
"""
from __future__ import annotations

import collections
import gzip
import http.client
import json
import os
import select
import sys
import threading
import time
import urllib.parse
import uuid
from typing import Callable

import orjson
import requests

from dashboard.sdk.config import ClientConfig, env_bool
from dashboard.sdk.formats import json_number, json_value
from dashboard.sdk.spool import Delivery, SpoolDir

MAX_ITEMS = 5000
MAX_NAME = 300  # the server's limit for metric, parameter and other names
OUTPUT_CHUNK = 64 * 1024
GZIP_MIN_BYTES = 64 * 1024
USER_AGENT = "halley-sdk/1"
KEY_REFUSED = (401, 403)  # the key no longer works (rotated, revoked) or no longer may write here


def warn(message: str, label: str = "HALLEY WARNING") -> None:
    """Writes to the real stderr, so SDK messages stay out of the captured output."""
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(f"{label}: {message}\n")
        stream.flush()
    except Exception:
        pass


def notice(message: str) -> None:
    warn(message, "HALLEY")


class Transient(Exception):
    """Worth retrying later: the server is down, overloaded or timed out."""


class Rejected(Exception):
    """The server refused the request (4xx); retrying won't help."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Reply:
    """A response of the direct HTTP path, with the parts of ``requests.Response`` callers use."""

    __slots__ = ("status_code", "content", "headers")

    def __init__(self, status_code: int, content: bytes, headers):
        self.status_code = status_code
        self.content = content
        self.headers = headers

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


_IDLE: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}  # kept-alive connections by server
_IDLE_LOCK = threading.Lock()
_IDLE_MAX = 8
_ENVIRONMENT: dict[tuple, dict] = {}  # (base URL, variables) -> proxies / CA bundle / cert to use
_ENVIRONMENT_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                      "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_REDIRECTS = (301, 302, 303, 307, 308)


def _forget_connections_in_child() -> None:
    _IDLE.clear()  # a forked child must not share the parent's sockets (dropped, not shut down)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections_in_child)


def _dropped(sock) -> bool:
    """An idle kept-alive socket that is readable was closed by the server (or is out of step)."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll() on this platform
        try:
            return bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True


class HttpClient:
    """The SDK's requests to one server; usable from several threads.

    Plain-HTTP servers reached without a proxy (the usual self-hosted case) are spoken to
    directly over kept-alive ``http.client`` connections shared by the process's clients,
    which costs a fraction of a ``requests`` call per request; HTTPS, proxies, redirects and
    uploads go through ``requests`` (one Session per client).
    """

    def __init__(self, config: ClientConfig):
        self.config = config
        self.base = config.url + "/api/v1"
        self.headers = {"User-Agent": USER_AGENT}
        if config.api_key:
            self.headers["Authorization"] = config.api_key
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        self._direct: bool | None = None  # decided on first use
        parts = urllib.parse.urlsplit(self.base)
        self._server = (parts.hostname or "", parts.port or 80)
        self._prefix = parts.path
        local = any(h in config.url for h in ("://127.0.0.1", "://localhost", "://[::1]"))
        self.gzip = env_bool("HALLEY_GZIP", not local)  # compressing costs more than it saves on loopback

    def _environment(self) -> dict:
        """Proxies and CA bundle from the environment as ``requests`` reads them, looked up
        once per server and setting rather than on every request (and a .netrc entry can't
        replace the API key)."""
        key = (self.base, *map(os.environ.get, _ENVIRONMENT_NAMES))
        found = _ENVIRONMENT.get(key)
        if found is None:
            found = _ENVIRONMENT[key] = requests.Session().merge_environment_settings(self.base, {}, None, None, None)
        return found

    @property
    def session(self) -> requests.Session:
        with self._session_lock:
            if self._session is None:
                session = requests.Session()
                session.headers.update(self.headers)
                found = self._environment()
                session.proxies.update(found["proxies"])
                session.verify, session.cert = found["verify"], found["cert"]
                session.trust_env = False
                self._session = session
            return self._session

    def _use_direct(self) -> bool:
        if self._direct is None:
            proxies = self._environment()["proxies"]
            self._direct = self.base.startswith("http://") and requests.utils.select_proxy(self.base, proxies) is None
        return self._direct

    def request(self, method: str, path: str, *, json_body=None, raw: bytes | None = None,
                files=None, data=None, params=None, timeout: float | None = None,
                sent: threading.Event | None = None):
        """The server's answer (a ``requests.Response`` or a ``Reply``); Transient for what is
        worth retrying (unreachable, timeout, 5xx, 408, 429), Rejected for other 4xx.
        ``sent`` is set once the request is on its way (direct path), or before it is made."""
        headers = {}
        if json_body is not None:
            raw = json.dumps(json_body, separators=(",", ":"), allow_nan=False).encode()
        if raw is not None:
            headers["Content-Type"] = "application/json"
            if self.gzip and len(raw) >= GZIP_MIN_BYTES:
                raw = gzip.compress(raw, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
        timeout = timeout or self.config.request_timeout_s
        r = None
        if files is None and data is None and params is None and self._use_direct():
            r = self._direct_request(method, path, raw, headers, timeout, sent)
            if r.status_code in _REDIRECTS:  # e.g. moved to HTTPS: let requests follow it from now on
                self._direct, r = False, None
        if r is None:
            if sent is not None:
                sent.set()
            try:
                r = self.session.request(method, self.base + path, data=raw if raw is not None else data,
                                         files=files, params=params, headers=headers, timeout=timeout)
            except requests.RequestException as exc:
                raise Transient(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code >= 500 or r.status_code in (408, 429):
            raise Transient(f"HTTP {r.status_code}")
        if r.status_code >= 400:
            try:
                message = r.json().get("error") or r.text
            except (ValueError, AttributeError):
                message = r.text[:500]
            raise Rejected(r.status_code, f"HTTP {r.status_code}: {message}")
        return r

    def _direct_request(self, method: str, path: str, body: bytes | None, headers: dict, timeout: float,
                        sent: threading.Event | None = None) -> Reply:
        headers = {**self.headers, **headers}
        for attempt in (1, 2):
            conn, reused = self._checkout(timeout)
            try:
                conn.request(method, self._prefix + path, body=body, headers=headers)
                if sent is not None:
                    sent.set()
                response = conn.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                # A kept-alive connection the server closed meanwhile: once more on a new one
                # (every SDK request is safe to repeat: batches and assets carry their ids).
                if attempt == 1 and reused and isinstance(exc, (ConnectionError, http.client.RemoteDisconnected)):
                    continue
                raise Transient(f"{type(exc).__name__}: {exc}") from exc
            if response.will_close:
                conn.close()
            else:
                self._checkin(conn)
            return Reply(response.status, content, response.headers)
        raise AssertionError("unreachable")

    def _checkout(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        with _IDLE_LOCK:
            idle = _IDLE.get(self._server)
            while idle:
                conn = idle.pop()
                if conn.sock is not None and not _dropped(conn.sock):
                    conn.sock.settimeout(timeout)
                    conn.timeout = timeout
                    return conn, True
                conn.close()
        return http.client.HTTPConnection(*self._server, timeout=timeout), False

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        with _IDLE_LOCK:
            idle = _IDLE.setdefault(self._server, [])
            if len(idle) < _IDLE_MAX:
                idle.append(conn)
                return
        conn.close()

    def deliver(self, key: str, d: Delivery, start: dict | None = None):
        """Sends a batch or an asset; ``start``: the batch also creates the experiment if the
        key is new (its ``start`` field, added to the already encoded JSON object)."""
        if d.kind == "batch":
            payload = d.payload if start is None else d.payload[:-1] + b',"start":' + encode(start) + b"}"
            return self.request("POST", f"/experiments/{key}/batch", raw=payload)
        form = {k: (json.dumps(v) if k == "metadata" else str(v)) for k, v in d.fields.items()
                if v is not None}
        name = d.fields.get("name") or "asset"
        try:
            data = d.asset_bytes()
        except OSError as exc:  # e.g. a large file deleted before it could be sent
            raise Rejected(0, f"asset {name!r} could not be read: {exc}") from exc
        return self.request("POST", f"/experiments/{key}/assets", data=form,
                            files={"file": (name, data, "application/octet-stream")},
                            timeout=max(self.config.request_timeout_s, 300))


def metric_value(value):
    """A metric value the server accepts (a number or "NaN"/"Infinity"/"-Infinity"), or None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    out = json_number(value)
    return out if not isinstance(out, (str, bool)) or out in ("NaN", "Infinity", "-Infinity") else None


def _int_or_none(value):
    return value if value is None or type(value) is int else int(value)


class _Series:
    """One metric's queued points, column by column (the batch's ``metric_columns`` form)."""

    __slots__ = ("value", "step", "epoch", "timestamp", "context")

    def __init__(self):
        self.value, self.step, self.epoch, self.timestamp, self.context = [], [], [], [], []

    def body(self, name: str) -> dict:
        """Null columns are left out, so the common point costs a value, a step and a time."""
        d = {"name": name, "value": _json_values(self.value)}
        for field in ("step", "epoch", "timestamp", "context"):
            column = getattr(self, field)
            if column.count(None) != len(column):
                d[field] = column
        return d


def _json_values(values: list) -> list:
    """NaN/+-Inf become the strings JSON can carry. One C-level sum finds them: it is
    non-finite when any value is (or when finite values overflow; then each is checked)."""
    try:
        total = sum(values)
        finite = total - total == 0
    except OverflowError:  # an int beyond float range among floats
        finite = False
    return values if finite else [json_number(v) for v in values]


def encode(body: dict) -> bytes:
    """JSON bytes of a batch; orjson is ~20x faster than json on float-heavy batches."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:  # e.g. an int beyond 64 bits, which json can write
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


class BatchBuilder:
    """Turns queued tuples into ordered deliveries (batches cut at MAX_ITEMS, assets between)."""

    def __init__(self):
        self.skipped: set[str] = set()   # why items were left out (the server would refuse the batch)
        self._reset()

    def _reset(self) -> None:
        self.body: dict = {}
        self.series: dict[str, _Series] = {}
        self.count = 0
        self.ends = False

    def _list(self, name: str) -> list:
        lst = self.body.get(name)
        if lst is None:
            lst = self.body[name] = []
        return lst

    def add(self, t: tuple, out: list) -> None:
        kind = t[0]
        if kind == "m":
            series = self.series.get(t[1])
            v = t[2]
            if series is None or not (type(v) is float or type(v) is int):
                if not 0 < len(t[1]) <= MAX_NAME or metric_value(v) is None:
                    self.skipped.add(f"metric {t[1][:80]!r}: a value that is not a number or a name that is "
                                     f"empty or over {MAX_NAME} characters")
                    return
                if type(v) is not float and type(v) is not int:
                    v = metric_value(v)
                if series is None:
                    series = self.series[t[1]] = _Series()
            series.value.append(v)
            series.step.append(t[3] if t[3] is None or type(t[3]) is int else _int_or_none(t[3]))
            series.epoch.append(t[4] if t[4] is None or type(t[4]) is int else _int_or_none(t[4]))
            series.timestamp.append(t[5])
            series.context.append(t[6])
        elif kind in ("p", "o", "s") and not 0 < len(t[1]) <= MAX_NAME:
            self.skipped.add(f"name {t[1][:80]!r}: empty or over {MAX_NAME} characters")
            return
        elif kind == "p":
            self._list("parameters").append({"name": t[1], "value": json_value(t[2]), "step": _int_or_none(t[3]),
                                             "source": t[4]})
        elif kind == "o":
            self._list("others").append({"key": t[1], "value": json_value(t[2])})
        elif kind == "t":
            self._list("tags").append(t[1])
        elif kind == "n":
            self.body["name"] = t[1]
        elif kind == "s":
            self._list("system_info").append({"key": t[1], "value": json_value(t[2])})
        elif kind == "d":
            details = self.body.setdefault("details", {})
            details.update(json_value(t[1]))
        elif kind == "x":
            # Consecutive writes to the same stream become one chunk (print() writes the text and
            # the newline separately). No offset: the server numbers chunks in arrival order,
            # which also keeps a resumed experiment's output after what it already has.
            out_list = self._list("output")
            last = out_list[-1] if out_list else None
            if last is not None and last["stderr"] == t[2] and len(last["text"]) < OUTPUT_CHUNK:
                last["text"] += t[1]
                return
            out_list.append({"text": t[1], "stderr": t[2], "timestamp": t[3]})
        elif kind == "h":
            self._list("html").append({"html": t[1], "override": t[2]})
        elif kind == "g":
            self.body["graph"] = t[1]
        elif kind == "E":  # the run's end: sent with this batch, which is cut here
            self.body["end"] = {"status": t[1]}
            self.ends = True
            self.count += 1
            self.cut(out)
            return
        elif kind == "A":
            self.cut(out)
            out.append(t[1])
            return
        self.count += 1
        if self.count >= MAX_ITEMS:
            self.cut(out)

    def add_from(self, queue: collections.deque, n: int, out: list) -> None:
        """``add`` for the next ``n`` queued items, the common metric point (a number for a
        metric already in this batch, whole-number or no step and epoch) done inline."""
        popleft, series = queue.popleft, self.series
        for _ in range(n):
            t = popleft()
            if t[0] == "m" and self.count < MAX_ITEMS - 1:
                s = series.get(t[1])
                v, step, epoch = t[2], t[3], t[4]
                if s is not None and (type(v) is float or type(v) is int) and (step is None or type(step) is int) \
                        and (epoch is None or type(epoch) is int):
                    s.value.append(v)
                    s.step.append(step)
                    s.epoch.append(epoch)
                    s.timestamp.append(t[5])
                    s.context.append(t[6])
                    self.count += 1
                    continue
            self.add(t, out)
            series = self.series  # a new batch after a cut

    def cut(self, out: list) -> None:
        if self.count:
            self.body["batch_id"] = uuid.uuid4().hex
            if self.series:
                self.body["metric_columns"] = [s.body(name) for name, s in self.series.items()]
            try:
                payload = encode(self.body)
                out.append(Delivery("batch", payload=payload, items=self.count, ends=self.ends))
            except (TypeError, ValueError) as exc:  # never expected; don't retry it forever
                self.skipped.add(f"{self.count} items that could not be encoded ({exc})")
        self._reset()


def _reports_end(reply) -> bool:
    """Whether the server applied the end a batch carried (older servers ignore the field)."""
    try:
        return isinstance(reply.json().get("end"), dict)
    except (ValueError, AttributeError):
        return False


class Sender(threading.Thread):
    """Delivers the queue in order; spools and backs off while the server is unreachable.

    With ``client=None`` (offline runs) every delivery is written to the spool directory only.
    With ``create_body``, the experiment is created first; if the server refuses that before
    anything was spooled, ``on_refused(message)`` is called and the run's data is dropped.
    With ``create_with_first_batch`` (a new key), the sender waits for the first batch (``end()``,
    a flush or the interval) and sends the creation with it, one request instead of two; when
    nothing is batched by then, or that request is refused, it creates the experiment alone.
    """

    def __init__(self, queue: collections.deque, key: str, client: HttpClient | None, spool: SpoolDir,
                 interval: float = 0.5, retry_max_s: float = 30.0,
                 on_created: Callable[[dict], None] | None = None, create_body: dict | None = None,
                 on_refused: Callable[[str], None] | None = None, create_with_first_batch: bool = False):
        super().__init__(name="halley-sender", daemon=True)
        self.queue = queue
        self.key = key
        self.client = client
        self.spool = spool
        self.interval = interval
        self.retry_max_s = retry_max_s
        self.builder = BatchBuilder()
        self.pending: collections.deque[Delivery] = collections.deque()
        self.create_body = create_body      # set while the experiment still has to be created
        self.create_with_first_batch = create_with_first_batch and client is not None
        self.on_created = on_created
        self.on_refused = on_refused
        self.wake = threading.Event()
        self.idle = threading.Condition()
        self.collecting = threading.Lock()  # queue -> builder -> pending, by one thread at a time
        self.create_sent = threading.Event()  # the first create request is on its way (or failed)
        self.closing = False
        self.unreachable = False
        self.backoff = 0.0
        self.next_try = 0.0
        self.dead = False
        self.key_refused = False            # the key stopped working mid-run (see _key_refused)
        self.discard = False                # refused at creation: nothing of the run is kept
        self.went_offline = False
        self.ended = False                  # a batch carrying the end was acknowledged with it
        self.warned: set[str] = set()
        self.delivered = 0

    # --- called from other threads ---

    def flush(self, timeout: float, offline_wait: float | None = None) -> bool:
        """Waits until everything queued so far is delivered (True) or the timeout passes.

        With ``offline_wait``, gives up after that long when the server is still unreachable:
        every pending entry is on disk by then, so waiting longer protects nothing.
        """
        started = time.monotonic()
        deadline = started + timeout
        if self.is_alive():
            # Batch what is queued in this (waiting) thread: the sender may still be waiting
            # on the server, and sends it as soon as it can.
            self._collect()
        self.wake.set()
        with self.idle:
            while not self._drained():
                left = deadline - time.monotonic()
                if left <= 0 or not self.is_alive():
                    return self._drained()
                if offline_wait is not None and self.unreachable and time.monotonic() - started > offline_wait:
                    return False
                self.idle.wait(min(left, 0.2))
                self.wake.set()
        return True

    def _drained(self) -> bool:
        with self.collecting:  # not halfway through a collect (items neither queued nor pending)
            if self.dead:  # nothing more can be sent; what was collected is on disk or dropped
                return not self.queue and self.builder.count == 0
            return not self.queue and not self.pending and self.builder.count == 0 and self.create_body is None

    def close(self, timeout: float, offline_wait: float | None = None, deadline: float | None = None) -> bool:
        """Flushes, stops the thread, and writes whatever is still undelivered to the spool;
        ``deadline`` (monotonic) also bounds the wait for a request still in flight."""
        ok = self.flush(timeout, offline_wait)
        self.closing = True
        self.wake.set()
        # a request in flight may take up to its timeout; an unreachable server fails fast
        join_s = 5 if self.client is None or self.unreachable else self.client.config.request_timeout_s + 5
        if deadline is not None:
            join_s = min(join_s, max(0.5, deadline - time.monotonic()))
        self.join(join_s)
        if ok and not self.is_alive():
            return True
        out: list[Delivery] = []
        with self.collecting:
            self.builder.add_from(self.queue, len(self.queue), out)
            self.builder.cut(out)
        for d in list(self.pending) + out:
            self.spool.add(d)
        return False

    # --- the thread ---

    def run(self) -> None:
        if self.create_body is not None and self.client is not None and not self.create_with_first_batch:
            try:
                self._deliver_pending()  # create the experiment right away
            except Exception as exc:
                self._warn_once(f"sender error: {type(exc).__name__}: {exc}")
            with self.idle:
                self.idle.notify_all()
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self._collect()
                self._deliver_pending()
            except Exception as exc:  # never let the sender die silently
                self._warn_once(f"sender error: {type(exc).__name__}: {exc}")
                time.sleep(self.interval)
            with self.idle:
                self.idle.notify_all()
            if self.closing:
                return

    def _collect(self) -> None:
        with self.collecting:
            out: list[Delivery] = []
            self.builder.add_from(self.queue, len(self.queue), out)
            self.builder.cut(out)
            while self.builder.skipped:
                self._warn_once(f"skipped {self.builder.skipped.pop()}")
            if self.discard:
                return
            for d in out:
                if self.client is None or self.unreachable or self.dead:
                    self.spool.add(d)
                if not self.dead:  # nothing more is sent: what comes now stays on disk only
                    self.pending.append(d)
            if self.client is None:
                self.pending.clear()

    def _deliver_pending(self) -> None:
        if self.client is None or self.dead:
            return
        if time.monotonic() < self.next_try:
            return
        try:
            if self.create_body is not None and self.create_with_first_batch:
                self._create_with_first_batch()
            if self.create_body is not None:
                try:
                    info = self.client.request("POST", "/experiments", json_body=self.create_body,
                                               sent=self.create_sent).json()
                finally:
                    self.create_sent.set()
                self.create_body = None
                if self.on_created:
                    self.on_created(info)
            while self.pending:
                d = self.pending[0]
                try:
                    reply = self.client.deliver(self.key, d)
                    if d.ends:
                        self.ended = _reports_end(reply)
                except Rejected as exc:
                    if exc.status in KEY_REFUSED:
                        self._key_refused(exc)
                        return
                    self._warn_once(f"could not store data for experiment {self.key}: {exc.message}")
                self.pending.popleft()
                self.spool.remove(d)
                self.delivered += 1
        except Transient as exc:
            self._offline(str(exc))
            return
        except Rejected as exc:
            # the experiment itself could not be created: nothing of this run can be stored
            self.dead = True
            if not self.went_offline and self.on_refused is not None:
                self.discard = True  # refused at once (bad key, read-only workspace): log nothing
                self.pending.clear()
                self.builder._reset()
                self.on_refused(exc.message)
                return
            self._warn_once(f"could not create experiment {self.key}: {exc.message}")
            for d in self.pending:
                self.spool.add(d)
            return
        if self.unreachable:
            self.unreachable = False
            self.backoff = 0.0
            warn(f"connection to {self.client.config.url} restored; pending data delivered")
        if self.went_offline:
            self.spool.clear_if_done()

    def _create_with_first_batch(self) -> None:
        """One try at creating the experiment with the first pending batch. A refusal is not
        reported here: the experiment is then created alone (which says whether it can be) and
        the batch sent after it, as usual. Transient errors go up (the run goes offline)."""
        self.create_with_first_batch = False
        if not self.pending or self.pending[0].kind != "batch":
            return
        d = self.pending[0]
        start = {k: v for k, v in self.create_body.items() if k != "experiment_key"}
        try:
            reply = self.client.deliver(self.key, d, start=start)
            info = reply.json().get("experiment")
        except Rejected:
            return
        except ValueError:
            info = None
        if info is None:  # the server did not create it (an older server): create it alone
            return
        self.create_body = None
        self.create_sent.set()
        if self.on_created:
            self.on_created(info)
        if d.ends:
            self.ended = _reports_end(reply)
        self.pending.popleft()
        self.spool.remove(d)
        self.delivered += 1

    def _key_refused(self, exc: Rejected) -> None:
        """The server stopped accepting the key mid-run (rotated or revoked): send nothing more
        with it, keep every entry not acknowledged in the spool, and say once how to send it."""
        self.dead = True
        self.key_refused = True
        for d in self.pending:
            self.spool.add(d)
        warn(f"the server refused this run's API key ({exc.message}): it was rotated or revoked. Nothing more "
             f"is sent for experiment {self.key}; its unsent data is kept in {self.spool.path}. "
             f"Send it with a new key: halley upload --api-key NEW_KEY {self.spool.path}")

    def _offline(self, reason: str) -> None:
        self.went_offline = True
        if not self.unreachable:
            self.unreachable = True
            warn(f"server {self.client.config.url} unreachable ({reason}); keeping data in "
                 f"{self.spool.path} and retrying")
        for d in self.pending:
            self.spool.add(d)
        self.backoff = min(max(self.backoff * 2, 0.5), self.retry_max_s)
        self.next_try = time.monotonic() + self.backoff

    def _warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            warn(message)
