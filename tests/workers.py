"""Celery workers of a test's own, besides the session's (tests/conftest.py): to kill one mid-task, or to point
one at another broker. Each runs one process (`--pool=solo`) in its own process group, so a SIGKILL takes all of
it, and logs to test-artifacts/celery-<name>.log."""

import os
import shutil
import signal
import socket
import subprocess
import sys

from tests.conftest import ARTIFACTS, ROOT, wait_for


def worker_start(name: str, env: dict, *, queue: str | None = None, beat_schedule: str | None = None,
                 ) -> subprocess.Popen:
    """Start a worker with `env` (see conftest.worker_environment) reading `queue` (default: the default queue),
    with an embedded beat on a file schedule when `beat_schedule` is given; return once it is ready."""
    ARTIFACTS.mkdir(exist_ok=True)
    hostname = f"{name}-{os.getpid()}@{os.uname().nodename}"
    log_path = ARTIFACTS / f"celery-{name}.log"
    log_start = log_path.stat().st_size if log_path.exists() else 0
    command = [sys.executable, "-m", "celery", "-A", "oms", "worker", "--loglevel=INFO", "--pool=solo",
               "--without-gossip", "--without-mingle", "--without-heartbeat", f"--hostname={hostname}"]
    if queue:
        command += ["-Q", queue]
    if beat_schedule:
        command += ["--beat", "--scheduler=celery.beat:PersistentScheduler", f"--schedule={beat_schedule}"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                               stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)

    def ready() -> bool:  # read from its log: a worker on another broker cannot be pinged through ours
        with open(log_path, "rb") as log:
            log.seek(log_start)
            return f"{hostname} ready.".encode() in log.read()

    try:
        wait_for(lambda: process.poll() is not None or ready(), timeout=60, message=f"{name} worker up")
        assert process.poll() is None, f"see test-artifacts/celery-{name}.log"
    except BaseException:
        worker_kill(process)  # never leave a half-started worker (and its beat) behind the test
        raise
    return process


def worker_kill(process: subprocess.Popen) -> None:
    """SIGKILL: no warm shutdown, no acknowledgement, the database connection dropped."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def worker_stop(process: subprocess.Popen) -> None:
    """A warm shutdown (SIGTERM), killed if it takes more than 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker_kill(process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of this test's own on a free port, stopped and started again on the same port."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, message="redis-server up")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()  # an outage, not a shutdown: nothing is saved (--save "")
            self.process.wait(timeout=10)
