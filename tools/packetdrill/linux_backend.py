"""packetdrill's TUN mode: run a script against the real Linux kernel.

Not a kernel model: test tooling. As google/packetdrill's netdev.c does, it
creates tun0 (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, offloads CSUM+TSO4+TSO6+
TSO_ECN, so TCP may hand out GSO super-packets) with 192.168.0.1/16 and a
route to 192.0.2.0/24 via 192.168.0.1, brings lo up, and makes the script's
syscalls with the stdlib socket/os modules. Outbound packets are read from
the tun fd by a thread that timestamps them (time.monotonic); a partial
checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) is completed as a NIC would. Inbound
packets are written with a virtio_net_hdr that carries --mss as gso_size.

Every script runs in a fresh network namespace of its own: run_linux() forks
a child that calls unshare(CLONE_NEWNET) (ctypes; Python 3.11 has no
os.unshare), sets up tun0 and runs the script there, and sends its result
back through a pipe. The namespace (and tun0 with it) disappears when the
child exits, also when it fails or is killed. Sysctls are written only under
/proc/sys/net inside that namespace (per-netns on Linux; net.core.rmem_max
and friends are read-only there, so they are never changed).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from typing import Callable, Iterable, Optional

from kstack.wire.checksum import csum_fold, csum_partial

from .runner import (Backend, CallHandle, Config, LivePacket, ScriptResult, Unsupported, parse_ipv4_packet,
                     parse_tcp_info, run_script)

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN = 0x01, 0x02, 0x04, 0x08
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_GSO_TCPV4 = 1
_VNET = struct.Struct("<BBHHHH")          # flags gso_type hdr_len gso_size csum_start csum_offset
SIOCETHTOOL = 0x8946
ETHTOOL_LEGACY_SET = {"tso": 0x1F, "tcp-segmentation-offload": 0x1F, "gso": 0x24,
                      "generic-segmentation-offload": 0x24, "gro": 0x2C, "generic-receive-offload": 0x2C,
                      "sg": 0x19, "scatter-gather": 0x19, "tx": 0x17, "tx-checksumming": 0x17,
                      "rx": 0x15, "rx-checksumming": 0x15}
TCP_INFO = 11
PLAIN_CALL_LIMIT = 10.0


class _Blocked(Exception):
    pass


def _alarm(signum, frame):
    raise _Blocked()


def available() -> tuple[bool, str]:
    """Can this process run scripts in TUN mode? (ok, reason if not)."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces and /dev/net/tun)"
    if not os.path.exists("/dev/net/tun"):
        return False, "/dev/net/tun is missing"
    if shutil.which("ip") is None:
        return False, "iproute2's ip is missing"
    return True, ""


def _unshare_net() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare(CLONE_NEWNET): {os.strerror(e)}")


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {r.stderr.strip()}")


def _complete_csum(buf: bytearray, start: int, offset: int) -> None:
    """What a NIC does for CHECKSUM_PARTIAL: sum from csum_start (the field holds the
    pseudo-header sum) and store the folded complement at csum_start + csum_offset."""
    pos = start + offset
    if pos + 2 > len(buf):
        return
    c = csum_fold(csum_partial(bytes(buf[start:])))
    buf[pos:pos + 2] = c.to_bytes(2, "big")


