"""Start and stop gunicorn for one app, always with bench/gunicorn_conf.py (or, to profile the
portal, bench/gunicorn_profile.py: the same configuration plus a cProfile of each worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.load import build_request, fetch

REPO = Path(__file__).resolve().parent.parent
CONF = Path(__file__).resolve().parent / "gunicorn_conf.py"
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start or did not become ready."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """One gunicorn master with its workers, in its own process group."""

    def __init__(
        self,
        name: str,
        app_spec: str,
        env: dict[str, str],
        ready_path: str,
        log_path: Path,
        conf: Path = CONF,
    ):
        self.name = name
        self.conf = conf
        self.app_spec = app_spec
        self.env = env
        self.ready_path = ready_path
        self.log_path = log_path
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._pids: list[int] = []

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(self.conf),
            "--bind",
            f"{HOST}:{self.port}",
            self.app_spec,
        ]

    def start(self, timeout: float = 90.0) -> None:
        """Start gunicorn and wait until both workers answer ``ready_path`` with 200.

        :raises ServerError: gunicorn exited or never answered; the message ends with its log.
        """
        self.port = free_port()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed in stop()
        self._log = log
        self.process = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        request = build_request(HOST, self.port, self.ready_path)
        deadline = time.monotonic() + timeout
        answered = 0
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name}: gunicorn exited with {self.process.returncode}\n" + self.log_tail()
                )
            try:
                status, _ = fetch(HOST, self.port, request)
                last = f"HTTP {status}"
                # A few answers in a row, so both workers have imported the app.
                answered = answered + 1 if status == 200 else 0
                if answered >= 6:
                    return
            except OSError as exc:
                last = type(exc).__name__
                answered = 0
            time.sleep(0.1)
        raise ServerError(
            f"{self.name}: {self.ready_path} not ready after {timeout:.0f}s ({last})\n" + self.log_tail()
        )

    def stop(self) -> None:
        """Stop the master and its workers; kill the group if they linger. Safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
            except ProcessLookupError:
                pass
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its live workers.

        Unlike requests/s, CPU per request hardly moves when other processes compete for the
        machine, so it tells a busy machine from a slower portal.
        """
        if self.process is None:
            return 0.0
        if not self._pids:
            self._pids = [self.process.pid, *_children(self.process.pid)]
        ticks = 0
        for pid in self._pids:
            fields = _stat(pid)
            if fields is None:
                self._pids = []  # a worker was replaced: find them again next time
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / _TICKS

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join("    " + line for line in text.splitlines()[-lines:])


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 0 is the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found
