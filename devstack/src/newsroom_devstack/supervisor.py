"""The stack's child processes: own process groups, prefixed output, readiness, stop by PID only."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

STATE_FILE = "stack.json"
_COLOURS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94", "91")
_TAIL_LINES = 40
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Command:
    """A command line with its environment (None: ours) and working folder."""

    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None


class StartupError(RuntimeError):
    """A process of the stack failed to start, to finish or to become ready in time."""


class Console:
    """Writes children's output to the terminal, each line behind an aligned, coloured name."""

    def __init__(self, stream: TextIO | None = None, *, width: int = 12) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()
        self._colour = self._stream.isatty() and "NO_COLOR" not in os.environ
        self._colours: dict[str, str] = {}
        self.width = width

    def line(self, name: str, text: str) -> None:
        """Print one output line of the process called name."""
        prefix = f"{name:<{self.width}} |"
        if self._colour:
            code = self._colours.setdefault(name, _COLOURS[len(self._colours) % len(_COLOURS)])
            prefix = f"\033[{code}m{prefix}\033[0m"
        self._write(f"{prefix} {text}\n")

    def message(self, text: str) -> None:
        """Print a message of the stack itself, without a prefix."""
        self._write(f"{text}\n")

    def _write(self, text: str) -> None:
        with self._lock:
            self._stream.write(text)
            self._stream.flush()