class LinuxBackend(Backend):
    name = "linux"

    def __init__(self):
        self.tun_fd = -1
        self.t0 = time.monotonic()
        self.cv = threading.Condition()
        self.queue: list[LivePacket] = []
        self.objs: dict[int, socket.socket] = {}
        self.closing = False
        self.reader: Optional[threading.Thread] = None
        self.jobs: list = []
        self.cfg: Optional[Config] = None
        self.notes: list = []
        self.cc_override: Optional[bytes] = None

    # -- lifecycle ----------------------------------------------------------------
    def setup(self, config: Config) -> None:
        self.cfg = config
        # IPv6 on tun0 would send router solicitations and MLD reports into the capture
        self._write_proc("net/ipv6/conf/default/disable_ipv6", "1", missing_ok=True)
        fd = os.open("/dev/net/tun", os.O_RDWR)
        ifr = struct.pack("16sH22x", b"tun0", IFF_TUN | IFF_NO_PI | IFF_VNET_HDR)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
        self.tun_fd = fd
        _ip("link", "set", "lo", "up")
        _ip("link", "set", "tun0", "mtu", str(config.mtu), "up")
        _ip("addr", "add", f"{config.local_ip}/{config.prefix_len}", "dev", "tun0")
        prefix = config.remote_ip.rsplit(".", 1)[0] + ".0/24"
        _ip("route", "add", prefix, "via", config.gateway_ip, "dev", "tun0")
        self.reader = threading.Thread(target=self._read_loop, name="tun-reader", daemon=True)
        self.reader.start()
        self.syscall_thread = threading.Thread(target=self._syscall_loop, name="syscalls", daemon=True)
        self.syscall_thread.start()

    def teardown(self) -> None:
        with self.cv:
            self.closing = True
            self.cv.notify_all()
        for s in list(self.objs.values()):
            try:
                s.close()
            except OSError:
                pass
        self.objs.clear()
        if self.tun_fd >= 0:
            os.close(self.tun_fd)
            self.tun_fd = -1

    def start_clock(self) -> None:
        with self.cv:
            self.t0 = time.monotonic()
            # what the init command made the kernel send is not part of the script
            self.queue.clear()

    # -- the wire -------------------------------------------------------------------
    def _read_loop(self) -> None:
        fd = self.tun_fd
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while not self.closing:
            try:
                if not poller.poll(50):
                    continue
                data = os.read(fd, 65536 + _VNET.size)
            except OSError:
                return
            t = time.monotonic() - self.t0
            if len(data) <= _VNET.size:
                continue
            flags, gso_type, _hl, gso_size, cstart, coff = _VNET.unpack_from(data, 0)
            buf = bytearray(data[_VNET.size:])
            if buf[0] >> 4 != 4:
                continue
            if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
                _complete_csum(buf, cstart, coff)
            try:
                p = parse_ipv4_packet(bytes(buf), t)
            except ValueError:
                continue
            p.gso_size = gso_size if gso_type else 0
            with self.cv:
                self.queue.append(p)
                self.cv.notify_all()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def advance(self, t: float, stop: Callable[[], bool]) -> None:
        with self.cv:
            while not stop():
                left = t - self.now()
                if left <= 0:
                    return
                self.cv.wait(min(left, 0.05))

    def next_outbound(self, deadline: Optional[float], stop: Callable[[], bool]) -> Optional[LivePacket]:
        if deadline is None:
            deadline = self.now() + 30.0      # `*`: packetdrill waits forever; we stop somewhere
        with self.cv:
            while True:
                if self.queue:
                    return self.queue.pop(0)
                if stop():
                    return None
                left = deadline - self.now()
                if left <= 0:
                    return None
                self.cv.wait(min(left, 0.05))

    def inject(self, packet: bytes, gso_size: int = 0) -> None:
        if gso_size and packet[9] == 6:
            hdr = _VNET.pack(0, VIRTIO_NET_HDR_GSO_TCPV4, 0, gso_size, 0, 0)
        else:
            hdr = _VNET.pack(0, 0, 0, 0, 0, 0)
        os.write(self.tun_fd, hdr + packet)

    # -- syscalls ----------------------------------------------------------------------
    def call(self, name: str, *args, background: bool = False) -> CallHandle:
        """A plain call runs here, in the script's thread, as packetdrill's main thread runs it
        (guarded by an alarm: if it blocks for 10 s it fails instead of hanging). A blocking
        call (...END) runs in a helper thread, as packetdrill's syscall thread does."""
        fn = getattr(self, "sys_" + name, None)
        h = CallHandle(name)
        if fn is None:
            h.finish(Unsupported(f"system call {name}() on Linux"), self.now())
            return h

        def invoke():
            try:
                return fn(*args)
            except OSError as e:
                r = -(e.errno or errno.EIO)
                return (r, None) if name in ("accept", "accept4", "getsockopt", "ioctl", "poll") else r

        if not background:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, PLAIN_CALL_LIMIT)
            try:
                r = invoke()
            except _Blocked:
                r = None
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
            if r is not None:
                h.finish(r, self.now())
            return h

        # packetdrill's syscall thread: hand the call over and continue once it has started
        # (enqueue_system_call waits until the thread sleeps in the call or is done)
        with self.cv:
            self.jobs.append((h, invoke))
            self.cv.notify_all()
            while not h.done and getattr(h, "entered", None) is None:
                self.cv.wait(0.05)
        return h

    def _syscall_loop(self) -> None:
        while not self.closing:
            with self.cv:
                while not self.jobs and not self.closing:
                    self.cv.wait(0.05)
                if self.closing:
                    return
                h, invoke = self.jobs.pop(0)
                h.entered = self.now()
                self.cv.notify_all()
            r = invoke()
            end = self.now()
            with self.cv:
                h.finish(r, end)
                self.cv.notify_all()

    def wait_call(self, h: CallHandle, limit: float, stop: Callable[[], bool]) -> None:
        self.advance(limit, lambda: h.done or stop())

    def _sock(self, fd: int) -> socket.socket:
        s = self.objs.get(fd)
        if s is None:
            raise OSError(errno.EBADF, "bad fd")
        return s

    def sys_socket(self, domain, typ, proto):
        s = socket.socket(domain, typ, proto)
        self.objs[s.fileno()] = s
        if self.cc_override and typ & 0xF == socket.SOCK_STREAM:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, self.cc_override)
        return s.fileno()

    def sys_bind(self, fd, addr):
        self._sock(fd).bind(addr)
        return 0

    def sys_listen(self, fd, backlog):
        self._sock(fd).listen(backlog)
        return 0

    def sys_accept(self, fd):
        conn, addr = self._sock(fd).accept()
        self.objs[conn.fileno()] = conn
        return (conn.fileno(), addr)

    sys_accept4 = sys_accept

    def sys_connect(self, fd, addr):
        self._sock(fd).connect(addr)
        return 0

    def sys_read(self, fd, n):
        return len(os.read(fd, n))

    def sys_recv(self, fd, n, flags):
        return len(self._sock(fd).recv(n, flags))

    sys_recvfrom = sys_recv

    def sys_recvmsg(self, fd, n, flags):
        data, _anc, _fl, _addr = self._sock(fd).recvmsg(n, 0, flags)
        return len(data)

    def sys_write(self, fd, n):
        return os.write(fd, bytes(n))

    def sys_send(self, fd, n, flags):
        return self._sock(fd).send(bytes(n), flags)

    sys_sendto = sys_send

    def sys_writev(self, fd, lens):
        return os.writev(fd, [bytes(n) for n in lens])

    def sys_sendmsg(self, fd, lens, flags):
        return self._sock(fd).sendmsg([bytes(n) for n in lens], [], flags)

    def sys_close(self, fd):
        s = self.objs.pop(fd, None)
        if s is None:
            os.close(fd)
        else:
            s.close()
        return 0

    def sys_shutdown(self, fd, how):
        self._sock(fd).shutdown(how)
        return 0

    def sys_setsockopt(self, fd, level, opt, val):
        self._sock(fd).setsockopt(level, opt, val)
        return 0

    def sys_getsockopt(self, fd, level, opt, buflen):
        return (0, self._sock(fd).getsockopt(level, opt, buflen))

    def sys_fcntl(self, fd, cmd, arg):
        return fcntl.fcntl(fd, cmd, arg)

    def sys_ioctl(self, fd, req):
        out = fcntl.ioctl(fd, req, bytes(4))
        return (0, struct.unpack("i", out[:4])[0])

    def sys_poll(self, fds, timeout):
        p = select.poll()
        for fd, ev in fds:
            p.register(fd, ev)
        got = dict(p.poll(timeout))
        revents = [got.get(fd, 0) for fd, _ in fds]
        return (sum(1 for r in revents if r), revents)

    def tcp_info(self, fd: int) -> dict:
        return parse_tcp_info(self._sock(fd).getsockopt(socket.IPPROTO_TCP, TCP_INFO, 512))

    # -- configuration ---------------------------------------------------------------------
    @staticmethod
    def _proc_path(name: str) -> str:
        name = name.strip().replace("/proc/sys/", "").strip("/").replace(".", "/")
        if not name.startswith("net/"):
            raise Unsupported(f"sysctl {name.replace('/', '.')} (not per network namespace)")
        return "/proc/sys/" + name

    def _write_proc(self, rel: str, value: str, missing_ok: bool = False) -> int:
        path = "/proc/sys/" + rel
        try:
            with open(path, "w") as f:
                f.write(value)
            return 0
        except OSError as e:
            if missing_ok:
                return 0
            return -(e.errno or errno.EIO)

    def sysctl_get(self, name: str) -> Optional[str]:
        try:
            with open(self._proc_path(name)) as f:
                return " ".join(f.read().split())
        except OSError:
            return None

    def sysctl_set(self, name: str, value: str) -> int:
        path = self._proc_path(name)
        if self.sysctl_get(name) == " ".join(str(value).split()):
            return 0     # already so (a netns may not write e.g. tcp_congestion_control)
        try:
            with open(path, "w") as f:
                f.write(str(value).replace("\t", " ") + "\n")
            return 0
        except OSError as e:
            if e.errno == errno.EPERM and path.endswith("/tcp_congestion_control"):
                # A non-initial netns may only pick an algorithm the host allows; root may still
                # set it per socket, which children of a listener inherit.
                self.cc_override = str(value).strip().encode()
                self.notes.append(f"net.ipv4.tcp_congestion_control={value} is not allowed in a child netns "
                                  f"on this host; every socket gets TCP_CONGESTION={value} instead")
                return 0
            return -(e.errno or errno.EIO)

    def mib_snapshot(self) -> dict:
        out = {}
        for path in ("/proc/net/snmp", "/proc/net/netstat"):
            with open(path) as f:
                lines = f.read().splitlines()
            for head, vals in zip(lines[0::2], lines[1::2]):
                group, names = head.split(":", 1)
                _g, values = vals.split(":", 1)
                for n, v in zip(names.split(), values.split()):
                    out[group + n] = int(v)
        return out

    def set_qdisc(self, dev: str, kind: str, args: list) -> str:
        r = subprocess.run(["tc", "qdisc", "replace", "dev", dev, "root", kind, *args], capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0:
            return f"tc failed: {r.stderr.strip()}"
        return ""

    def ethtool_features(self, dev: str, features: dict) -> str:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for name, on in features.items():
                cmd = ETHTOOL_LEGACY_SET.get(name)
                if cmd is None:
                    raise Unsupported(f"ethtool -K feature {name}")
                val = ctypes.create_string_buffer(struct.pack("II", cmd, 1 if on else 0))
                ifr = struct.pack("16sP", dev.encode(), ctypes.addressof(val))
                fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)     # the legacy ETHTOOL_S* commands
        finally:
            s.close()
        return ""

    def flush_tcp_metrics(self) -> str:
        return ""


