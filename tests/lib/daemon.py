"""A kstackd subprocess for the integration and compat suites: started in a rundir,
killed by pid at teardown; ``running_daemon`` also points libsock at it
(KSTACK_RUNDIR) for as long as it runs."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_for(rundir):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["KSTACK_RUNDIR"] = str(rundir)
    return env


class Daemon:
    def __init__(self, rundir, proc):
        self.rundir = str(rundir)
        self.proc = proc

    def control(self):
        from kstack.server.control_client import ControlClient
        return ControlClient(self.rundir)

    def stats(self):
        with self.control() as c:
            return c.request("DAEMON")

    def alive(self):
        return self.proc.poll() is None


def daemon_cmd():
    """KSTACKD_CMD overrides how the daemon runs (e.g. under py-spy or coverage)."""
    cmd = os.environ.get("KSTACKD_CMD")
    return cmd.split() if cmd else [sys.executable, "-m", "kstack.kstackd"]


def start_daemon(rundir, extra=()):
    rundir = Path(rundir)
    proc = subprocess.Popen([*daemon_cmd(), "--rundir", str(rundir), "--seed", "1", *extra],
                            env=env_for(rundir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (rundir / "session").exists() and (rundir / "kstackd.pid").exists():
            return Daemon(rundir, proc)
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise RuntimeError(f"kstackd exited {proc.returncode}: {err.decode()}")
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("kstackd did not start")


def stop_daemon(d):
    if d.proc.poll() is None:
        os.kill(d.proc.pid, signal.SIGTERM)
        try:
            d.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(d.proc.pid, signal.SIGKILL)
            d.proc.wait()
    for pipe in (d.proc.stdout, d.proc.stderr):
        if pipe:
            pipe.close()


@contextlib.contextmanager
def running_daemon(rundir):
    """A daemon in rundir with KSTACK_RUNDIR pointing at it; at exit libsock's session is
    dropped, KSTACK_RUNDIR restored and the daemon stopped."""
    d = start_daemon(rundir)
    old = os.environ.get("KSTACK_RUNDIR")
    os.environ["KSTACK_RUNDIR"] = str(rundir)
    try:
        yield d
    finally:
        _drop_session()
        if old is None:
            os.environ.pop("KSTACK_RUNDIR", None)
        else:
            os.environ["KSTACK_RUNDIR"] = old
        stop_daemon(d)


def _drop_session():
    """Forget this process's libsock session (the next test's daemon is another)."""
    try:
        from libsock import _syscall
    except ImportError:
        return
    s = _syscall._session
    if s is not None:
        _syscall._session = None
        _syscall._graveyard.append(s)
        try:
            s.conn.close()
        except OSError:
            pass
