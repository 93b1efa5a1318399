"""A small client for the control channel, for tools (ip, ss, sysctl, nstat).

    c = ControlClient(rundir)
    c.request("RTM_NEWADDR", {"dev": "lo", "address": "10.0.0.1", "prefixlen": 24})
    c.request("SYSCTL_GET", {"name": "net.ipv4.ip_forward"})

request() returns the payload or raises OSError(errno) for a negative result;
a daemon that does not answer within ``timeout`` seconds raises
OSError(ENETDOWN) naming the rundir.
"""
import errno
import os

import msgpack
import zmq

from .proto import CONTROL_EP, SESSION_SOCK


def default_rundir(name: str | None = None) -> str:
    """KSTACK_RUNDIR, or -n NAME -> $XDG_RUNTIME_DIR/kstack/NAME (/tmp/kstack-UID/NAME)."""
    if name:
        if "/" in name:
            return name
        base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/kstack-{os.getuid()}"
        return os.path.join(base, "kstack", name) if "XDG_RUNTIME_DIR" in os.environ \
            else os.path.join(base, name)
    env = os.environ.get("KSTACK_RUNDIR")
    if env:
        return env
    return default_rundir("default")


class ControlClient:
    def __init__(self, rundir: str | None = None, timeout: float = 10.0):
        self.rundir = rundir or default_rundir()
        if not os.path.exists(os.path.join(self.rundir, SESSION_SOCK)):
            raise ConnectionRefusedError(errno.ECONNREFUSED,
                                         f"kstackd is not running in {self.rundir}")
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect("ipc://" + os.path.join(self.rundir, CONTROL_EP))
        self.timeout = timeout
        self.seq = 0

    def request(self, msgtype: str, attrs: dict | None = None):
        self.seq += 1
        self.sock.send(msgpack.packb([self.seq, msgtype, attrs or {}]))
        while True:
            if not self.sock.poll(int(self.timeout * 1000)):
                raise OSError(errno.ENETDOWN, f"kstackd in {self.rundir} does not answer")
            seq, r, payload = msgpack.unpackb(self.sock.recv(), raw=False, strict_map_key=False)
            if seq != self.seq:
                continue
            if r < 0:
                msg = os.strerror(-r)
                if isinstance(payload, str) and payload:
                    msg += f" ({payload})"
                raise OSError(-r, msg)
            return payload

    def close(self):
        self.sock.close(0)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
