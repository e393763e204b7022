"""Facts logged automatically at start: script, command line, CLI arguments, host, Python,
installed packages, git metadata and patch; plus the periodic system-metrics sampler."""
from __future__ import annotations

import ast
import getpass
import io
import os
import platform
import re
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any


def script_path() -> Path | None:
    main = sys.modules.get("__main__")
    candidate = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not candidate or candidate in ("-c", "-m"):
        return None
    path = Path(candidate).resolve()
    return path if path.is_file() else None


HOST_FACTS_TTL_S = 60.0
_host_facts: dict[bool, tuple[float, dict]] = {}  # log_host -> (when, facts): runs started in a row reuse them


def host_details(log_host: bool = True, secret_names=()) -> dict:
    """Host, Python and script facts, and the command line with secret values masked."""
    cached = _host_facts.get(log_host)
    if cached is None or time.monotonic() - cached[0] > HOST_FACTS_TTL_S:
        cached = _host_facts[log_host] = (time.monotonic(), _host_facts_now(log_host))
    return {**cached[1], "pid": os.getpid(), "command": mask_secret_args(sys.argv, secret_names)}


def _host_facts_now(log_host: bool) -> dict:
    details: dict[str, Any] = {"python_version": platform.python_version(), "python_executable": sys.executable}
    script = script_path()
    if script is not None:
        details["file_name"] = script.name
        details["file_path"] = str(script)
    if log_host:
        details["host"] = socket.gethostname()
        details["ip"] = _ip()
        details["os"] = platform.platform()
        details["os_type"] = platform.system()
        try:
            details["os_user"] = getpass.getuser()
        except Exception:
            details["os_user"] = None
    return details