# --------------------------------------------------------------------------
# one namespace per script
# --------------------------------------------------------------------------


def _child(path: str, base: Config, overrides: dict, wfd: int) -> None:
    try:
        _unshare_net()
        import sys
        sys.setswitchinterval(0.0002)     # the tun reader and syscall threads must not wait 5 ms for the GIL
        res = run_script(path, LinuxBackend(), base, overrides)
        data = res.to_dict()
    except BaseException as e:  # report anything, never let the child return into the caller's code
        data = ScriptResult(path=path, status="error", backend="linux",
                            message=f"{type(e).__name__}: {e}").to_dict()
    try:
        blob = json.dumps(data).encode()
        view = memoryview(blob)
        while view:
            n = os.write(wfd, view)
            view = view[n:]
    finally:
        os._exit(0)


def start_linux(path: str, base: Optional[Config] = None, overrides: Optional[dict] = None):
    """Fork the child that runs `path` in its own namespace: (pid, read fd)."""
    base = base or Config()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _child(path, base, overrides or {}, wfd)
    os.close(wfd)
    return pid, rfd


def _collect(pid: int, rfd: int, path: str, deadline: float) -> ScriptResult:
    chunks = []
    killed = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
            r, _, _ = select.select([rfd], [], [], min(left, 1.0))
            if not r:
                continue
            b = os.read(rfd, 1 << 16)
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(rfd)
        os.waitpid(pid, 0)
    if killed:
        return ScriptResult(path=path, status="error", backend="linux", message="timed out (child killed)")
    try:
        return ScriptResult.from_dict(json.loads(b"".join(chunks)))
    except ValueError:
        return ScriptResult(path=path, status="error", backend="linux", message="child died without a result")


