"""The control channel: rtnetlink-named requests, sysctl, sock_diag, MIB counters.

A ROUTER at ipc://RUNDIR/control. A request is msgpack ``[seq, msgtype,
attrs]``; the reply is ``[seq, result, payload]`` (result 0 or -errno,
payload whatever the call returns: a list of dicts for GET/dump calls).

- ``RTM_NEWLINK RTM_GETLINK RTM_NEWADDR RTM_GETADDR RTM_DELADDR RTM_NEWROUTE
  RTM_GETROUTE RTM_DELROUTE RTM_NEWNEIGH RTM_GETNEIGH RTM_DELNEIGH``: handed to
  ``kstack.core.rtnetlink.rtnetlink_rcv_msg(net, msgtype, attrs)``
  (net/core/rtnetlink.c's dispatch; the attrs dict carries the IFLA_/IFA_/
  RTA_/NDA_ values by name), whose return value is the reply.
- ``SYSCTL_GET {name}``, ``SYSCTL_SET {name, value}``, ``SYSCTL_LIST {prefix}``.
- ``SOCK_DIAG {}``: the sockets for ss (inet_diag's view), with their owners.
- ``NSTAT {}``: the MIB counters (/proc/net/snmp, netstat); ``DROPS {}``.
- ``DAEMON {}``: the daemon's own counters (bad requests, sessions...).

Like the syscall server, nothing sent here can stop the daemon.
"""
import os

import msgpack
import zmq

from ..core.errno import EFAULT, EINVAL, ENOSYS
from ..core.sysctl import sysctl_all, sysctl_get, sysctl_set
from .proto import CONTROL_EP, MAX_REQUEST

EBADMSG = 74
RTM_CALLS = frozenset((
    "RTM_NEWLINK", "RTM_DELLINK", "RTM_GETLINK", "RTM_SETLINK",
    "RTM_NEWADDR", "RTM_DELADDR", "RTM_GETADDR",
    "RTM_NEWROUTE", "RTM_DELROUTE", "RTM_GETROUTE",
    "RTM_NEWNEIGH", "RTM_DELNEIGH", "RTM_GETNEIGH",
))


def _plain(v):
    """Make a value msgpack can carry (tuples -> lists, objects -> str)."""
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)


class ControlServer:
    def __init__(self, d):
        self.d = d
        self.sock = d.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST)
        old = os.umask(0o077)
        try:
            self.sock.bind("ipc://" + os.path.join(d.rundir, CONTROL_EP))
        finally:
            os.umask(old)
        self.more = False

    def has_more(self) -> bool:
        return self.more

    def process(self, budget: int) -> None:
        if not self.more:
            return
        sock = self.sock
        for _ in range(budget):
            if not sock.getsockopt(zmq.EVENTS) & int(zmq.POLLIN):
                self.more = False
                return
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.ZMQError:
                continue
            out = self.handle(frames)
            if out is not None:
                try:
                    sock.send_multipart(out, zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
            # a control call may queue packets or wake sockets
            self.d.tick()
        self.more = True

    def handle(self, frames):
        if len(frames) < 2:
            self.d.stats["bad_requests"] += 1
            return None
        ident = frames[0]
        try:
            req = msgpack.unpackb(frames[1], raw=False, strict_map_key=False)
            seq, msgtype, attrs = req[0], req[1], (req[2] if len(req) > 2 else {})
            if type(seq) is not int or not isinstance(msgtype, str) or not isinstance(attrs, dict):
                raise ValueError
        except Exception:
            self.d.stats["bad_requests"] += 1
            return [ident, msgpack.packb([-1, -EBADMSG, None])]
        try:
            r, payload = self.call(msgtype, attrs)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            self.d.stats["bad_requests"] += 1
            r, payload = -EINVAL, str(e)
        except Exception as e:
            self.d.net.bug(e, f"control {msgtype}")
            r, payload = -EFAULT, repr(e)
        return [ident, msgpack.packb([seq, r, _plain(payload)])]

    def call(self, msgtype: str, attrs: dict):
        net = self.d.net
        if msgtype in RTM_CALLS:
            try:
                from ..core.rtnetlink import rtnetlink_rcv_msg
            except ImportError:
                return -ENOSYS, "rtnetlink not available"
            r = rtnetlink_rcv_msg(net, msgtype, attrs)
            if isinstance(r, int):
                return (r if r < 0 else 0), None
            if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], int):
                return r
            return 0, r
        if msgtype == "SYSCTL_GET":
            v = sysctl_get(net, attrs["name"])
            return (v, None) if isinstance(v, int) else (0, v)
        if msgtype == "SYSCTL_SET":
            return sysctl_set(net, attrs["name"], attrs["value"]), None
        if msgtype == "SYSCTL_LIST":
            return 0, sysctl_all(net, attrs.get("prefix", "net"))
        if msgtype == "SOCK_DIAG":
            from .diag import sock_diag
            return 0, sock_diag(self.d, attrs)
        if msgtype == "NSTAT":
            return 0, net.mib.snapshot()
        if msgtype == "DROPS":
            return 0, dict(net.drop_reasons)
        if msgtype == "DAEMON":
            return 0, {**self.d.stats, **self.d.sockfs.stats, "pid": os.getpid(),
                       "sessions_open": len(self.d.sessions.by_sid),
                       "sockets": len(self.d.sockfs.by_ino), "bugs": list(net.bugs),
                       "parked": len(self.d.syscalls.parked),
                       "capture_tap": self.d.capture.pt is not None,
                       "capture_sent": self.d.capture.sent}
        return -ENOSYS, None

    def close(self):
        self.sock.close(0)