def _ip() -> str | None:
    """The address of the interface that would route outside (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
    except OSError:
        try:
            return socket.gethostbyname(socket.gethostname())
        except OSError:
            return None


def installed_packages() -> list[str]:
    from importlib import metadata

    seen = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={dist.version}"
    return sorted(seen.values(), key=str.lower)


# --- command line ---------------------------------------------------------------------------

SECRET_MASK = "********"
# An argument is secret when its name (split into words at "-", "_", "." and camelCase) ends
# with one of these words (--api-key, --hf_token, --db-password) ...
SECRET_LAST_WORDS = frozenset({
    "key", "apikey", "accesskey", "secretkey", "privatekey", "token", "apitoken", "accesstoken", "authtoken",
    "refreshtoken", "password", "passwd", "pwd", "passphrase", "secret", "credential", "credentials", "auth",
})
# ... or holds one of these anywhere (--password-file, --secret-name); "key" and "token" only
# count at the end, so --keypoints, --key-size and --max-token-length stay visible.
SECRET_ANY_WORDS = frozenset({
    "apikey", "accesskey", "secretkey", "privatekey", "password", "passwd", "passphrase", "secret", "secrets",
    "credential", "credentials",
})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[-_.\s]+")


def _words(name: str) -> tuple[str, ...]:
    """The lower-case words of an argument name: "--apiKey" and "--api_key" give ("api", "key")."""
    spaced = _CAMEL.sub("_", name.strip().lstrip("-"))
    return tuple(w.lower() for w in _SEPARATORS.split(spaced) if w)


def secret_arg_names(extra=None) -> tuple[tuple[str, ...], ...]:
    """Further argument names to mask: ``extra`` (an Experiment's ``secret_arg_names``) and the
    comma-separated HALLEY_SECRET_ARG_NAMES, each as its words."""
    names = list(extra or ()) + os.environ.get("HALLEY_SECRET_ARG_NAMES", "").split(",")
    return tuple(words for words in (_words(str(n)) for n in names) if words)


def is_secret_name(name: str, extra=()) -> bool:
    words = _words(name)
    if not words:
        return False
    if words[-1] in SECRET_LAST_WORDS or SECRET_ANY_WORDS.intersection(words):
        return True
    return any(words[i:i + len(e)] == e for e in extra for i in range(len(words) - len(e) + 1))


def _is_option(word: str) -> bool:
    return word.startswith("-") and len(word) > 1 and not _is_number(word)


_OPTION_NAME = re.compile(r"--[A-Za-z][A-Za-z0-9_.-]*(=.*)?|-[A-Za-z]", re.DOTALL)


def _is_option_name(word: str) -> bool:
    """Whether the word after a secret option is the next option rather than its value: only a
    plain ``--name`` or ``-x`` counts, so a secret that begins with a dash is still masked."""
    return _OPTION_NAME.fullmatch(word) is not None


def mask_secret_args(argv: list[str], extra=()) -> list[str]:
    """``argv`` with the values of secret-looking options replaced by ``SECRET_MASK``, in both
    ``--name value`` and ``--name=value`` forms (``extra``: from ``secret_arg_names``)."""
    out: list[str] = []
    hide_next = False
    for word in argv:
        word = str(word)
        if hide_next:
            hide_next = False
            if not _is_option_name(word):
                out.append(SECRET_MASK)
                continue
        if _is_option(word) and word != "--":
            name, eq, _ = word.partition("=")
            if is_secret_name(name, extra):
                if eq:
                    out.append(f"{name}={SECRET_MASK}")
                    continue
                hide_next = True
        out.append(word)
    return out


def _guess(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def parse_cli_args(argv: list[str]) -> dict:
    """Comet's cli_args_parse: ``--k v`` / ``-k v`` pairs, ``--k=v``, a bare flag is True;
    a value without a key makes the whole line fall back to ``run_arg_N``."""
    results: dict = {}
    words = []
    for word in argv:
        if word == "--" or not word:
            continue
        if "=" in word and word.startswith("-"):
            key, value = word.split("=", 1)
            key = key.lstrip("-").strip()
            if key:
                results[key] = _guess(value.strip())
                continue
        words.append(word.strip())
    current = None
    for word in words:
        if not word:
            continue
        if word[0] == "-" and len(word) > 1 and not _is_number(word):
            if current is not None:
                results[current] = True
            current = word[2:] if word.startswith("--") else word[1:]
        elif current is None:
            return {f"run_arg_{i}": str(arg) for i, arg in enumerate(argv)} if len(argv) > 1 else {}
        else:
            results[current] = _guess(word)
            current = None
    if current is not None:
        results[current] = True
    return results


def _is_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False


# --- git -------------------------------------------------------------------------------------

def _git(args: list[str], cwd: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "replace").strip()


def git_metadata(cwd: str | None = None) -> dict | None:
    """commit (HEAD), branch, remote (origin URL), root (first commit, like Comet), user; None
    outside a repository."""
    cwd = cwd or os.getcwd()
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    roots = _git(["rev-list", "--max-parents=0", "HEAD"], cwd) or ""
    return {"commit": commit, "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd),
            "remote": _git(["config", "--get", "remote.origin.url"], cwd),
            "root": roots.splitlines()[-1] if roots else None,
            "user": _git(["config", "user.name"], cwd)}


def git_patch_zip(cwd: str | None = None) -> bytes | None:
    """A zip holding git_diff.patch (uncommitted changes against HEAD), or None when clean."""
    cwd = cwd or os.getcwd()
    try:
        out = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=cwd, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("git_diff.patch", out.stdout)
    return buf.getvalue()


# --- system metrics --------------------------------------------------------------------------

class SystemSampler:
    """Comet's metric names: sys.cpu.percent.avg, sys.ram.*, sys.load.avg, sys.gpu.<i>.*."""

    def __init__(self, cpu: bool = True, gpu: bool = True):
        self.cpu = cpu
        self.nvml = None
        try:
            import psutil

            self.psutil = psutil
            psutil.cpu_percent(None)  # primes the counter; the next call measures since now
        except ImportError:
            self.psutil = None
        if gpu:
            try:
                import pynvml

                pynvml.nvmlInit()
                self.nvml = pynvml
            except Exception:
                self.nvml = None

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.cpu and self.psutil is not None:
            ps = self.psutil
            out["sys.cpu.percent.avg"] = float(ps.cpu_percent(None))
            vm = ps.virtual_memory()
            out["sys.ram.total"] = float(vm.total)
            out["sys.ram.used"] = float(vm.total - vm.available)
            out["sys.ram.available"] = float(vm.available)
            out["sys.ram.percent.used"] = float(vm.percent)
        if self.cpu and hasattr(os, "getloadavg"):
            out["sys.load.avg"] = float(os.getloadavg()[0])
        if self.nvml is not None:
            out.update(self._gpu())
        return out

    def _gpu(self) -> dict[str, float]:
        nv = self.nvml
        out: dict[str, float] = {}
        try:
            for i in range(nv.nvmlDeviceGetCount()):
                h = nv.nvmlDeviceGetHandleByIndex(i)
                util = nv.nvmlDeviceGetUtilizationRates(h)
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                p = f"sys.gpu.{i}."
                out[p + "gpu_utilization"] = float(util.gpu)
                out[p + "memory_utilization"] = float(util.memory)
                out[p + "total_memory"] = float(mem.total)
                out[p + "used_memory"] = float(mem.used)
                out[p + "free_memory"] = float(mem.free)
                out[p + "percent.used_memory"] = 100.0 * mem.used / mem.total if mem.total else 0.0
                try:
                    out[p + "power_usage"] = nv.nvmlDeviceGetPowerUsage(h) / 1000.0
                    out[p + "temperature"] = float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
                except Exception:
                    pass
        except Exception:
            pass
        return out


# --- stdout/stderr capture -------------------------------------------------------------------

class Tee(io.TextIOBase):
    """Writes through to the real stream and hands every chunk to ``sink(text, is_stderr)``."""

    def __init__(self, stream, sink, is_stderr: bool):
        self._stream = stream
        self._sink = sink
        self._is_stderr = is_stderr

    def write(self, text):
        n = self._stream.write(text)
        if text:
            try:
                self._sink(text, self._is_stderr)
            except Exception:
                pass
        return n

    def flush(self):
        self._stream.flush()

    def isatty(self):
        return self._stream.isatty()

    def fileno(self):
        return self._stream.fileno()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")

    @property
    def errors(self):
        return getattr(self._stream, "errors", None)

    def __getattr__(self, name):
        return getattr(self._stream, name)