class Process:
    """One child process: started in its own process group, signalled only through its PID."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        console: Console | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_timeout: float = 10.0,
        tier: int = 1,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        # Processes of a higher tier depend on lower ones, so they stop first.
        self.tier = tier
        self._console = console
        self._on_change = on_change
        self._popen: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._paused = False

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid} running={self.is_running()}>"

    @property
    def pid(self) -> int | None:
        """Return the PID of the current (or last) run, None if never started."""
        return self._popen.pid if self._popen is not None else None

    @property
    def returncode(self) -> int | None:
        """Return the exit status of the last run once it has been collected."""
        return self._popen.returncode if self._popen is not None else None

    def is_running(self) -> bool:
        """Tell whether the process has been started and has not exited."""
        return self._popen is not None and not self._exited(self._popen)

    def start(self) -> None:
        """Start the process (a no-op while it runs)."""
        if self.is_running():
            return
        if self._popen is not None:
            self._collect()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {self.argv}\n".encode())
        log.flush()
        try:
            self._popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Own session and process group: a Ctrl-C in the terminal reaches only us, and we
                # stop children in order; a group also lets kill() take a server's workers along.
                start_new_session=True,
            )
        except OSError:
            log.close()
            raise
        assert self._popen.stdout is not None
        self._tail.clear()
        self._paused = False
        self._reader = threading.Thread(
            target=self._pump, args=(self._popen.stdout, log), name=f"out-{self.name}", daemon=True
        )
        self._reader.start()
        self._changed()

    def stop(self, timeout: float | None = None) -> int | None:
        """Ask the process to stop, SIGKILL its group after the grace period; return its status."""
        self.signal_stop()
        return self.wait_stopped(self.stop_timeout if timeout is None else timeout)

    def signal_stop(self) -> None:
        """Send the stop signal without waiting (stop() of many processes at once)."""
        if not self.is_running():
            return
        self._signal_leader(self.stop_signal)
        if self._paused:
            # A stopped process cannot act on the signal until it runs again.
            self.resume()

    def wait_stopped(self, timeout: float) -> int | None:
        """Wait for a signalled process to exit, SIGKILL its group after timeout."""
        if self._popen is None:
            return None
        status = self.wait(timeout)
        if status is None:
            self._signal_group(signal.SIGKILL)
            status = self.wait(10.0)
        return status

    def kill(self) -> int | None:
        """SIGKILL the process and its group right away (a crash, as in the chaos tests)."""
        if not self.is_running():
            return self.returncode
        self._signal_group(signal.SIGKILL)
        return self.wait(10.0)

    def pause(self) -> None:
        """Freeze the process group (SIGSTOP): it keeps its sockets but answers nothing."""
        if self.is_running():
            self._signal_group(signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        """Thaw a paused process group (SIGCONT)."""
        if self.is_running():
            self._signal_group(signal.SIGCONT)
        self._paused = False

    def restart(self) -> None:
        """Stop the process (if running) and start it again with the same command."""
        self.stop()
        self.start()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process to exit; return its status, or None if it still runs at timeout."""
        if self._popen is None:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._exited(self._popen):
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_SECONDS)
        return self._collect()

    def wait_until(
        self, check: Callable[[], bool], *, what: str, timeout: float, interval: float = 0.2
    ) -> None:
        """Poll check() until true; on exit or timeout raise StartupError with the log's tail."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if not self.is_running():
                status = self.wait(0)
                raise StartupError(
                    f"{self.name} exited with status {status} before {what}.\n{self.describe_log()}"
                )
            if time.monotonic() >= deadline:
                raise StartupError(
                    f"{self.name}: {what} not within {timeout:.0f}s.\n{self.describe_log()}"
                )
            time.sleep(interval)

    def tail(self) -> str:
        """Return the last lines the process printed (this run)."""
        if self._reader is not None and not self.is_running():
            # Let the reader drain what the process wrote just before it exited.
            self._reader.join(timeout=2.0)
        return "\n".join(self._tail)

    def describe_log(self) -> str:
        """Return the log tail with a header naming the full log file."""
        return f"--- last lines of {self.name} (full log: {self.log_path}) ---\n{self.tail()}"

    @staticmethod
    def _exited(popen: subprocess.Popen[bytes]) -> bool:
        if popen.returncode is not None:
            return True
        try:
            # WNOWAIT leaves an exited child a zombie, so its PID (and process group id) stays
            # ours until _collect(): a signal sent meanwhile can never reach a stranger.
            info = os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _collect(self) -> int:
        assert self._popen is not None
        if self._popen.returncode is None:
            # Orphans left in the group (workers of a killed server) go with their leader.
            self._signal_group(signal.SIGKILL)
        status = self._popen.wait()
        if self._reader is not None:
            self._reader.join(timeout=5.0)
        self._changed()
        return status

    def _signal_leader(self, signum: signal.Signals) -> None:
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._popen.pid, signum)

    def _signal_group(self, signum: signal.Signals) -> None:
        assert self._popen is not None
        if self._popen.returncode is not None:
            return  # collected: the id may belong to someone else now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signum)

    def _pump(self, stream: IO[bytes], log: IO[bytes]) -> None:
        with stream, log:
            for raw in iter(stream.readline, b""):
                log.write(raw)
                log.flush()
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self._tail.append(text)
                if self._console is not None:
                    self._console.line(self.name, text)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


class Supervisor:
    """Starts and stops the stack's processes and records them in <run_dir>/stack.json."""

    def __init__(self, run_dir: Path, *, console: Console | None = None) -> None:
        self.run_dir = run_dir
        self.log_dir = run_dir / "logs"
        self.console = console
        self._processes: dict[str, Process] = {}
        self._info: dict[str, Any] = {}
        self._state_lock = threading.Lock()

    @property
    def state_path(self) -> Path:
        """Return the path of the state file that `newsroom-stack down` reads."""
        return self.run_dir / STATE_FILE

    def add(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_timeout: float = 10.0,
        tier: int = 1,
    ) -> Process:
        """Register a process under a unique name without starting it."""
        existing = self._processes.get(name)
        if existing is not None and existing.is_running():
            raise ValueError(f"a process called {name!r} is already running")
        process = Process(
            name,
            argv,
            log_path=self.log_dir / f"{name}.log",
            env=env,
            cwd=cwd,
            console=self.console,
            stop_signal=stop_signal,
            stop_timeout=stop_timeout,
            tier=tier,
            on_change=self.write_state,
        )
        self._processes[name] = process
        return process

    def start(self, name: str, argv: Sequence[str], **options: Any) -> Process:
        """Register and start a process."""
        process = self.add(name, argv, **options)
        process.start()
        return process

    def run(self, commands: Mapping[str, Command], *, timeout: float = 120.0) -> None:
        """Run one-shot commands (migrations) side by side; raise StartupError if one fails."""
        jobs = [self.add(name, c.argv, env=c.env, cwd=c.cwd) for name, c in commands.items()]
        for job in jobs:
            job.start()
        deadline = time.monotonic() + timeout
        failures = []
        for job in jobs:
            status = job.wait(max(0.0, deadline - time.monotonic()))
            if status is None:
                job.kill()
                failures.append(f"{job.name} did not finish within {timeout:.0f}s.")
            elif status != 0:
                failures.append(f"{job.name} failed with status {status}.")
            else:
                continue
            failures.append(job.describe_log())
        if failures:
            raise StartupError("\n".join(failures))

    def process(self, name: str) -> Process:
        """Return the process called name."""
        try:
            return self._processes[name]
        except KeyError:
            known = ", ".join(self._processes) or "none"
            raise KeyError(f"no process called {name!r} (known: {known})") from None

    def processes(self) -> list[Process]:
        """Return every registered process, in registration order."""
        return list(self._processes.values())

    def describe(self, **info: Any) -> None:
        """Add facts (ports, URLs) to the state file."""
        self._info.update(info)
        self.write_state()

    def stop(self, names: Iterable[str], *, timeout: float | None = None) -> None:
        """Stop the named processes, highest tier first, the processes of one tier together."""
        chosen = [self._processes[name] for name in names if name in self._processes]
        for tier in sorted({p.tier for p in chosen}, reverse=True):
            group = [p for p in reversed(chosen) if p.tier == tier]
            for process in group:
                process.signal_stop()
            for process in group:
                process.wait_stopped(process.stop_timeout if timeout is None else timeout)
        self.write_state()

    def stop_all(self, *, timeout: float | None = None) -> None:
        """Stop every process, highest tier first, the processes of one tier together."""
        self.stop(list(self._processes), timeout=timeout)

    def write_state(self) -> None:
        """Write <run_dir>/stack.json: this supervisor, its running children, the stack's facts."""
        with self._state_lock:
            running = {p.name: _record(p) for p in self._processes.values() if p.is_running()}
            state = {
                "supervisor": {"pid": os.getpid(), "start_time": _start_time(os.getpid())},
                "processes": running,
                **self._info,
            }
            self.run_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=2) + "\n")
            tmp.replace(self.state_path)


