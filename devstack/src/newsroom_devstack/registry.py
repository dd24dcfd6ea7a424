"""A local OCI registry (CNCF distribution) on 127.0.0.1:5000, its data in var/registry/.

Started in the background by `make registry` (or the cluster's start) and stopped by
`make registry-down`, by the PID recorded when it was started; never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from newsroom_devstack import gotools
from newsroom_devstack.net import LOOPBACK, port_is_free
from newsroom_devstack.paths import var_dir
from newsroom_devstack.supervisor import is_recorded_alive, read_state, start_time_of

DEFAULT_PORT = 5000
# Registries this process started, by PID: reaped when stopped here (no zombie, and no
# "subprocess still running" warning when a Popen is collected while its server runs on).
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


class RegistryError(RuntimeError):
    """The registry could not be started, or a registry does not answer."""


def home(root: Path | None = None) -> Path:
    """Return the registry's folder (var/registry): configuration, data, log, PID record."""
    return root if root is not None else var_dir() / "registry"


def _state_path(root: Path | None) -> Path:
    return home(root) / "registry.json"


def answers(address: str, *, timeout: float = 3.0) -> bool:
    """Tell whether an OCI registry answers GET /v2/ at host:port (200, or 401 with auth)."""
    try:
        # address is host:port given by the developer; plain HTTP like the registry serves.
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=timeout) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code == 401
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _config(root: Path | None, port: int) -> str:
    data = home(root) / "data"
    return (
        "# Written by newsroom_devstack.registry at every start; edits are overwritten.\n"
        "version: 0.1\n"
        "log:\n"
        "  level: info\n"
        "  formatter: text\n"
        "storage:\n"
        "  filesystem:\n"
        f"    rootdirectory: {data}\n"
        "  delete:\n"
        "    enabled: true\n"
        "http:\n"
        f"  addr: {LOOPBACK}:{port}\n"
        # The debug server is off: nothing but the API listens.
        "health:\n"
        "  storagedriver:\n"
        "    enabled: true\n"
        "    interval: 10s\n"
        "    threshold: 3\n"
    )


def running(root: Path | None = None) -> dict[str, object] | None:
    """Return the record of our registry if it runs, else None."""
    state = read_state(_state_path(root))
    if state and is_recorded_alive(state):
        return state
    return None


def start(*, port: int = DEFAULT_PORT, timeout: float = 30.0, root: Path | None = None) -> str:
    """Start the registry unless ours runs already; wait for /v2/; return host:port."""
    address = f"{LOOPBACK}:{port}"
    if (state := running(root)) is not None:
        if state.get("port") == port and answers(address):
            return address
        raise RegistryError(
            f"our registry already runs on {LOOPBACK}:{state.get('port')} (pid {state['pid']}); "
            "`make registry-down` stops it"
        )
    if not port_is_free(port):
        raise RegistryError(
            f"{address} is taken by another program; free it or pass another port "
            "(make registry REGISTRY_PORT=...)"
        )
    binary = gotools.ensure(gotools.REGISTRY)
    home(root).mkdir(parents=True, exist_ok=True)
    config = home(root) / "config.yml"
    config.write_text(_config(root, port))
    log_path = home(root) / "registry.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(binary), "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: it outlives this command and no terminal signal reaches it.
            start_new_session=True,
            env=_environment(),
        )
    _STARTED[process.pid] = process
    record = {"pid": process.pid, "start_time": start_time_of(process.pid), "port": port}
    _state_path(root).write_text(json.dumps(record) + "\n")
    deadline = time.monotonic() + timeout
    while not answers(address, timeout=1.0):
        if process.poll() is not None:
            _STARTED.pop(process.pid, None)
            _state_path(root).unlink(missing_ok=True)
            raise RegistryError(
                f"the registry exited with status {process.returncode} before answering on "
                f"http://{address}/v2/; its log: {log_path}\n{_tail(log_path)}"
            )
        if time.monotonic() >= deadline:
            stop(root=root)
            raise RegistryError(
                f"the registry did not answer on http://{address}/v2/ within {timeout:.0f}s; "
                f"its log: {log_path}\n{_tail(log_path)}"
            )
        time.sleep(0.2)
    return address


def _environment() -> dict[str, str]:
    # The registry reads REGISTRY_* variables as configuration overrides: none of ours. It
    # also exports traces over OTLP to localhost:4318 by default; there is nobody there.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "OTEL_"))}
    return env | {"OTEL_TRACES_EXPORTER": "none", "OTEL_SDK_DISABLED": "true"}


def stop(*, timeout: float = 15.0, root: Path | None = None) -> bool:
    """Stop our registry by its recorded PID; return whether one was running."""
    state = running(root)
    _state = _state_path(root)
    if state is None:
        _state.unlink(missing_ok=True)
        return False
    pid = int(str(state["pid"]))
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_recorded_alive(state) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_recorded_alive(state):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if (ours := _STARTED.pop(pid, None)) is not None:
        ours.wait(timeout=10)
    _state.unlink(missing_ok=True)
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
