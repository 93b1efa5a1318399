"""An in-process world: hosts, links and socket programs on one fake clock.

Not a kernel file; it plays the machines and the processes. Tests, the demo
and the benchmarks write socket programs against it that read like socket
programs.

``World`` is a Sim (fake clock) with helpers to make hosts and veth links;
``Host`` wraps one Net and one FilesStruct (a process's fd table) and has a
method per syscall. Each runs the kernel entry point; a ``Blocked`` result is
driven to completion by running the whole world on the fake clock until the
waiter is woken (then ``retry()``), its timeout passes (``on_timeout()``), or a
signal is asked for (``signal_after`` seconds: ``on_signal()``). A negative
result raises OSError(errno) as Python's socket module does, so tests read:

    w = World(); a, b = w.pair()          # 10.0.0.1/24 <-veth-> 10.0.0.2/24
    s = b.socket(AF_INET, SOCK_DGRAM); b.bind(s, ("10.0.0.2", 9000))
    c = a.socket(AF_INET, SOCK_DGRAM); a.sendto(c, b"hi", ("10.0.0.2", 9000))
    assert b.recvfrom(s, 100) == (b"hi", ("10.0.0.1", a.getsockname(c)[1]))

A call that would sleep forever with nothing left to happen in the world raises
``WouldBlockForever`` instead of hanging.
"""
import errno
import os

from kstack.core.sock import AF_INET, SOCK_DGRAM
from kstack.core.wait import Blocked, WaitQueueEntry, add_wait_queue, remove_wait_queue
from kstack.fs import eventpoll, select as kselect
from kstack.fs.file import Cred, FilesStruct
from kstack.net import socket as ksock
from kstack.sim import Sim

_sys = {name[6:]: getattr(ksock, name) for name in dir(ksock) if name.startswith("__sys_")}


class WouldBlockForever(Exception):
    """The call sleeps and nothing in the world can wake it."""


def check(r):
    """Raise OSError for -errno (an OptInt is a value, not an error)."""
    if type(r) is int and r < 0:
        raise OSError(-r, os.strerror(-r))
    return r


class World:
    """Several hosts on one fake clock."""

    def __init__(self):
        self.sim = Sim()
        self.clock = self.sim.clock
        self.hosts = []
        self.nlinks = 0

    def host(self, name: str = None, **kw) -> "Host":
        net = self.sim.new_net(name or f"h{len(self.hosts)}")
        h = Host(self, net, **kw)
        self.hosts.append(h)
        return h

    def link(self, a: "Host", b: "Host", addr_a: str, addr_b: str, name_a: str = None,
             name_b: str = None, mtu: int = None):
        """A veth pair between a and b, up, with the given "ip/len" addresses."""
        from kstack.core.dev import dev_open, dev_set_mtu
        from kstack.drivers.net.veth import veth_newlink
        na = name_a or f"eth{sum(1 for d in a.net.dev_base if d.name.startswith('eth'))}"
        nb = name_b or f"eth{sum(1 for d in b.net.dev_base if d.name.startswith('eth'))}"
        da, db = veth_newlink(a.net, na, b.net, nb)
        for dev in (da, db):
            if mtu:
                dev_set_mtu(dev, mtu)
            dev_open(dev)
        a.ip_addr_add(na, addr_a)
        b.ip_addr_add(nb, addr_b)
        self.nlinks += 1
        return da, db

    def pair(self, addr_a: str = "10.0.0.1/24", addr_b: str = "10.0.0.2/24"):
        a = self.host("a")
        b = self.host("b")
        self.link(a, b, addr_a, addr_b)
        return a, b

    def settle(self) -> None:
        self.sim.settle()

    def run_for(self, seconds: float) -> None:
        self.sim.run_for(seconds)

    def wait(self, r, limit: float = 3600.0, signal_after: float = None):
        """Drive a Blocked to its result on the fake clock."""
        clock = self.clock
        hard = clock.now() + limit
        sig_at = None if signal_after is None else clock.now() + signal_after
        while type(r) is Blocked:
            woken = []
            entry = WaitQueueEntry(lambda e, key: woken.append(key), None, r.mask)
            add_wait_queue(r.wq, entry)
            deadline = None if r.timeo is None else clock.now() + r.timeo
            until = hard
            for t in (deadline, sig_at):
                if t is not None and t < until:
                    until = t
            try:
                if until > clock.now():
                    self.sim.run(until=until, stop=lambda: bool(woken))
                else:
                    self.sim.settle()
            finally:
                remove_wait_queue(r.wq, entry)
            if woken:
                r = r.retry()
            elif sig_at is not None and clock.now() >= sig_at:
                r = r.on_signal()
            elif deadline is not None and clock.now() >= deadline:
                r = r.on_timeout()
            else:
                raise WouldBlockForever(repr(r))
        return r