def _record(process: Process) -> dict[str, Any]:
    pid = process.pid
    assert pid is not None
    return {
        "pid": pid,
        "start_time": _start_time(pid),
        "stop_signal": int(process.stop_signal),
        "argv": process.argv,
        "log": str(process.log_path),
    }


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it cannot.
    return raw[raw.rindex(")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    fields = _proc_stat(pid)
    return int(fields[19]) if fields is not None else None


def start_time_of(pid: int) -> int | None:
    """Return a process's start time (clock ticks since boot), to tell it from a reused PID."""
    return _start_time(pid)


def is_recorded_alive(record: Mapping[str, Any]) -> bool:
    """Tell whether a recorded process still runs, and is the same process (not a reused PID)."""
    fields = _proc_stat(int(record["pid"]))
    if fields is None or fields[0] == "Z":
        return False
    return record.get("start_time") is None or int(fields[19]) == record["start_time"]


def record_detached(pid: int, argv: Sequence[str], log_path: Path) -> dict[str, Any]:
    """Return the record of a daemon that outlives us (the cluster's), as stop_record reads it."""
    return {
        "pid": pid,
        "start_time": _start_time(pid),
        "stop_signal": int(signal.SIGTERM),
        "argv": list(argv),
        "log": str(log_path),
    }


def stop_record(record: Mapping[str, Any], *, timeout: float = 30.0) -> None:
    """Stop one recorded process by its PID; SIGKILL its group after timeout if it leads one."""
    if not is_recorded_alive(record):
        return
    pid = int(record["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, int(record.get("stop_signal", signal.SIGTERM)))
    _wait_gone([record], timeout)
    fields = _proc_stat(pid)
    if is_recorded_alive(record) and fields is not None and int(fields[2]) == pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _wait_gone([record], 10.0)


def read_state(path: Path) -> dict[str, Any] | None:
    """Return a stack's recorded state, None if there is none."""
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state


def stop_recorded(path: Path, *, timeout: float = 30.0, log: Callable[[str], None] = print) -> bool:
    """Stop a stack recorded in a state file, by its PIDs only; return whether one was running."""
    state = read_state(path)
    if state is None:
        return False
    supervisor = state.get("supervisor", {})
    children: dict[str, dict[str, Any]] = state.get("processes", {})
    found = False
    if supervisor and supervisor.get("pid") != os.getpid() and is_recorded_alive(supervisor):
        found = True
        log(f"stopping the stack supervised by pid {supervisor['pid']}")
        # The supervisor stops its children in order; then it is gone and so are they.
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(supervisor["pid"]), signal.SIGTERM)
        _wait_gone([supervisor], timeout)
    leftovers = {name: rec for name, rec in children.items() if is_recorded_alive(rec)}
    if leftovers:
        found = True
        log(f"stopping leftover processes: {', '.join(leftovers)}")
        for record in leftovers.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(record["pid"]), int(record.get("stop_signal", signal.SIGTERM)))
        _wait_gone(list(leftovers.values()), timeout)
        for record in leftovers.values():
            if is_recorded_alive(record):
                fields = _proc_stat(int(record["pid"]))
                # Only a group the recorded process still leads (its PID is its group id).
                if fields is not None and int(fields[2]) == int(record["pid"]):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(int(record["pid"]), signal.SIGKILL)
        _wait_gone(list(leftovers.values()), 10.0)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return found


def _wait_gone(records: Sequence[Mapping[str, Any]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(is_recorded_alive(r) for r in records) and time.monotonic() < deadline:
        time.sleep(0.1)