def run_linux(path: str, base: Optional[Config] = None, overrides: Optional[dict] = None,
              timeout: float = 120.0) -> ScriptResult:
    """Run one script in TUN mode in a fresh namespace; the namespace is gone afterwards."""
    ok, why = available()
    if not ok:
        return ScriptResult(path=path, status="unsupported", backend="linux", message=why)
    pid, rfd = start_linux(path, base, overrides)
    return _collect(pid, rfd, path, time.monotonic() + timeout)


def run_linux_many(paths: Iterable[str], base: Optional[Config] = None, overrides: Optional[dict] = None,
                   jobs: int = 4, timeout: float = 120.0) -> list:
    """Run several scripts, `jobs` namespaces at a time; results in the order of paths."""
    ok, why = available()
    paths = list(paths)
    if not ok:
        return [ScriptResult(path=p, status="unsupported", backend="linux", message=why) for p in paths]
    results: dict[int, ScriptResult] = {}
    running: dict[int, tuple] = {}     # rfd -> (index, pid, path, deadline, chunks)
    todo = list(enumerate(paths))
    while todo or running:
        while todo and len(running) < jobs:
            i, p = todo.pop(0)
            pid, rfd = start_linux(p, base, overrides)
            running[rfd] = (i, pid, p, time.monotonic() + timeout, [])
        r, _, _ = select.select(list(running), [], [], 0.5)
        for rfd in r:
            i, pid, p, dl, chunks = running[rfd]
            b = os.read(rfd, 1 << 16)
            if b:
                chunks.append(b)
                continue
            del running[rfd]
            os.close(rfd)
            os.waitpid(pid, 0)
            try:
                results[i] = ScriptResult.from_dict(json.loads(b"".join(chunks)))
            except ValueError:
                results[i] = ScriptResult(path=p, status="error", backend="linux",
                                          message="child died without a result")
        now = time.monotonic()
        for rfd in [k for k, v in running.items() if v[3] < now]:
            i, pid, p, dl, chunks = running.pop(rfd)
            os.kill(pid, signal.SIGKILL)
            os.close(rfd)
            os.waitpid(pid, 0)
            results[i] = ScriptResult(path=p, status="error", backend="linux", message="timed out (child killed)")
    return [results[i] for i in range(len(paths))]