class Host:
    """One machine (a Net) and one process's fd table."""

    def __init__(self, world: World, net, cred: Cred = None, first_fd: int = 3):
        self.world = world
        self.net = net
        self.files = FilesStruct(first_fd=first_fd, cred=cred, net=net)

    def __repr__(self):
        return f"<host {self.net.name}>"

    # --- configuration -----------------------------------------------------------------
    def ip_addr_add(self, dev: str, cidr: str) -> None:
        from kstack.net.ipv4.devinet import inet_rtm_newaddr
        local, _, plen = cidr.partition("/")
        r = inet_rtm_newaddr(self.net, dev, local, int(plen or 32))
        check(r)

    def ip_route_add(self, dst: str, via: str = None, dev: str = None, table: int = None) -> None:
        """`ip route add DST [via GW] [dev DEV]` (DST "default" or "a.b.c.d/len")."""
        from kstack.core.dev import dev_get_by_name
        from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
        from kstack.net.ipv4.fib_semantics import FibConfig
        from kstack.wire.inet import in_aton
        prefix, _, plen = ("0.0.0.0/0" if dst == "default" else dst).partition("/")
        cfg = FibConfig(fc_dst=in_aton(prefix), fc_dst_len=int(plen or 32))
        if via:
            cfg.fc_gw4 = in_aton(via)
        if dev:
            cfg.fc_oif = dev_get_by_name(self.net, dev).ifindex
        if table is not None:
            cfg.fc_table = table
        check(inet_rtm_newroute(self.net, cfg))

    def sysctl(self, name: str, value=None):
        from kstack.core.sysctl import sysctl_get, sysctl_set
        if value is None:
            return sysctl_get(self.net, name)
        return check(sysctl_set(self.net, name, value))

    def process(self, cred: Cred = None, first_fd: int = 3) -> "Host":
        """Another process on the same machine (its own fd table)."""
        return Host(self.world, self.net, cred=cred, first_fd=first_fd)

    @property
    def mib(self):
        return self.net.mib

    # --- the syscalls ----------------------------------------------------------------------
    def _call(self, name, *args, block=True, timeout=None, signal_after=None):
        r = name(self.files, *args) if callable(name) else _sys[name](self.files, *args)
        if type(r) is Blocked:
            if not block:
                return r
            r = self.world.wait(r, signal_after=signal_after) if timeout is None else \
                self.world.wait(r, limit=timeout, signal_after=signal_after)
        return check(r)

    def socket(self, family=AF_INET, type_=SOCK_DGRAM, proto=0) -> int:
        return self._call("socket", family, type_, proto)

    def bind(self, fd, addr):
        return self._call("bind", fd, addr)

    def connect(self, fd, addr, **kw):
        return self._call("connect", fd, addr, **kw)

    def listen(self, fd, backlog=128):
        return self._call("listen", fd, backlog)

    def accept(self, fd, flags=0, **kw):
        return self._call("accept4", fd, flags, **kw)

    def sendto(self, fd, data, addr=None, flags=0, **kw):
        return self._call("sendto", fd, data, flags, addr, **kw)

    def send(self, fd, data, flags=0, **kw):
        return self._call("sendto", fd, data, flags, None, **kw)

    def recvfrom(self, fd, size, flags=0, **kw):
        return self._call("recvfrom", fd, size, flags, **kw)

    def recv(self, fd, size, flags=0, **kw):
        return self._call("recvfrom", fd, size, flags, **kw)[0]

    def sendmsg(self, fd, buffers, ancdata=(), flags=0, addr=None, **kw):
        return self._call("sendmsg", fd, buffers, ancdata, flags, addr, **kw)

    def recvmsg(self, fd, size, ancbufsize=0, flags=0, **kw):
        return self._call("recvmsg", fd, size, ancbufsize, flags, **kw)

    def shutdown(self, fd, how):
        return self._call("shutdown", fd, how)

    def getsockname(self, fd):
        return self._call("getsockname", fd)

    def getpeername(self, fd):
        return self._call("getpeername", fd)

    def setsockopt(self, fd, level, optname, value):
        return self._call("setsockopt", fd, level, optname, value)

    def getsockopt(self, fd, level, optname, buflen=0):
        return self._call("getsockopt", fd, level, optname, buflen)

    def close(self, fd):
        return self._call(ksock.sys_close, fd)

    def ioctl(self, fd, cmd, arg=0):
        return self._call(ksock.sys_ioctl, fd, cmd, arg)

    def fcntl(self, fd, cmd, arg=0):
        return self._call(ksock.sys_fcntl, fd, cmd, arg)

    def dup(self, fd):
        return self._call(ksock.sys_dup, fd)

    def poll(self, fds, timeout_ms=-1, **kw):
        return self._call(kselect.do_sys_poll, list(fds), timeout_ms, **kw)

    def select(self, r, w=(), x=(), timeout=None, **kw):
        return self._call(kselect.do_select, list(r), list(w), list(x), timeout, **kw)

    def epoll_create1(self, flags=0):
        return self._call(eventpoll.epoll_create1, flags)

    def epoll_ctl(self, epfd, op, fd, events=0, data=None):
        return self._call(eventpoll.epoll_ctl, epfd, op, fd, events, data)

    def epoll_wait(self, epfd, maxevents=64, timeout_ms=-1, **kw):
        return self._call(eventpoll.ep_poll, epfd, maxevents, timeout_ms, **kw)

    def sock(self, fd):
        """The kernel's struct sock behind fd (for white-box checks)."""
        return ksock.sockfd_lookup(self.files, fd).sk


__all__ = ["World", "Host", "WouldBlockForever", "check", "errno"]
