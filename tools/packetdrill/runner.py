"""The packetdrill interpreter core: one script, one backend, one verdict.

Not a kernel file: this is test tooling that plays google/packetdrill's run.c,
run_packet.c, run_system_call.c, run_command.c and code.c (the semantics as
../shared/packetdrill/README.md describes them) against an abstract Backend.
Two backends exist: kstack_backend.KstackBackend (a kstack Net on a fake
clock, with a "tun0" capture device) and linux_backend.LinuxBackend (the real
kernel through /dev/net/tun in a fresh network namespace). The interpreter
never touches a clock, a device or a socket itself; it asks the backend.

What it models, in packetdrill's terms:
- option lines and flags (Config), the init command, the timed events, the
  cleanup command that always runs, %{ }% code run after the script;
- time: absolute / relative / ``a~b`` windows / ``*``; relative times count
  from the moment the previous event finished, except between two inbound
  packets (anchored to the previous packet's scheduled time); tolerance is
  max(tolerance_usecs, tolerance_percent x scripted gap);
- one blocking call (``...END``) in the background at a time; a later
  blocking call waits up to 1 s for it, a plain call waits too;
- the connection under test: socket() makes a socket the one under test,
  the first inbound segment after listen() makes a child with a fresh remote
  ephemeral port, the first outbound SYN after connect() names the local
  port; ISNs learnt from the first outbound SYN / SYN-ACK translate seq, ack
  and SACK edges both ways; inbound TS ecr is mapped to the TS val the stack
  really sent on the outbound line that wrote that value;
- outbound matching in order with GSO aggregation (consecutive segments up
  to the line's LEN) unless --strict_segments; inbound GSO with --mss;
- checks: flags, seq, ack, win (if given), header length, options (TS only
  by place, ``<...>`` none), payload length and zero bytes, IP and TCP
  checksums, time;
- shell commands are interpreted, not run (defaults.sh, set_sysctls.py,
  sysctl, nstat | grep, tc, ethtool, the sysctl restore script);
- at the end: close every fd left open and inject a RST for the connection.
"""

from __future__ import annotations

import errno as _errno
import fnmatch
import json
import os
import re
import shlex
import struct
import time as _time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from kstack.wire.checksum import ip_fast_csum, tcp4_csum, inet_csum
from kstack.wire.tcphdr import encode_options, parse_options
from kstack.wire.errors import WireError

from .parser import (BinOr, Call, CodeEvent, CommandEvent, EllipsisArg, Event, IcmpPacket, Int, List,
                     Null, PacketEvent, ParseError, Script, String, Struct, Symbol, SyscallEvent, UdpPacket,
                     format_event, format_tcp_packet, parse_file)

__all__ = [
    "Config", "ScriptResult", "Runner", "Backend", "CallHandle", "LivePacket", "Failure", "Unsupported",
    "run_script", "parse_ipv4_packet", "build_tcp_packet", "build_icmp_frag_needed", "SYMBOLS",
    "SHARED_DIR", "load_defaults", "Nstat", "ShellInterp", "parse_tcp_info",
]

SHARED_DIR = Path(__file__).resolve().parents[3] / "shared" / "packetdrill"

# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------

TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK, TH_URG, TH_ECE, TH_CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
_FLAG_BITS = {"F": TH_FIN, "S": TH_SYN, "R": TH_RST, "P": TH_PSH, ".": TH_ACK, "U": TH_URG, "E": TH_ECE, "W": TH_CWR}
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 1, 6, 17
U32 = 0xFFFFFFFF
USEC = 1_000_000

# Symbols a script may name in a syscall argument: Linux's values (x86-64 ABI).
SYMBOLS = {
    "AF_INET": 2, "AF_INET6": 10, "AF_UNSPEC": 0, "PF_INET": 2,
    "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
    "IPPROTO_IP": 0, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_ICMP": 1,
    "SOL_SOCKET": 1, "SOL_TCP": 6, "SOL_IP": 0, "SOL_UDP": 17,
    "SO_DEBUG": 1, "SO_REUSEADDR": 2, "SO_TYPE": 3, "SO_ERROR": 4, "SO_DONTROUTE": 5, "SO_BROADCAST": 6,
    "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_KEEPALIVE": 9, "SO_OOBINLINE": 10, "SO_NO_CHECK": 11,
    "SO_PRIORITY": 12, "SO_LINGER": 13, "SO_REUSEPORT": 15, "SO_RCVLOWAT": 18, "SO_SNDLOWAT": 19,
    "SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21, "SO_SNDBUFFORCE": 32, "SO_RCVBUFFORCE": 33, "SO_MARK": 36,
    "SO_ACCEPTCONN": 30, "SO_PROTOCOL": 38, "SO_DOMAIN": 39, "SO_MAX_PACING_RATE": 47,
    "TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5,
    "TCP_KEEPCNT": 6, "TCP_SYNCNT": 7, "TCP_LINGER2": 8, "TCP_DEFER_ACCEPT": 9, "TCP_WINDOW_CLAMP": 10,
    "TCP_INFO": 11, "TCP_QUICKACK": 12, "TCP_CONGESTION": 13, "TCP_USER_TIMEOUT": 18,
    "TCP_NOTSENT_LOWAT": 25, "TCP_FASTOPEN": 23,
    "IP_TOS": 1, "IP_TTL": 2, "IP_MTU_DISCOVER": 10, "IP_RECVERR": 11, "IP_MTU": 14,
    "F_GETFD": 1, "F_SETFD": 2, "F_GETFL": 3, "F_SETFL": 4,
    "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0o4000, "O_NDELAY": 0o4000,
    "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
    "MSG_OOB": 1, "MSG_PEEK": 2, "MSG_DONTROUTE": 4, "MSG_TRUNC": 0x20, "MSG_DONTWAIT": 0x40,
    "MSG_EOR": 0x80, "MSG_WAITALL": 0x100, "MSG_NOSIGNAL": 0x4000, "MSG_MORE": 0x8000,
    "MSG_ERRQUEUE": 0x2000,
    "SIOCINQ": 0x541B, "FIONREAD": 0x541B, "SIOCOUTQ": 0x5411, "TIOCOUTQ": 0x5411, "SIOCOUTQNSD": 0x894B,
    "FIONBIO": 0x5421,
    "POLLIN": 0x001, "POLLPRI": 0x002, "POLLOUT": 0x004, "POLLERR": 0x008, "POLLHUP": 0x010,
    "POLLNVAL": 0x020, "POLLRDNORM": 0x040, "POLLRDBAND": 0x080, "POLLWRNORM": 0x100,
    "POLLWRBAND": 0x200, "POLLMSG": 0x400, "POLLRDHUP": 0x2000,
    "IP_PMTUDISC_DONT": 0, "IP_PMTUDISC_WANT": 1, "IP_PMTUDISC_DO": 2, "IP_PMTUDISC_PROBE": 3,
}
POLL_NAMES = [(v, k) for k, v in SYMBOLS.items() if k.startswith("POLL")]

# socket states of packetdrill's socket.h (the connection-under-test model)
S_NEW, S_PASSIVE_LISTENING, S_PASSIVE_PACKET_RECEIVED = "NEW", "PASSIVE_LISTENING", "PASSIVE_PACKET_RECEIVED"
S_PASSIVE_SYNACK_SENT, S_PASSIVE_SYNACK_ACKED = "PASSIVE_SYNACK_SENT", "PASSIVE_SYNACK_ACKED"
S_ACTIVE_CONNECTING, S_ACTIVE_SYN_SENT, S_ACTIVE_SYN_ACKED = "ACTIVE_CONNECTING", "ACTIVE_SYN_SENT", "ACTIVE_SYN_ACKED"


def errno_name(n: int) -> str:
    return _errno.errorcode.get(n, str(n))


def errno_value(name: str) -> int:
    v = getattr(_errno, name, None)
    if not isinstance(v, int):
        raise Unsupported(f"errno name {name}")
    return v


def ip_aton(s: str) -> int:
    parts = [int(p) for p in s.split(".")]
    if len(parts) != 4 or any(not 0 <= p <= 255 for p in parts):
        raise ValueError(f"bad IPv4 address {s!r}")
    return (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]


def ip_ntoa(a: int) -> str:
    return f"{(a >> 24) & 255}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


class Failure(Exception):
    """The script failed: the first mismatch, with where and what."""

    def __init__(self, message: str, event: Optional[Event] = None, expected: str = "", actual: str = "",
                 time: Optional[float] = None):
        super().__init__(message)
        self.message = message
        self.event = event
        self.expected = expected
        self.actual = actual
        self.time = time


class Unsupported(Exception):
    """The script needs a feature this runner or backend does not have (named)."""

    def __init__(self, feature: str, event: Optional[Event] = None):
        super().__init__(feature)
        self.feature = feature
        self.event = event


# --------------------------------------------------------------------------
# configuration (option lines and command-line flags)
# --------------------------------------------------------------------------

_BOOL_FLAGS = {"strict_segments", "tcp_ts_ecr_scaled", "verbose", "send_omit_free", "dry_run"}


@dataclass
class Config:
    tolerance_usecs: int = 4000
    tolerance_percent: float = 12.5
    mss: Optional[int] = None               # inbound GSO segment size
    ip_version: str = "ipv4"
    local_ip: str = "192.168.0.1"
    remote_ip: str = "192.0.2.1"
    gateway_ip: str = "192.168.0.1"
    netmask_ip: str = "255.255.0.0"
    bind_port: int = 8080
    connect_port: int = 8080
    mtu: int = 1500
    strict_segments: bool = False
    tcp_ts_tick_usecs: int = 0
    tcp_ts_ecr_scaled: bool = False
    verbose: bool = False
    defines: dict = field(default_factory=dict)
    wait_slack_usecs: int = 2_000_000       # how long an outbound line waits beyond its time
    seed: int = 1
    # flags packetdrill accepts that change nothing here
    ignored: dict = field(default_factory=dict)

    KNOWN = ("tolerance_usecs", "tolerance_percent", "mss", "ip_version", "local_ip", "remote_ip", "gateway_ip",
             "netmask_ip", "bind_port", "connect_port", "mtu", "strict_segments", "tcp_ts_tick_usecs",
             "tcp_ts_ecr_scaled", "verbose")
    IGNORED = ("send_omit_free", "speed", "init_scripts", "dry_run", "non_fatal", "so_filename",
               "wire_client", "wire_server")

    def apply(self, name: str, value: Optional[str]) -> None:
        """Apply one --name[=value] (raises Unsupported for an unknown or impossible one)."""
        name = name.replace("-", "_")
        if name == "define" or name == "D":
            if value and "=" in value:
                k, v = value.split("=", 1)
                self.defines[k] = v
            return
        if name in self.IGNORED:
            self.ignored[name] = value
            return
        if name not in self.KNOWN:
            raise Unsupported(f"option --{name}")
        if name in _BOOL_FLAGS:
            setattr(self, name, value is None or value.lower() not in ("0", "false", "no", "off"))
            return
        if value is None:
            raise Unsupported(f"option --{name} needs a value")
        if name == "ip_version":
            if value != "ipv4":
                raise Unsupported(f"--ip_version={value} (IPv4 only)")
            self.ip_version = value
            return
        cur = getattr(self, name)
        if isinstance(cur, float) or name == "tolerance_percent":
            setattr(self, name, float(value))
        elif isinstance(cur, int) or cur is None:
            setattr(self, name, int(value, 0))
        else:
            ip_aton(value)
            setattr(self, name, value)

    def copy(self) -> "Config":
        c = Config(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        c.defines = dict(self.defines)
        c.ignored = dict(self.ignored)
        return c

    @property
    def prefix_len(self) -> int:
        return bin(ip_aton(self.netmask_ip)).count("1")


def script_config(script: Script, base: Config, overrides: dict) -> Config:
    """Option lines first, then the command line's flags override them (packetdrill's order)."""
    cfg = base.copy()
    for name, value in script.options.items():
        cfg.apply(name, value)
    for name, value in overrides.items():
        cfg.apply(name, value)
    return cfg


# --------------------------------------------------------------------------
# packets
# --------------------------------------------------------------------------

_IP = struct.Struct("!BBHHHBBHII")
_TCP = struct.Struct("!HHIIBBHHH")


@dataclass
class LivePacket:
    """One IPv4 packet seen leaving the stack (or built for it), parsed."""

    time: float
    raw: bytes
    saddr: int = 0
    daddr: int = 0
    proto: int = 0
    ihl: int = 5
    tot_len: int = 0
    tos: int = 0
    ttl: int = 0
    ip_csum_ok: bool = True
    sport: int = 0
    dport: int = 0
    seq: int = 0
    ack: int = 0
    doff: int = 5
    res1: int = 0
    flags: int = 0
    win: int = 0
    urg: int = 0
    tcp_csum_ok: bool = True
    options: list = field(default_factory=list)
    options_error: str = ""
    payload: bytes = b""
    icmp_type: int = -1
    icmp_code: int = -1
    gso_size: int = 0

    @property
    def is_tcp(self) -> bool:
        return self.proto == IPPROTO_TCP

    @property
    def tuple(self) -> tuple:
        return (self.saddr, self.sport, self.daddr, self.dport)

    def flag_chars(self) -> str:
        out = "".join(c for c, b in (("F", TH_FIN), ("S", TH_SYN), ("R", TH_RST), ("P", TH_PSH), (".", TH_ACK),
                                     ("U", TH_URG), ("E", TH_ECE), ("W", TH_CWR)) if self.flags & b)
        if self.res1 & 1:
            out += "A"
        return out or "-"


def parse_ipv4_packet(buf: bytes, t: float = 0.0) -> LivePacket:
    """Parse an IPv4 packet as it left the stack. Raises ValueError if it is not IPv4."""
    buf = bytes(buf)
    if len(buf) < 20 or buf[0] >> 4 != 4:
        raise ValueError("not an IPv4 packet")
    vihl, tos, tot_len, _id, _frag, ttl, proto, _csum, saddr, daddr = _IP.unpack_from(buf, 0)
    ihl = vihl & 0x0F
    p = LivePacket(time=t, raw=buf, saddr=saddr, daddr=daddr, proto=proto, ihl=ihl, tot_len=tot_len, tos=tos,
                   ttl=ttl)
    hl = ihl * 4
    p.ip_csum_ok = len(buf) >= hl and ip_fast_csum(buf[:hl]) == 0
    end = min(tot_len, len(buf)) if tot_len else len(buf)
    if proto == IPPROTO_TCP and end >= hl + 20:
        (p.sport, p.dport, p.seq, p.ack, off, p.flags, p.win, _c, p.urg) = _TCP.unpack_from(buf, hl)
        p.doff = off >> 4
        p.res1 = off & 0x0F
        thl = p.doff * 4
        try:
            p.options = parse_options(buf[hl + 20:hl + thl])
        except WireError as e:
            p.options = []
            p.options_error = str(e)
        p.payload = buf[hl + thl:end]
        p.tcp_csum_ok = tcp4_csum(saddr, daddr, buf[hl:end]) == 0
    elif proto == IPPROTO_ICMP and end >= hl + 4:
        p.icmp_type, p.icmp_code = buf[hl], buf[hl + 1]
        p.payload = buf[hl + 8:end]
    return p


def build_tcp_packet(saddr: int, daddr: int, sport: int, dport: int, seq: int, ack: int, flags: int, win: int,
                     options: list, payload_len: int, urg: int = 0, res1: int = 0, tos: int = 0,
                     ttl: int = 64) -> bytes:
    """An IPv4+TCP packet with correct checksums; the payload is zero bytes (packetdrill's)."""
    opt = encode_options(options) if options else b""
    thl = 20 + len(opt)
    tot = 20 + thl + payload_len
    if tot > 0xFFFF:
        raise Unsupported(f"inbound packet of {tot} bytes (over 64 KiB)")
    b = bytearray(tot)
    _IP.pack_into(b, 0, 0x45, tos, tot, 0, 0x4000, ttl, IPPROTO_TCP, 0, saddr, daddr)
    c = ip_fast_csum(b[:20])
    b[10:12] = c.to_bytes(2, "big")
    _TCP.pack_into(b, 20, sport, dport, seq & U32, ack & U32, ((thl // 4) << 4) | (res1 & 0xF), flags, win, 0, urg)
    b[40:40 + len(opt)] = opt
    c = tcp4_csum(saddr, daddr, b[20:])
    b[36:38] = c.to_bytes(2, "big")
    return bytes(b)


ICMP_TYPES = {"echo_reply": 0, "unreachable": 3, "dest_unreachable": 3, "source_quench": 4, "redirect": 5,
              "echo_request": 8, "time_exceeded": 11, "parameter_problem": 12}
ICMP_UNREACH_CODES = {"net_unreachable": 0, "host_unreachable": 1, "protocol_unreachable": 2,
                      "port_unreachable": 3, "frag_needed": 4, "source_route_failed": 5,
                      "net_unknown": 6, "host_unknown": 7, "source_host_isolated": 8,
                      "net_prohibited": 9, "host_prohibited": 10, "net_unreachable_for_tos": 11,
                      "host_unreachable_for_tos": 12, "packet_filtered": 13, "precedence_violation": 14,
                      "precedence_cutoff": 15}


def build_icmp_error(saddr: int, daddr: int, icmp_type: int, code: int, mtu: int, quoted: bytes) -> bytes:
    """An ICMP error (RFC 792; next-hop MTU per RFC 1191) quoting the start of `quoted`."""
    body = bytearray(8) + quoted
    body[0], body[1] = icmp_type, code
    if icmp_type == 3 and code == 4:
        body[6:8] = (mtu & 0xFFFF).to_bytes(2, "big")
    c = inet_csum(bytes(body))
    body[2:4] = c.to_bytes(2, "big")
    tot = 20 + len(body)
    b = bytearray(tot)
    _IP.pack_into(b, 0, 0x45, 0, tot, 0, 0, 64, IPPROTO_ICMP, 0, saddr, daddr)
    c = ip_fast_csum(b[:20])
    b[10:12] = c.to_bytes(2, "big")
    b[20:] = body
    return bytes(b)


def build_icmp_frag_needed(saddr: int, daddr: int, mtu: int, quoted: bytes) -> bytes:
    return build_icmp_error(saddr, daddr, 3, 4, mtu, quoted)


def _flag_bits(flags: str) -> tuple[int, int]:
    """Script flags -> (flag byte, res1 bits)."""
    bits = res1 = 0
    if flags == "-":
        return 0, 0
    for ch in flags:
        if ch == "A":
            res1 |= 1
        else:
            bits |= _FLAG_BITS[ch]
    return bits, res1


# --------------------------------------------------------------------------
# the backend interface
# --------------------------------------------------------------------------


class CallHandle:
    """A syscall in flight: done/result/end_time are filled in when it returns."""

    def __init__(self, name: str):
        self.name = name
        self.done = False
        self.result: Any = None
        self.end_time: Optional[float] = None
        self.start_time: Optional[float] = None

    def finish(self, result: Any, t: float) -> None:
        self.result = result
        self.end_time = t
        self.done = True


class Backend:
    """What the interpreter needs from a world: time, a wire and the syscalls.

    Times are seconds from the script's start. Syscalls are started with
    call(name, *args) and may complete later (a blocking call); results use
    the kernel's convention: a value, or -errno. The argument forms are
    listed in Runner._sys_* (addresses are (ip_str, port) tuples, buffers are
    lengths, option values are bytes)."""

    name = "abstract"

    # lifecycle ------------------------------------------------------------
    def setup(self, config: Config) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        pass

    def start_clock(self) -> None:
        """The script's time 0 is now."""
        raise NotImplementedError

    # time and wire ----------------------------------------------------------
    def now(self) -> float:
        raise NotImplementedError

    def advance(self, t: float, stop: Callable[[], bool]) -> None:
        """Let time pass until script time t, or until stop() is true."""
        raise NotImplementedError

    def next_outbound(self, deadline: Optional[float], stop: Callable[[], bool]) -> Optional[LivePacket]:
        """The next packet the stack sent (in order, already-sent ones first), waiting until
        deadline (None: as long as anything can still happen). None on timeout or stop()."""
        raise NotImplementedError

    def inject(self, packet: bytes, gso_size: int = 0) -> None:
        raise NotImplementedError

    # syscalls ----------------------------------------------------------------
    def call(self, name: str, *args, background: bool = False) -> CallHandle:
        """Start a syscall. background: the script expects it may block (...END) and goes on."""
        raise NotImplementedError

    def wait_call(self, h: CallHandle, limit: float, stop: Callable[[], bool]) -> None:
        """Let time pass until h is done, stop() is true or script time `limit`."""
        self.advance(limit, lambda: h.done or stop())

    def tcp_info(self, fd: int) -> dict:
        raise Unsupported("TCP_INFO")

    # configuration -------------------------------------------------------------
    def sysctl_get(self, name: str) -> Optional[str]:
        raise Unsupported("sysctl")

    def sysctl_set(self, name: str, value: str) -> int:
        raise Unsupported("sysctl")

    def mib_snapshot(self) -> dict:
        raise Unsupported("nstat (MIB counters)")

    def set_qdisc(self, dev: str, kind: str, args: list) -> str:
        raise Unsupported(f"tc qdisc {kind}")

    def ethtool_features(self, dev: str, features: dict) -> str:
        raise Unsupported("ethtool -K")

    def flush_tcp_metrics(self) -> str:
        return "nothing to flush"


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass
class ScriptResult:
    path: str
    status: str                      # pass | fail | unsupported | error
    backend: str = ""
    line: int = 0
    text: str = ""                   # the script statement that failed
    message: str = ""
    expected: str = ""
    actual: str = ""
    time: Optional[float] = None     # script time of the failure
    notes: list = field(default_factory=list)
    log: list = field(default_factory=list)
    wall_seconds: float = 0.0
    script_seconds: float = 0.0

    def summary(self) -> str:
        name = self.path
        if self.status == "pass":
            return f"PASS {name} ({self.script_seconds:.3f}s script time, {self.wall_seconds:.2f}s wall)"
        if self.status == "unsupported":
            where = f":{self.line}" if self.line else ""
            return f"UNSUPPORTED {name}{where}: {self.message}"
        where = f":{self.line}" if self.line else ""
        return f"{self.status.upper()} {name}{where}: {self.message}"

    def details(self) -> str:
        out = []
        if self.text:
            out.append(f"  line {self.line}: {self.text}")
        if self.expected:
            out.append(f"  expected: {self.expected}")
        if self.actual:
            out.append(f"  actual:   {self.actual}")
        if self.time is not None:
            out.append(f"  at script time {self.time:.6f}s")
        for n in self.notes:
            out.append(f"  note: {n}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> "ScriptResult":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


# --------------------------------------------------------------------------
# the socket model (packetdrill's struct socket)
# --------------------------------------------------------------------------


class Sock:
    def __init__(self, state: str = S_NEW):
        self.state = state
        self.script_fd: Optional[int] = None
        self.live_fd: Optional[int] = None
        self.closed = False
        self.listening_fd: Optional[int] = None
        # live 4-tuple (host-order ints)
        self.local_ip = 0
        self.local_port = 0
        self.remote_ip = 0
        self.remote_port = 0
        # ISNs
        self.script_local_isn = 0
        self.live_local_isn = 0
        self.script_remote_isn = 0
        self.live_remote_isn = 0
        # timestamps
        self.ts_map: dict = {}
        self.found_first_ts = False
        self.first_script_ts_val = 0
        self.first_actual_ts_val = 0
        # for the final RST
        self.last_injected: Optional[tuple] = None   # (seq, ack, win, flags, payload_len) live values
        self.last_outbound: Optional[LivePacket] = None

    def __repr__(self):
        return f"<Sock {self.state} fd={self.script_fd}/{self.live_fd} {self.local_port}<->{self.remote_port}>"

    # socket.h offsets
    def remote_seq_script_to_live(self, is_syn: bool) -> int:
        return 0 if is_syn else self.live_remote_isn

    def local_seq_script_to_live(self, is_syn: bool) -> int:
        return (self.live_local_isn - self.script_local_isn) if is_syn else self.live_local_isn

    def inbound_tuple(self) -> tuple:
        return (self.remote_ip, self.remote_port, self.local_ip, self.local_port)

    def outbound_tuple(self) -> tuple:
        return (self.local_ip, self.local_port, self.remote_ip, self.remote_port)


@dataclass
class FdEntry:
    script_fd: int
    live_fd: int
    kind: str = "socket"
    sock: Optional[Sock] = None
    closed: bool = False


# --------------------------------------------------------------------------
# the interpreter
# --------------------------------------------------------------------------


class Runner:
    """Run one parsed script against one backend."""

    def __init__(self, script: Script, backend: Backend, config: Config, log: Optional[Callable[[str], None]] = None,
                 pre_settings: Optional[list] = None):
        self.script = script
        self.pre_settings = list(pre_settings or [])
        self.backend = backend
        self.cfg = config
        self.logf = log
        self.path = Path(script.filename)
        self.fds: dict[int, FdEntry] = {}
        self.socks: list[Sock] = []
        self.sut: Optional[Sock] = None          # packetdrill's socket_under_test
        self.last_event: Optional[Event] = None
        self.last_event_time: Optional[int] = None   # adjusted script time (usecs) of the previous event
        self.last_event_inbound = False
        self.num_events = 0
        self.pending: Optional[tuple] = None     # (event, handle, post, end, start) of the blocking call
        self.code_events: list = []              # (event, tcp_info dict or exception)
        self.notes: list[str] = []
        self.log_lines: list[str] = []
        self.shell = ShellInterp(self)
        self._port_seq = 0

    # -- logging ----------------------------------------------------------------
    def log(self, msg: str) -> None:
        self.log_lines.append(msg)
        if self.logf is not None:
            self.logf(msg)

    def note(self, msg: str) -> None:
        if msg not in self.notes:
            self.notes.append(msg)

    def vlog(self, msg: str) -> None:
        if self.cfg.verbose:
            self.log(f"{self.backend.now():9.6f} {msg}")

    # -- time -------------------------------------------------------------------
    def now_us(self) -> int:
        return int(round(self.backend.now() * USEC))

    def tolerance(self, expected: int, last: Optional[int]) -> int:
        tol = self.cfg.tolerance_usecs
        if last is not None:
            dyn = int(self.cfg.tolerance_percent / 100.0 * (expected - last))
            if dyn > tol:
                tol = dyn
        return tol

    def verify_time(self, kind: str, expected: int, expected_end: Optional[int], actual: int,
                    last: Optional[int], what: str) -> Optional[str]:
        """packetdrill's verify_time(): None if on time, else the error text."""
        if kind == "any":
            return None
        tol = self.tolerance(expected, last)
        if expected_end is not None:
            if actual < expected - tol or actual > expected_end + tol:
                return (f"timing error: expected {what} in time range {expected / USEC:.6f}~{expected_end / USEC:.6f}"
                        f" sec but happened at {actual / USEC:.6f} sec")
            return None
        if abs(actual - expected) > tol:
            return (f"timing error: expected {what} at {expected / USEC:.6f} sec but happened at "
                    f"{actual / USEC:.6f} sec; tolerance {tol / USEC:.6f} sec")
        return None

    def adjust_times(self, ev: Event) -> tuple[int, Optional[int], Optional[int]]:
        """(time, window end, blocking end) of ev in script usecs (adjust_relative_event_times)."""
        ts = ev.time
        if ts.kind == "absolute":
            return ts.usecs, ts.end_usecs, ts.block_end_usecs
        inbound = _is_inbound_packet(ev)
        if self.last_event is not None and self.last_event_inbound and inbound:
            offset = self.last_event_time
        else:
            offset = self.now_us()
        t = offset + (ts.usecs or 0)
        end = offset + ts.end_usecs if ts.end_usecs is not None else None
        bend = offset + ts.block_end_usecs if ts.block_end_usecs is not None else None
        return t, end, bend

    def _stop(self) -> bool:
        return self.pending is not None and self.pending[1].done

    def service_pending(self) -> None:
        """Verify a blocking call that has returned (raises its Failure)."""
        if self.pending is not None and self.pending[1].done:
            ev, h, post, bend, start = self.pending
            self.pending = None
            self._finish_call(ev, h, post, blocking_end=bend, start=start)

    def wait_until(self, t_us: int) -> None:
        while True:
            self.backend.advance(t_us / USEC, self._stop)
            if self._stop():
                self.service_pending()
                continue
            return

    def wait_for_event(self, ev: Event, t: int, what: str) -> None:
        self.wait_until(t)
        if self.num_events > 0:
            err = self.verify_time(ev.time.kind, t, None, self.now_us(), self.last_event_time, what)
            if err:
                raise Failure(err, ev, time=self.backend.now())

    def await_idle(self, limit_s: float = 1.0) -> bool:
        """Wait (up to limit_s) for the blocking call in flight to return; True if idle."""
        if self.pending is None:
            return True
        h = self.pending[1]
        if not h.done:
            self.backend.wait_call(h, self.backend.now() + limit_s, lambda: False)
        if h.done:
            self.service_pending()
            return True
        return False

    # -- running ------------------------------------------------------------------
    def run(self) -> ScriptResult:
        res = ScriptResult(path=str(self.script.filename), status="pass", backend=self.backend.name)
        wall0 = _time.monotonic()
        init_done = False
        try:
            try:
                self.backend.setup(self.cfg)
                for k, v in self.pre_settings:
                    rc = self.backend.sysctl_set(k, v)
                    if rc != 0:
                        self.note(f"setting {k}={v} failed ({errno_name(-rc)})")
                if self.script.init_command is not None:
                    try:
                        self.shell.run(self.script.init_command.command, init=True)
                    except Failure as f:
                        raise Failure(f"init command failed: {f.message}") from None
                init_done = True
                self.backend.start_clock()
                self.run_events()
                if not self.await_idle(1.0):
                    ev = self.pending[0]
                    raise Failure("runtime error: exiting while a blocking system call is in progress", ev,
                                  time=self.backend.now())
            finally:
                cleanup_exc = None
                if init_done and self.script.cleanup_command is not None:
                    try:
                        self.shell.run(self.script.cleanup_command.command, init=True)
                    except (Failure, Unsupported) as e:
                        cleanup_exc = e
            if cleanup_exc is not None:
                raise cleanup_exc
            self.run_code()
        except Failure as f:
            res.status = "fail"
            self._fill(res, f.event, f.message)
            res.expected, res.actual, res.time = f.expected, f.actual, f.time
        except Unsupported as u:
            res.status = "unsupported"
            self._fill(res, u.event, u.feature)
        except ParseError as e:
            res.status = "error"
            res.message = str(e)
        except Exception as e:  # a bug in the runner or the backend: say so, with where
            res.status = "error"
            res.message = f"{type(e).__name__}: {e}"
            res.log.append(traceback.format_exc())
        finally:
            try:
                if init_done:
                    self.close_all()
            except Exception as e:
                self.note(f"end-of-script cleanup raised {type(e).__name__}: {e}")
            try:
                res.script_seconds = self.backend.now()
            except Exception:
                pass
            try:
                self.backend.teardown()
            except Exception as e:
                self.note(f"backend teardown raised {type(e).__name__}: {e}")
        res.wall_seconds = _time.monotonic() - wall0
        for n in getattr(self.backend, "notes", []):
            self.note(n)
        res.notes = list(self.notes)
        res.log = self.log_lines + res.log
        return res

    def _fill(self, res: ScriptResult, ev: Optional[Event], message: str) -> None:
        res.message = message
        if ev is not None:
            res.line = ev.line
            res.text = " ".join(ev.source.split()) if ev.source else format_event(ev)

    def run_events(self) -> None:
        for ev in self.script.events:
            try:
                self.run_event(ev)
            except (Failure, Unsupported) as e:
                if e.event is None:
                    e.event = ev
                raise
            self.num_events += 1
            if self._stop():
                self.service_pending()

    def run_event(self, ev: Event) -> None:
        t, end, bend = self.adjust_times(ev)
        a = ev.action
        if self.cfg.verbose:
            self.log(f"{self.backend.now():9.6f} line {ev.line}: {format_event(ev)} (scheduled "
                     f"{t / USEC:.6f}{'~' + format(end / USEC, '.6f') if end is not None else ''})")
        if isinstance(a, PacketEvent):
            if a.outbound:
                self.do_outbound(ev, a, t, end)
            else:
                self.do_inbound(ev, a, t)
        elif isinstance(a, IcmpPacket):
            if a.outbound:
                raise Unsupported("outbound ICMP lines")
            self.do_inbound_icmp(ev, a, t)
        elif isinstance(a, UdpPacket):
            raise Unsupported("UDP packet lines")
        elif isinstance(a, SyscallEvent):
            self.do_syscall(ev, a, t, bend)
        elif isinstance(a, CommandEvent):
            self.await_idle(1.0)
            self.wait_for_event(ev, t, "command")
            self.shell.run(a.command)
        elif isinstance(a, CodeEvent):
            self.wait_for_event(ev, t, "data collection for code")
            self.record_code(ev, a)
        else:  # pragma: no cover
            raise Unsupported(f"event {type(a).__name__}")
        self.last_event = ev
        self.last_event_time = t
        self.last_event_inbound = _is_inbound_packet(ev)

    # -- sockets / connections ---------------------------------------------------
    def new_sock(self, state: str) -> Sock:
        s = Sock(state)
        self.socks.append(s)
        return s

    def next_ephemeral_port(self) -> int:
        # a fresh remote port per new connection (packetdrill binds a socket to port 0)
        self._port_seq += 1
        base = 40000 + (self.cfg.seed * 7919) % 20000
        return 32768 + (base + self._port_seq * 1009) % 28000

    def find_or_create_sock(self, pkt, direction: str) -> Sock:
        is_tcp = isinstance(pkt, PacketEvent)
        if is_tcp and direction == "<":
            s = self.sut
            if s is None or s.state == S_PASSIVE_LISTENING:
                child = self.new_sock(S_PASSIVE_PACKET_RECEIVED)
                child.remote_ip = ip_aton(self.cfg.remote_ip)
                child.remote_port = self.next_ephemeral_port()
                child.local_ip = ip_aton(self.cfg.local_ip)
                child.local_port = self.cfg.bind_port
                child.script_remote_isn = pkt.seq
                child.live_remote_isn = pkt.seq
                if s is not None:
                    child.listening_fd = s.script_fd
                self.sut = child
                return child
        if is_tcp and direction == ">" and "S" in pkt.flags and "." not in pkt.flags:
            s = self.sut
            if s is not None and s.state == S_ACTIVE_CONNECTING:
                s.state = S_ACTIVE_SYN_SENT
                s.script_local_isn = pkt.seq
                return s
        if self.sut is not None:
            return self.sut
        raise Failure("no matching socket for script packet")

    def live_packet_matches(self, s: Sock, p: LivePacket) -> bool:
        """find_socket_for_live_packet / find_connect_for_live_packet, outbound side."""
        if not p.is_tcp and p.proto != IPPROTO_ICMP:
            return False
        if p.is_tcp and s.local_port and p.tuple == s.outbound_tuple():
            return True
        if (p.is_tcp and s.state == S_ACTIVE_SYN_SENT and p.flags & TH_SYN and not p.flags & TH_ACK
                and p.daddr == s.remote_ip and p.dport == s.remote_port):
            s.local_ip, s.local_port = p.saddr, p.sport
            s.live_local_isn = p.seq
            return True
        return False

    # -- inbound -------------------------------------------------------------------
    def do_inbound(self, ev: Event, pkt: PacketEvent, t: int) -> None:
        s = self.find_or_create_sock(pkt, "<")
        bits, res1 = _flag_bits(pkt.flags)
        if s.state == S_PASSIVE_SYNACK_SENT and bits & TH_ACK:
            s.state = S_PASSIVE_SYNACK_ACKED
        elif s.state == S_ACTIVE_SYN_SENT and bits & TH_SYN and bits & TH_ACK:
            s.state = S_ACTIVE_SYN_ACKED
            s.script_remote_isn = pkt.seq
            s.live_remote_isn = pkt.seq
        self.wait_for_event(ev, t, "inbound packet")
        if pkt.ip_info:
            raise Unsupported("IP info ([ect0], tos, ttl) on inbound packets")
        is_syn = bool(bits & TH_SYN)
        seq = (pkt.seq + s.remote_seq_script_to_live(is_syn)) & U32
        ack_off = s.local_seq_script_to_live(is_syn)
        ack = ((pkt.ack or 0) + ack_off) & U32 if bits & TH_ACK else (pkt.ack or 0)
        opts = self.inbound_options(s, pkt, bits, ack_off, ev)
        sport, dport = (pkt.ports if pkt.ports else (s.remote_port, s.local_port))
        raw = build_tcp_packet(s.remote_ip, s.local_ip, sport, dport, seq, ack, bits, pkt.win, opts, pkt.length,
                               urg=pkt.urg or 0, res1=res1)
        s.last_injected = (seq, ack, pkt.win, bits, pkt.length)
        gso = self.cfg.mss if self.cfg.mss and pkt.length > self.cfg.mss else 0
        self.vlog(f"inject {format_tcp_packet('<', pkt.flags, seq, seq + pkt.length, pkt.length, ack if bits & TH_ACK else None, pkt.win, opts)}"
                  + (f" gso {gso}" if gso else ""))
        self.backend.inject(raw, gso_size=gso or (self.cfg.mss or 0))

    def inbound_options(self, s: Sock, pkt: PacketEvent, bits: int, ack_off: int, ev: Event) -> list:
        if not pkt.options:
            return []
        out = []
        for name, val in pkt.options:
            if name in ("md5", "FO", "FOEXP"):
                raise Unsupported(f"TCP option {name} on inbound packets")
            if name == "sack":
                val = [((l + ack_off) & U32, (r + ack_off) & U32) for l, r in val]
            elif name == "TS" and bits & TH_ACK:
                tsval, ecr = val
                if ecr in s.ts_map:
                    ecr = s.ts_map[ecr]
                elif self.cfg.tcp_ts_ecr_scaled and s.found_first_ts:
                    ecr = (ecr - s.first_script_ts_val + s.first_actual_ts_val) & U32
                else:
                    raise Failure(f"unable to infer live TS ecr for script TS ecr {ecr}; no matching or "
                                  f"preceding outbound TS val", ev, time=self.backend.now())
                val = (tsval, ecr)
            out.append((name, val))
        return out

    def do_inbound_icmp(self, ev: Event, pkt: IcmpPacket, t: int) -> None:
        s = self.sut
        if s is None:
            raise Failure("no matching socket for script packet")
        self.wait_for_event(ev, t, "inbound packet")
        itype = ICMP_TYPES.get(pkt.icmp_type)
        if itype is None:
            raise Unsupported(f"ICMP type {pkt.icmp_type}")
        code = 0
        if pkt.icmp_code is not None:
            code = ICMP_UNREACH_CODES.get(pkt.icmp_code) if itype == 3 else None
            if code is None:
                raise Unsupported(f"ICMP code {pkt.icmp_code}")
        if pkt.echoed_protocol != "tcp":
            raise Unsupported(f"ICMP quoting {pkt.echoed_protocol or 'nothing'}")
        seq = (pkt.echoed_seq + s.local_seq_script_to_live(False)) & U32
        # the quoted datagram: our segment as we sent it (IPv4 header + TCP header)
        quoted_ip = bytearray(20)
        _IP.pack_into(quoted_ip, 0, 0x45, 0, 40 + pkt.echoed_len, 0, 0x4000, 64, IPPROTO_TCP, 0,
                      s.local_ip, s.remote_ip)
        c = ip_fast_csum(bytes(quoted_ip))
        quoted_ip[10:12] = c.to_bytes(2, "big")
        quoted_tcp = bytearray(20)
        _TCP.pack_into(quoted_tcp, 0, s.local_port, s.remote_port, seq, 0, 5 << 4, TH_ACK, 0, 0, 0)
        raw = build_icmp_error(s.remote_ip, s.local_ip, itype, code, pkt.mtu or 0, bytes(quoted_ip + quoted_tcp))
        self.vlog(f"inject icmp type {itype} code {code} mtu {pkt.mtu} quoting seq {seq}")
        self.backend.inject(raw)

    # -- outbound ------------------------------------------------------------------
    def do_outbound(self, ev: Event, pkt: PacketEvent, t: int, end: Optional[int]) -> None:
        s = self.find_or_create_sock(pkt, ">")
        bits, res1 = _flag_bits(pkt.flags)
        is_synack = bits & TH_SYN and bits & TH_ACK
        if s.state == S_PASSIVE_PACKET_RECEIVED and is_synack:
            s.script_local_isn = pkt.seq
        if ev.time.kind == "any":
            deadline = None
        else:
            deadline = ((end if end is not None else t) + self.cfg.wait_slack_usecs) / USEC
        expected_len = pkt.length
        frags: list[LivePacket] = []
        got = 0
        while True:
            p = self.sniff(s, deadline)
            if p is None:
                if not frags:
                    raise Failure("timed out waiting for packet", ev, expected=_expected_text(ev),
                                  actual="(no packet)", time=self.backend.now())
                break
            if s.state == S_PASSIVE_PACKET_RECEIVED and is_synack:
                s.state = S_PASSIVE_SYNACK_SENT
                s.live_local_isn = p.seq
            s.last_outbound = p
            a = self.to_script_space(s, p)
            self.vlog(f"sniffed {self.render(a)}")
            if frags:
                err = _fragment_mismatch(a, frags[-1], got, expected_len)
                if err:
                    raise Failure(err, ev, expected=_expected_text(ev), actual=self.render(a), time=p.time)
            frags.append(a)
            got += len(a.payload)
            if not (got < expected_len and not self.cfg.strict_segments):
                break
        live = _aggregate(frags)
        if got != expected_len:
            raise Failure(f"live packet payload: expected {expected_len} bytes vs actual {got} bytes", ev,
                          expected=_expected_text(ev), actual=self.render(live), time=live.time)
        self.verify_outbound(ev, s, pkt, live, frags, t, end)

    def sniff(self, s: Sock, deadline: Optional[float]) -> Optional[LivePacket]:
        while True:
            p = self.backend.next_outbound(deadline, self._stop)
            if p is None:
                if self._stop():
                    self.service_pending()
                    continue
                return None
            if self.live_packet_matches(s, p):
                return p
            self.vlog(f"ignored outbound packet not for the connection under test: {_brief(p)}")

    def to_script_space(self, s: Sock, p: LivePacket) -> LivePacket:
        a = LivePacket(**{k: getattr(p, k) for k in p.__dataclass_fields__})
        if not p.is_tcp:
            return a
        is_syn = bool(p.flags & TH_SYN)
        a.seq = (p.seq - s.local_seq_script_to_live(is_syn)) & U32
        ack_off = -s.remote_seq_script_to_live(is_syn)
        if p.flags & TH_ACK:
            a.ack = (p.ack + ack_off) & U32
        a.options = [(n, [((l + ack_off) & U32, (r + ack_off) & U32) for l, r in v]) if n == "sack" else (n, v)
                     for n, v in p.options]
        return a

    def render(self, p: LivePacket, direction: str = ">") -> str:
        if not p.is_tcp:
            if p.proto == IPPROTO_ICMP:
                return f"{direction} icmp type {p.icmp_type} code {p.icmp_code}"
            return f"{direction} IP proto {p.proto} length {p.tot_len}"
        n = len(p.payload)
        return format_tcp_packet(direction, p.flag_chars(), p.seq, (p.seq + n) & U32, n,
                                 p.ack if p.flags & TH_ACK else None, p.win, p.options,
                                 urg=p.urg if p.flags & TH_URG else None)

    def verify_outbound(self, ev: Event, s: Sock, pkt: PacketEvent, a: LivePacket, frags: list, t: int,
                        end: Optional[int]) -> None:
        def fail(msg):
            raise Failure(msg, ev, expected=_expected_text(ev), actual=self.render(a), time=a.time)

        for f in frags:
            if not f.ip_csum_ok:
                fail("bad outbound IP checksum")
            if not f.tcp_csum_ok:
                fail("bad outbound TCP checksum")
        if not a.is_tcp:
            fail(f"live packet header: expected TCP vs actual IP protocol {a.proto}")
        if a.options_error:
            fail(f"bad outbound TCP options: {a.options_error}")
        # timestamps: remember script->live TS val, move actual TS val into script space
        sts = _opt(pkt.options, "TS") if isinstance(pkt.options, list) else None
        ats = _opt(a.options, "TS")
        if sts is not None and ats is not None:
            s.ts_map[sts[0]] = ats[0]
            if not s.found_first_ts:
                s.found_first_ts = True
                s.first_script_ts_val = sts[0]
                s.first_actual_ts_val = ats[0]
            a.options = [(n, ((s.first_script_ts_val + (v[0] - s.first_actual_ts_val)) & U32, v[1]))
                         if n == "TS" else (n, v) for n, v in a.options]
        bits, res1 = _flag_bits(pkt.flags)
        any_opts = pkt.options == "any"
        exp_doff = 5 + (len(encode_options(pkt.options)) // 4 if isinstance(pkt.options, list) and pkt.options else 0)
        if any_opts:
            exp_doff = a.doff
        checks = [
            ("ipv4_header_length", 5, a.ihl),
            ("tcp_data_offset", exp_doff, a.doff),
            ("tcp_fin", bool(bits & TH_FIN), bool(a.flags & TH_FIN)),
            ("tcp_syn", bool(bits & TH_SYN), bool(a.flags & TH_SYN)),
            ("tcp_rst", bool(bits & TH_RST), bool(a.flags & TH_RST)),
            ("tcp_psh", bool(bits & TH_PSH), bool(a.flags & TH_PSH)),
            ("tcp_ack", bool(bits & TH_ACK), bool(a.flags & TH_ACK)),
            ("tcp_urg", bool(bits & TH_URG), bool(a.flags & TH_URG)),
            ("tcp_ece", bool(bits & TH_ECE), bool(a.flags & TH_ECE)),
            ("tcp_cwr", bool(bits & TH_CWR), bool(a.flags & TH_CWR)),
            ("tcp_reserved_bits", res1, a.res1),
            ("tcp_seq", pkt.seq, a.seq),
            ("tcp_ack_seq", (pkt.ack or 0) & U32, a.ack if a.flags & TH_ACK else a.ack),
        ]
        if pkt.win is not None:
            checks.append(("tcp_window", pkt.win, a.win))
        checks.append(("tcp_urg_ptr", pkt.urg or 0, a.urg))
        for name, e, v in checks:
            if e != v:
                fail(f"live packet field {name}: expected: {int(e)} (0x{int(e):x}) vs actual: {int(v)} (0x{int(v):x})")
        if pkt.ip_info:
            ttl = pkt.ip_info.get("ttl")
            if ttl is not None and ttl != a.ttl:
                fail(f"live packet field ttl: expected: {ttl} vs actual: {a.ttl}")
            if "ecn" in pkt.ip_info or "tos" in pkt.ip_info:
                raise Unsupported("checking ECN/TOS of outbound packets", ev)
        if not any_opts:
            err = self.compare_options(pkt.options or [], a.options)
            if err:
                fail(err)
        if any(a.payload):
            fail("incorrect outbound data payload")
        err = self.verify_time(ev.time.kind, t, end, int(round(a.time * USEC)), self.last_event_time,
                               "outbound packet")
        if err:
            fail(err)
        self.vlog(f"matched line {ev.line} at {a.time:.6f}")

    def compare_options(self, exp: list, act: list) -> Optional[str]:
        if len(exp) != len(act) or any(e[0] != x[0] for e, x in zip(exp, act)):
            return "bad outbound TCP options"
        for (name, ev), (_n, av) in zip(exp, act):
            if name in ("nop", "eol", "sackOK"):
                continue
            if name == "TS":
                tick = self.cfg.tcp_ts_tick_usecs
                if tick:
                    d = (av[0] - ev[0]) & U32
                    if d >= 1 << 31:
                        d -= 1 << 32
                    if abs(d) * tick > self.cfg.tolerance_usecs:
                        return f"bad outbound TCP timestamp value, tolerance {self.cfg.tolerance_usecs}"
                continue
            if name == "sack":
                if len(ev) != len(av):
                    return "bad lengths for outbound TCP option 5"
                if [tuple(b) for b in ev] != [tuple(b) for b in av]:
                    return "bad value outbound TCP option 5"
                continue
            if ev != av:
                kind = {"mss": 2, "wscale": 3}.get(name, name)
                return f"bad value outbound TCP option {kind}"
        return None

    # -- syscalls ---------------------------------------------------------------------
    def do_syscall(self, ev: Event, sc: SyscallEvent, t: int, bend: Optional[int]) -> None:
        fn = getattr(self, "_sys_" + sc.name, None)
        if fn is None:
            raise Unsupported(f"system call {sc.name}()")
        blocking = ev.time.is_blocking
        if blocking:
            if not self.await_idle(1.0):
                raise Failure("blocking system call while another blocking system call is already in progress", ev)
        else:
            self.await_idle(1.0)
        self.wait_for_event(ev, t, "system call start")
        # evaluate arguments, start the call
        args, post = fn(ev, sc)
        h = self.backend.call(sc.name, *args, background=blocking)
        h.start_time = self.backend.now()
        if blocking:
            if h.done:
                self._finish_call(ev, h, post, blocking_end=bend, start=t)
            else:
                self.pending = (ev, h, post, bend, t)
            return
        if not h.done:
            # a call the script does not expect to block: it blocks the script as it would block packetdrill
            self.backend.wait_call(h, self.backend.now() + 10.0, lambda: False)
            if not h.done:
                raise Failure(f"{sc.name}() blocked (the script expects it to return at once)", ev,
                              time=self.backend.now())
        self._finish_call(ev, h, post)

    def _finish_call(self, ev: Event, h: CallHandle, post, blocking_end: Optional[int] = None,
                     start: Optional[int] = None) -> None:
        sc: SyscallEvent = ev.action
        res = h.result
        value = res[0] if isinstance(res, tuple) else res
        if value is None:
            raise Failure(f"{sc.name}() returned nothing", ev)
        if isinstance(value, Unsupported):
            value.event = ev
            raise value
        actual, err = (value, 0)
        if isinstance(value, int) and value < 0:
            actual, err = -1, -value
        self.vlog(f"{sc.name}() = {actual}{' ' + errno_name(err) if err else ''} (returned at {h.end_time:.6f})")
        check_fd = sc.name in ("socket", "accept") and sc.result >= 0
        if check_fd:
            if actual < 0:
                raise Failure(f"Expected non-negative result but got {actual} with errno {err} "
                              f"({os.strerror(err)})", ev, expected=f"= {sc.result}", actual=f"= -1 {errno_name(err)}",
                              time=h.end_time)
        elif actual != sc.result:
            errtxt = f" with errno {err} ({os.strerror(err)})" if err else ""
            raise Failure(f"Expected result {sc.result} but got {actual}{errtxt}", ev,
                          expected=f"= {sc.result}{' ' + sc.errno if sc.errno else ''}",
                          actual=f"= {actual}{' ' + errno_name(err) if err else ''}", time=h.end_time)
        if sc.errno is not None:
            want = errno_value(sc.errno)
            if err != want:
                raise Failure(f"Expected errno {want} ({os.strerror(want)}) but got {err} "
                              f"({os.strerror(err) if err else 'no error'})", ev,
                              expected=f"= {sc.result} {sc.errno}", actual=f"= {actual} {errno_name(err) if err else ''}",
                              time=h.end_time)
        if blocking_end is not None:
            # the tolerance of a blocking call counts from its own start (run_system_call.c)
            e = self.verify_time(ev.time.kind, blocking_end, None, int(round(h.end_time * USEC)), start,
                                 "system call return")
            if e:
                raise Failure(e, ev, time=h.end_time)
        if post is not None:
            post(res, h)

    # argument helpers
    def ival(self, node, what: str = "argument") -> int:
        if isinstance(node, Int):
            return node.value
        if isinstance(node, Symbol):
            if node.name in self.cfg.defines:
                try:
                    return int(self.cfg.defines[node.name], 0)
                except ValueError:
                    pass
            if node.name in SYMBOLS:
                return SYMBOLS[node.name]
            raise Unsupported(f"symbol {node.name}")
        if isinstance(node, BinOr):
            v = 0
            for n in node.items:
                v |= self.ival(n, what)
            return v
        if isinstance(node, Call) and node.name in ("htons", "htonl", "ntohs", "ntohl") and len(node.args) == 1:
            return self.ival(node.args[0], what)
        if isinstance(node, Null):
            return 0
        raise Failure(f"expected an integer {what}, got {type(node).__name__}")

    def live_fd(self, node) -> int:
        sfd = self.ival(node, "fd")
        e = self.fds.get(sfd)
        if e is None or e.closed:
            raise Failure(f"unable to find fd with script fd {sfd}")
        return e.live_fd

    def sockaddr(self, node, default: tuple) -> tuple:
        if isinstance(node, (EllipsisArg,)):
            return default
        if isinstance(node, Struct):
            port = self.ival(node.get("sin_port", Int(0)), "port")
            addr = node.get("sin_addr")
            ip = "0.0.0.0"
            if isinstance(addr, Call) and addr.name == "inet_addr" and addr.args and isinstance(addr.args[0], String):
                ip = addr.args[0].value
            elif addr is not None:
                ip = ip_ntoa(self.ival(addr, "address"))
            fam = node.get("sa_family")
            if fam is not None and self.ival(fam) != 2:
                raise Unsupported("non-IPv4 socket address")
            return (ip, port)
        raise Unsupported(f"socket address {type(node).__name__}")

    def optval(self, node) -> bytes:
        if isinstance(node, List) and len(node.items) == 1:
            return struct.pack("i", self.ival(node.items[0], "option value"))
        if isinstance(node, Struct):
            if "onoff" in node or "linger" in node:
                return struct.pack("ii", self.ival(node.get("onoff", Int(0))), self.ival(node.get("linger", Int(0))))
            raise Unsupported("this struct as a socket option value")
        if isinstance(node, String):
            return node.value.encode()
        if isinstance(node, (Int, Symbol, BinOr)):
            return struct.pack("i", self.ival(node))
        raise Unsupported(f"socket option value {type(node).__name__}")

    def buflen(self, node, count_node) -> int:
        if not isinstance(node, (EllipsisArg, Null, Int)):
            raise Unsupported(f"buffer argument {type(node).__name__}")
        return self.ival(count_node, "count")

    def iov_lens(self, node) -> list:
        if not isinstance(node, List):
            raise Unsupported("iovec not written as a list")
        lens = []
        for it in node.items:
            if isinstance(it, Struct) and len(it.items) == 2:
                lens.append(self.ival(it.items[1], "iov_len"))
            elif isinstance(it, Struct) and "iov_len" in it:
                lens.append(self.ival(it["iov_len"], "iov_len"))
            else:
                raise Unsupported("iovec entry form")
        return lens

    # -- one method per syscall: returns (backend args, post-hook) ------------------------
    def _sys_socket(self, ev, sc):
        a = sc.args
        if len(a) != 3:
            raise Failure(f"Expected 3 args but got {len(a)}")
        domain = 2 if isinstance(a[0], EllipsisArg) else self.ival(a[0])
        typ, proto = self.ival(a[1]), self.ival(a[2])

        def post(res, h):
            if res >= 0:
                self._add_fd(sc.result, res, Sock(S_NEW))
                self.sut = self.fds[sc.result].sock
                self.socks.append(self.sut)
        return (domain, typ, proto), post

    def _add_fd(self, script_fd: int, live_fd: int, sock: Optional[Sock], kind: str = "socket") -> None:
        old = self.fds.get(script_fd)
        if old is not None and not old.closed:
            raise Failure(f"duplicate fd {script_fd} in script")
        if sock is not None:
            sock.script_fd, sock.live_fd = script_fd, live_fd
        self.fds[script_fd] = FdEntry(script_fd, live_fd, kind, sock)

    def _sys_bind(self, ev, sc):
        a = sc.args
        fd = self.live_fd(a[0])
        addr = self.sockaddr(a[1], (self.cfg.local_ip, self.cfg.bind_port))
        return (fd, addr), None

    def _sys_listen(self, ev, sc):
        fd = self.live_fd(sc.args[0])
        backlog = self.ival(sc.args[1])
        sfd = self.ival(sc.args[0])

        def post(res, h):
            if res == 0:
                s = self.fds[sfd].sock
                if s is not None:
                    s.state = S_PASSIVE_LISTENING
        return (fd, backlog), post

    def _sys_accept(self, ev, sc):
        fd = self.live_fd(sc.args[0])

        def post(res, h):
            if not isinstance(res, tuple) or res[0] < 0:
                return
            newfd, peer = res
            if peer and peer[0] != self.cfg.remote_ip:
                # not a connection on tun0 (e.g. a loopback client the script made itself):
                # just an fd, not the connection under test
                self._add_fd(sc.result, newfd, None)
                return
            for s in self.socks:
                if s.state in (S_PASSIVE_SYNACK_SENT, S_PASSIVE_SYNACK_ACKED) and s.script_fd is None:
                    if peer and peer[1] not in (0, s.remote_port):
                        continue
                    self._add_fd(sc.result, newfd, s)
                    return
            raise Failure("unable to find socket matching accept() call", ev)
        return (fd,), post

    _sys_accept4 = _sys_accept

    def _sys_connect(self, ev, sc):
        a = sc.args
        sfd = self.ival(a[0])
        fd = self.live_fd(a[0])
        addr = self.sockaddr(a[1], (self.cfg.remote_ip, self.cfg.connect_port))
        s = self.fds[sfd].sock
        if s is not None and s.state == S_NEW:
            s.state = S_ACTIVE_CONNECTING
            s.remote_ip = ip_aton(addr[0])
            s.remote_port = addr[1]
        return (fd, addr), None

    def _sys_read(self, ev, sc):
        a = sc.args
        return (self.live_fd(a[0]), self.buflen(a[1], a[2])), None

    def _sys_recv(self, ev, sc):
        a = sc.args
        return (self.live_fd(a[0]), self.buflen(a[1], a[2]), self.ival(a[3])), None

    def _sys_recvfrom(self, ev, sc):
        a = sc.args
        return (self.live_fd(a[0]), self.buflen(a[1], a[2]), self.ival(a[3])), None

    def _sys_write(self, ev, sc):
        a = sc.args
        return (self.live_fd(a[0]), self.buflen(a[1], a[2])), None

    def _sys_send(self, ev, sc):
        a = sc.args
        return (self.live_fd(a[0]), self.buflen(a[1], a[2]), self.ival(a[3])), None

    def _sys_sendto(self, ev, sc):
        a = sc.args
        if len(a) > 4 and not isinstance(a[4], (EllipsisArg, Null)) and not (isinstance(a[4], Int) and a[4].value == 0):
            raise Unsupported("sendto() with a destination address")
        return (self.live_fd(a[0]), self.buflen(a[1], a[2]), self.ival(a[3])), None

    def _sys_writev(self, ev, sc):
        a = sc.args
        return (self.live_fd(a[0]), self.iov_lens(a[1])), None

    def _sys_sendmsg(self, ev, sc):
        a = sc.args
        msg = a[1]
        if not isinstance(msg, Struct) or "msg_iov" not in msg:
            raise Unsupported("sendmsg() msghdr form")
        if msg.get("msg_control") is not None:
            raise Unsupported("sendmsg() with msg_control (cmsg)")
        return (self.live_fd(a[0]), self.iov_lens(msg["msg_iov"]), self.ival(a[2])), None

    def _sys_recvmsg(self, ev, sc):
        a = sc.args
        msg = a[1]
        if not isinstance(msg, Struct) or "msg_iov" not in msg:
            raise Unsupported("recvmsg() msghdr form")
        return (self.live_fd(a[0]), sum(self.iov_lens(msg["msg_iov"])), self.ival(a[2])), None

    def _sys_close(self, ev, sc):
        sfd = self.ival(sc.args[0])
        fd = self.live_fd(sc.args[0])

        def post(res, h):
            if res == 0:
                e = self.fds[sfd]
                e.closed = True
                if e.sock is not None:
                    e.sock.closed = True
        return (fd,), post

    def _sys_shutdown(self, ev, sc):
        return (self.live_fd(sc.args[0]), self.ival(sc.args[1])), None

    def _sys_setsockopt(self, ev, sc):
        a = sc.args
        fd = self.live_fd(a[0])
        level, opt = self.ival(a[1]), self.ival(a[2])
        val = self.optval(a[3])
        if len(a) > 4 and not isinstance(a[4], EllipsisArg):
            n = self.ival(a[4], "optlen")
            val = (val + bytes(max(0, n - len(val))))[:n]
        return (fd, level, opt, val), None

    def _sys_getsockopt(self, ev, sc):
        a = sc.args
        fd = self.live_fd(a[0])
        level, opt = self.ival(a[1]), self.ival(a[2])
        exp = a[3]
        explen = None
        if len(a) > 4 and isinstance(a[4], List) and len(a[4].items) == 1:
            explen = self.ival(a[4].items[0], "optlen")
        buflen = explen if explen is not None else 4
        if isinstance(exp, String):
            buflen = max(buflen, 16)

        def post(res, h):
            ret, data = res
            if ret < 0:
                return
            if explen is not None and len(data) != explen:
                raise Failure(f"Bad getsockopt optlen: expected: {explen} actual: {len(data)}", ev,
                              expected=f"[{explen}]", actual=f"[{len(data)}]", time=h.end_time)
            if isinstance(exp, List) and len(exp.items) == 1 and not isinstance(exp.items[0], EllipsisArg):
                want = self.ival(exp.items[0]) & 0xFFFFFFFF
                got = int.from_bytes(bytes(data[:4]).ljust(4, b"\0"), "little")
                if got != want:
                    raise Failure(f"Bad getsockopt optval: expected: {_s32(want)} actual: {_s32(got)}", ev,
                                  expected=f"[{_s32(want)}]", actual=f"[{_s32(got)}]", time=h.end_time)
            elif isinstance(exp, Struct) and ("onoff" in exp or "linger" in exp):
                onoff, linger = struct.unpack("ii", bytes(data[:8]).ljust(8, b"\0"))
                want = (self.ival(exp.get("onoff", Int(0))), self.ival(exp.get("linger", Int(0))))
                if (bool(onoff), linger) != (bool(want[0]), want[1]):
                    raise Failure("Bad getsockopt linger", ev, expected=str(want), actual=str((onoff, linger)),
                                  time=h.end_time)
            elif isinstance(exp, String):
                got = bytes(data).split(b"\0")[0].decode(errors="replace")
                if not got.startswith(exp.value) if exp.prefix else got != exp.value:
                    raise Failure("Bad getsockopt string", ev, expected=exp.value, actual=got, time=h.end_time)
        return (fd, level, opt, buflen), post

    def _sys_fcntl(self, ev, sc):
        a = sc.args
        fd = self.live_fd(a[0])
        cmd = self.ival(a[1])
        arg = self.ival(a[2]) if len(a) > 2 else 0
        return (fd, cmd, arg), None

    def _sys_ioctl(self, ev, sc):
        a = sc.args
        fd = self.live_fd(a[0])
        req = self.ival(a[1])
        exp = a[2] if len(a) > 2 else None

        def post(res, h):
            ret, val = res
            if ret < 0 or not isinstance(exp, List) or len(exp.items) != 1:
                return
            want = self.ival(exp.items[0])
            if val != want:
                raise Failure(f"Bad ioctl output: expected: {want} actual: {val}", ev, expected=f"[{want}]",
                              actual=f"[{val}]", time=h.end_time)
        return (fd, req), post

    def _sys_poll(self, ev, sc):
        a = sc.args
        if not isinstance(a[0], List):
            raise Unsupported("poll() fds form")
        fds, exp = [], []
        for it in a[0].items:
            if not isinstance(it, Struct):
                raise Unsupported("poll() pollfd form")
            fds.append((self.live_fd(it["fd"]), self.ival(it["events"])))
            exp.append(self.ival(it["revents"]))
        timeout = self.ival(a[2]) if len(a) > 2 else 0

        def post(res, h):
            ret, revents = res
            if ret < 0:
                return
            for i, (w, g) in enumerate(zip(exp, revents)):
                if w != g:
                    raise Failure(f"Expected revents of {_poll_str(w)} but got {_poll_str(g)} for pollfd {i}", ev,
                                  expected=_poll_str(w), actual=_poll_str(g), time=h.end_time)
        return (fds, timeout), post

    # -- code blocks -------------------------------------------------------------------------
    def record_code(self, ev: Event, a: CodeEvent) -> None:
        s = self.sut
        if s is None or s.live_fd is None or s.closed:
            self.code_events.append((ev, Failure("no socket under test with an open fd for TCP_INFO", ev)))
            return
        try:
            info = self.backend.tcp_info(s.live_fd)
        except Unsupported as u:
            u.event = ev
            raise
        self.code_events.append((ev, info))

    def run_code(self) -> None:
        for ev, info in self.code_events:
            if isinstance(info, Exception):
                raise info
            code = ev.action.code
            env = dict(CODE_CONSTANTS)
            env.update(info)
            try:
                exec(compile(code, f"{self.path.name}:{ev.line}", "exec"), env)
            except AssertionError as e:
                raise Failure(f"assertion failed in %{{ }}% code: {e}".rstrip(": "), ev,
                              expected=code.strip(), actual=_info_text(info, code)) from None
            except NameError as e:
                raise Unsupported(f"TCP_INFO field in %{{ }}% code ({e})", ev) from None

    # -- end of script -------------------------------------------------------------------------
    def close_all(self) -> None:
        """close_all_fds: close what the script left open, RST each connection."""
        for e in list(self.fds.values()):
            if e.closed:
                continue
            e.closed = True
            try:
                h = self.backend.call("close", e.live_fd)
                if not h.done:
                    self.backend.wait_call(h, self.backend.now() + 1.0, lambda: False)
            except Unsupported:
                pass
        for s in self.socks:
            if s.remote_port and s.local_port and (s.last_injected or s.last_outbound):
                try:
                    self.reset_connection(s)
                except Unsupported:
                    pass

    def reset_connection(self, s: Sock) -> None:
        if s.last_injected is not None and s.last_injected[3] & TH_ACK:
            seq0, ack, win, bits, plen = s.last_injected
            seq = seq0 + (1 if bits & TH_SYN else 0) + (1 if bits & TH_FIN else 0) + plen
        elif s.last_outbound is not None and s.last_outbound.flags & TH_ACK:
            seq, ack, win = s.last_outbound.ack, s.last_outbound.seq, 0
        elif s.last_outbound is not None:
            seq, ack, win = 0, s.last_outbound.seq + 1, 0
        else:
            return
        raw = build_tcp_packet(s.remote_ip, s.local_ip, s.remote_port, s.local_port, seq, ack, TH_RST | TH_ACK,
                               win, [], 0)
        self.backend.inject(raw)


def _s32(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


def _poll_str(v: int) -> str:
    seen, out = 0, []
    for b, n in sorted(POLL_NAMES):
        if v & b and not seen & b:
            out.append(n)
            seen |= b
    return "|".join(out) if out else "0"


def _info_text(info: dict, code: str) -> str:
    names = sorted(set(re.findall(r"tcpi_[a-z_0-9]+", code)))
    return ", ".join(f"{n}={info.get(n)}" for n in names)


def _is_inbound_packet(ev: Event) -> bool:
    a = ev.action
    return isinstance(a, (PacketEvent, IcmpPacket, UdpPacket)) and a.direction == "<"


def _expected_text(ev: Event) -> str:
    return " ".join(ev.source.split()) if ev.source else format_event(ev)


def _opt(opts, name):
    if not opts or opts == "any":
        return None
    for n, v in opts:
        if n == name:
            return v
    return None


def _brief(p: LivePacket) -> str:
    if p.is_tcp:
        return f"{ip_ntoa(p.saddr)}:{p.sport} > {ip_ntoa(p.daddr)}:{p.dport} [{p.flag_chars()}] seq {p.seq} len {len(p.payload)}"
    return f"{ip_ntoa(p.saddr)} > {ip_ntoa(p.daddr)} proto {p.proto}"


def _fragment_mismatch(cur: LivePacket, prev: LivePacket, sniffed: int, expected_total: int) -> Optional[str]:
    """verify_packet_fragments(): may cur continue the aggregate that prev ends?"""
    if cur.proto != prev.proto or cur.tuple != prev.tuple:
        return "aggregate candidate for another connection"
    for name, e, v in (("tcp_data_offset", prev.doff, cur.doff),
                       ("tcp_syn", prev.flags & TH_SYN, cur.flags & TH_SYN),
                       ("tcp_rst", prev.flags & TH_RST, cur.flags & TH_RST),
                       ("tcp_ack", prev.flags & TH_ACK, cur.flags & TH_ACK),
                       ("tcp_urg", prev.flags & TH_URG, cur.flags & TH_URG),
                       ("tcp_ece", prev.flags & TH_ECE, cur.flags & TH_ECE),
                       ("tcp_reserved_bits", prev.res1, cur.res1),
                       ("tcp_seq", (prev.seq + len(prev.payload)) & U32, cur.seq),
                       ("tcp_ack_seq", prev.ack, cur.ack),
                       ("tcp_window", prev.win, cur.win),
                       ("tcp_urg_ptr", prev.urg, cur.urg)):
        if e != v:
            return (f"aggregate candidate packet field {name}: expected: {int(e)} (0x{int(e):x}) vs actual: "
                    f"{int(v)} (0x{int(v):x})")
    if len(cur.payload) < expected_total - sniffed and len(cur.payload) != len(prev.payload):
        return (f"fragment payload: expected {len(prev.payload)} bytes vs actual {len(cur.payload)} bytes; "
                f"total payload: expected {expected_total} bytes vs actual {len(cur.payload) + sniffed} bytes")
    return None


def _aggregate(frags: list) -> LivePacket:
    """packet.c aggregate_packets(): the last segment's headers (so PSH and FIN as GSO leaves
    them, on the last segment) over every segment's payload, with the first segment's
    sequence number and CWR bit; the time is the last segment's."""
    if len(frags) == 1:
        return frags[0]
    first, last = frags[0], frags[-1]
    a = LivePacket(**{k: getattr(last, k) for k in last.__dataclass_fields__})
    a.payload = b"".join(f.payload for f in frags)
    a.seq = first.seq
    a.flags = (last.flags & ~TH_CWR) | (first.flags & TH_CWR)
    a.tot_len = 0
    return a


# --------------------------------------------------------------------------
# tcp_info
# --------------------------------------------------------------------------

# include/uapi/linux/tcp.h struct tcp_info, in order: (name, struct code); the two
# bitfield bytes are split by parse_tcp_info.
TCP_INFO_FIELDS = [
    ("state", "B"), ("ca_state", "B"), ("retransmits", "B"), ("probes", "B"), ("backoff", "B"),
    ("options", "B"), ("_wscale", "B"), ("_app_limited", "B"),
    ("rto", "I"), ("ato", "I"), ("snd_mss", "I"), ("rcv_mss", "I"),
    ("unacked", "I"), ("sacked", "I"), ("lost", "I"), ("retrans", "I"), ("fackets", "I"),
    ("last_data_sent", "I"), ("last_ack_sent", "I"), ("last_data_recv", "I"), ("last_ack_recv", "I"),
    ("pmtu", "I"), ("rcv_ssthresh", "I"), ("rtt", "I"), ("rttvar", "I"), ("snd_ssthresh", "I"),
    ("snd_cwnd", "I"), ("advmss", "I"), ("reordering", "I"), ("rcv_rtt", "I"), ("rcv_space", "I"),
    ("total_retrans", "I"), ("pacing_rate", "Q"), ("max_pacing_rate", "Q"), ("bytes_acked", "Q"),
    ("bytes_received", "Q"), ("segs_out", "I"), ("segs_in", "I"), ("notsent_bytes", "I"), ("min_rtt", "I"),
    ("data_segs_in", "I"), ("data_segs_out", "I"), ("delivery_rate", "Q"), ("busy_time", "Q"),
    ("rwnd_limited", "Q"), ("sndbuf_limited", "Q"), ("delivered", "I"), ("delivered_ce", "I"),
    ("bytes_sent", "Q"), ("bytes_retrans", "Q"), ("dsack_dups", "I"), ("reord_seen", "I"),
    ("rcv_ooopack", "I"), ("snd_wnd", "I"), ("rcv_wnd", "I"), ("rehash", "I"), ("total_rto", "H"),
    ("total_rto_recoveries", "H"), ("total_rto_time", "I"),
]


# names code.c defines for the snippets (include/net/tcp.h enum tcp_ca_state, tcp_states.h)
CODE_CONSTANTS = {
    "TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3, "TCP_CA_Loss": 4,
    "TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4, "TCP_FIN_WAIT2": 5,
    "TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8, "TCP_LAST_ACK": 9, "TCP_LISTEN": 10,
    "TCP_CLOSING": 11,
}


def parse_tcp_info(buf: bytes) -> dict:
    """struct tcp_info bytes (native layout, as getsockopt(TCP_INFO) returns) -> {tcpi_<field>: int}."""
    out = {}
    off = 0
    for name, code in TCP_INFO_FIELDS:
        size = struct.calcsize(code)
        align = size
        if off % align:
            off += align - off % align
        if off + size > len(buf):
            break
        (v,) = struct.unpack_from("=" + code, buf, off)
        off += size
        if name == "_wscale":
            out["tcpi_snd_wscale"], out["tcpi_rcv_wscale"] = v & 0x0F, v >> 4
        elif name == "_app_limited":
            out["tcpi_delivery_rate_app_limited"], out["tcpi_fastopen_client_fail"] = v & 1, (v >> 1) & 3
        else:
            out["tcpi_" + name] = v
    return out


# --------------------------------------------------------------------------
# shell commands: interpreted, never run on the host
# --------------------------------------------------------------------------

_defaults_cache: Optional[dict] = None


def load_defaults() -> dict:
    global _defaults_cache
    if _defaults_cache is None:
        p = SHARED_DIR / "defaults.json"
        _defaults_cache = json.loads(p.read_text()) if p.exists() else {"includes": {}}
    return _defaults_cache


def _shared_rel(path: Path) -> Optional[str]:
    try:
        return path.resolve().relative_to(SHARED_DIR.resolve()).as_posix()
    except ValueError:
        return None


class Nstat:
    """iproute2's nstat over the backend's MIB: counters since the last history update."""

    def __init__(self):
        self.history: Optional[dict] = None

    def run(self, argv: list, snapshot: dict) -> tuple[str, int]:
        absolute = no_output = no_update = zeros = reset = False
        patterns = []
        for a in argv[1:]:
            if a.startswith("--"):
                name = a[2:]
                absolute |= name == "ignore"
                no_output |= name == "nooutput"
                no_update |= name == "noupdate"
                zeros |= name == "zeros"
                reset |= name == "reset"
                if name not in ("ignore", "nooutput", "noupdate", "zeros", "reset", "json"):
                    raise Unsupported(f"nstat option {a}")
            elif a.startswith("-") and len(a) > 1:
                for ch in a[1:]:
                    if ch == "a":
                        absolute = True
                    elif ch == "n":
                        no_output = True
                    elif ch == "s":
                        no_update = True
                    elif ch == "z":
                        zeros = True
                    elif ch == "r":
                        reset = True
                    else:
                        raise Unsupported(f"nstat option -{ch}")
            else:
                patterns.append(a)
        base = None if (absolute or self.history is None) else self.history
        lines = ["#kernel"]
        for name, val in snapshot.items():
            if patterns and not any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns):
                continue
            v = val - base.get(name, 0) if base is not None else val
            if v == 0 and not zeros:
                continue
            lines.append(f"{name:<32}{v:<16}{0.0:6.1f}")
        if reset:
            self.history = dict(snapshot)
        elif not no_update:
            self.history = dict(snapshot)
        out = "" if no_output else "\n".join(lines) + "\n"
        return out, 0


def bre_to_re(pat: str) -> str:
    """grep's basic regular expression -> Python's (enough for nstat assertions)."""
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if c == "\\" and i + 1 < len(pat):
            n = pat[i + 1]
            out.append({"(": "(", ")": ")", "{": "{", "}": "}", "|": "|", "+": "+", "?": "?"}.get(n, "\\" + n))
            i += 2
            continue
        if c in "+?(){}|":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


class ShellInterp:
    """The backtick commands of the reference scripts, interpreted against the backend."""

    def __init__(self, runner: Runner):
        self.r = runner
        self.nstat = Nstat()
        self.restore: list = []        # (sysctl name, old value) saved by set_sysctls.py

    def run(self, text: str, init: bool = False) -> None:
        text = re.sub(r"\\\n", " ", text)
        for line in text.replace(";", "\n").split("\n"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            rc = self.run_list(line)
            if rc != 0:
                raise Failure(f"command `{line}` failed with exit status {rc}")

    def run_list(self, line: str) -> int:
        # a && b || c (left to right, as sh does)
        parts = re.split(r"(&&|\|\|)", line)
        rc = self.run_pipeline(parts[0].strip())
        i = 1
        while i < len(parts):
            op, cmd = parts[i], parts[i + 1].strip()
            if (op == "&&" and rc == 0) or (op == "||" and rc != 0):
                rc = self.run_pipeline(cmd)
            i += 2
        return rc

    def run_pipeline(self, line: str) -> int:
        stages = [s.strip() for s in line.split("|")]
        data, rc = "", 0
        for st in stages:
            argv = shlex.split(st)
            if not argv:
                raise Unsupported(f"empty command in `{line}`")
            argv = [self.expand(a) for a in argv]
            # drop redirections of stderr/stdout to /dev/null
            argv = [a for a in argv if not re.fullmatch(r"\d?>+/dev/null|2>&1", a)]
            data, rc = self.run_cmd(argv, data, line)
        return rc

    def expand(self, a: str) -> str:
        return a.replace("${PPID}", "PPID").replace("$PPID", "PPID").replace("${PACKETDRILL_PID}", "PPID")

    def run_cmd(self, argv: list, stdin: str, line: str) -> tuple[str, int]:
        cmd = argv[0]
        base = os.path.basename(cmd)
        b = self.r.backend
        if base == "defaults.sh":
            self.defaults(cmd)
            return "", 0
        if base == "set_sysctls.py":
            for arg in argv[1:]:
                if "=" not in arg:
                    raise Unsupported(f"set_sysctls.py argument {arg!r}")
                path, value = arg.split("=", 1)
                name = path.replace("/proc/sys/", "").strip("/").replace("/", ".")
                old = b.sysctl_get(name)
                rc = b.sysctl_set(name, value)
                if rc != 0:
                    raise Failure(f"set_sysctls.py: cannot set {name}={value} ({errno_name(-rc)})")
                self.restore.append((name, old))
                self.r.note(f"sysctl {name}={value} for this script")
            return "", 0
        if re.fullmatch(r"/tmp/sysctl_restore_.*\.sh", cmd):
            self.restore_sysctls()
            return "", 0
        if base == "sysctl":
            return self.sysctl(argv)
        if base == "nstat":
            return self.nstat.run(argv, b.mib_snapshot())
        if base == "grep":
            return self.grep(argv, stdin)
        if base in ("true", ":"):
            return "", 0
        if base == "false":
            return "", 1
        if base == "echo":
            return " ".join(argv[1:]) + "\n", 0
        if base == "ethtool":
            return self.ethtool(argv)
        if base == "tc":
            return self.tc(argv)
        raise Unsupported(f"shell command `{line}`")

    def defaults(self, cmd: str) -> None:
        inc = load_defaults().get("includes", {})
        rel = _shared_rel(self.r.path.parent / cmd)
        key = rel if rel in inc else None
        if key is None:
            key = "linux-selftests/defaults.sh"
            self.r.note(f"{cmd} read as {key} (from defaults.json)")
        entry = inc.get(key, {})
        if "same_as" in entry:
            entry = inc[entry["same_as"]]
        b = self.r.backend
        missing = []
        for act in entry.get("actions", []):
            kind = act.get("action")
            if kind == "sysctl":
                rc = b.sysctl_set(act["key"], act["value"])
                if rc != 0:
                    missing.append(f"{act['key']}={act['value']} ({errno_name(-rc)})")
            elif kind == "qdisc":
                msg = b.set_qdisc(act["dev"], act["qdisc"], [])
                if msg:
                    self.r.note(f"defaults.sh: qdisc {act['qdisc']} on {act['dev']}: {msg}")
            elif kind == "flush_tcp_metrics":
                msg = b.flush_tcp_metrics()
                if msg:
                    self.r.note(f"defaults.sh: flush tcp metrics: {msg}")
        if missing:
            # defaults.sh is a shell script without `set -e`: a failing sysctl does not stop it
            self.r.note("defaults.sh: not applied (as sh ignores a failing sysctl): " + ", ".join(missing))

    def restore_sysctls(self) -> None:
        b = self.r.backend
        while self.restore:
            name, old = self.restore.pop()
            if old is not None:
                b.sysctl_set(name, old)

    def sysctl(self, argv: list) -> tuple[str, int]:
        b = self.r.backend
        out, rc = [], 0
        quiet = value_only = False
        args = []
        for a in argv[1:]:
            if a.startswith("-") and not args:
                quiet |= "q" in a
                value_only |= "n" in a
                if set(a[1:]) - set("qnw"):
                    raise Unsupported(f"sysctl option {a}")
            else:
                args.append(a)
        for a in args:
            if "=" in a:
                name, value = a.split("=", 1)
                r = b.sysctl_set(name.strip(), value.strip())
                if r != 0:
                    rc = 255
                    continue
                if not quiet:
                    out.append(f"{name.strip()} = {value.strip()}")
            else:
                v = b.sysctl_get(a)
                if v is None:
                    rc = 255
                    continue
                out.append(v if value_only else f"{a} = {v}")
        return ("\n".join(out) + "\n") if out else "", rc

    def grep(self, argv: list, stdin: str) -> tuple[str, int]:
        quiet = invert = fixed = ext = icase = word = count = False
        pat = None
        for a in argv[1:]:
            if a.startswith("-") and pat is None and len(a) > 1:
                for ch in a[1:]:
                    if ch == "q":
                        quiet = True
                    elif ch == "v":
                        invert = True
                    elif ch == "F":
                        fixed = True
                    elif ch == "E":
                        ext = True
                    elif ch == "i":
                        icase = True
                    elif ch == "w":
                        word = True
                    elif ch == "c":
                        count = True
                    else:
                        raise Unsupported(f"grep option -{ch}")
            elif pat is None:
                pat = a
            else:
                raise Unsupported("grep on files")
        if pat is None:
            raise Unsupported("grep without a pattern")
        rx = re.escape(pat) if fixed else (pat if ext else bre_to_re(pat))
        if word:
            rx = r"\b(?:" + rx + r")\b"
        r = re.compile(rx, re.I if icase else 0)
        lines = [l for l in stdin.splitlines() if bool(r.search(l)) != invert]
        out = "" if quiet else (f"{len(lines)}\n" if count else "".join(l + "\n" for l in lines))
        return out, 0 if lines else 1

    def ethtool(self, argv: list) -> tuple[str, int]:
        if len(argv) >= 3 and argv[1] in ("-K", "--features", "--offload"):
            dev = argv[2]
            rest = argv[3:]
            if len(rest) % 2:
                raise Unsupported(f"ethtool arguments {' '.join(argv[1:])}")
            feats = {rest[i]: rest[i + 1] == "on" for i in range(0, len(rest), 2)}
            msg = self.r.backend.ethtool_features(dev, feats)
            if msg:
                self.r.note(f"ethtool -K {dev} {' '.join(rest)}: {msg}")
            return "", 0
        raise Unsupported(f"ethtool {' '.join(argv[1:])}")

    def tc(self, argv: list) -> tuple[str, int]:
        a = argv[1:]
        if len(a) >= 5 and a[0] == "qdisc" and a[1] in ("add", "replace", "change") and a[2] == "dev":
            dev = a[3]
            i = 4
            if a[i] == "root":
                i += 1
            elif a[i] == "handle":
                i += 2
                if a[i] == "root":
                    i += 1
            kind = a[i] if i < len(a) else ""
            msg = self.r.backend.set_qdisc(dev, kind, a[i + 1:])
            if msg:
                self.r.note(f"tc {' '.join(a)}: {msg}")
            return "", 0
        raise Unsupported(f"tc {' '.join(a)}")


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------

LEGACY_MARK = "google/packetdrill/tests/linux/"


def legacy_settings(path: str) -> list:
    """The settings defaults.json suggests for the 2013 legacy scripts (they run no defaults file)."""
    rel = _shared_rel(Path(path)) or str(path)
    if LEGACY_MARK not in rel:
        return []
    env = load_defaults().get("legacy_scripts_environment", {})
    return [(s["key"], s["value"]) for s in env.get("suggested_settings", [])]


def run_script(path: str, backend: Backend, base: Optional[Config] = None, overrides: Optional[dict] = None,
               log: Optional[Callable[[str], None]] = None) -> ScriptResult:
    """Parse and run one script file; never raises for a script's own problems."""
    base = base or Config()
    overrides = overrides or {}
    try:
        script = parse_file(path, defines=base.defines or None)
    except ParseError as e:
        return ScriptResult(path=str(path), status="error", backend=backend.name, message=f"parse error: {e}",
                            line=e.line)
    except OSError as e:
        return ScriptResult(path=str(path), status="error", backend=backend.name, message=str(e))
    try:
        cfg = script_config(script, base, overrides)
    except Unsupported as u:
        return ScriptResult(path=str(path), status="unsupported", backend=backend.name, message=u.feature)
    except ValueError as e:
        return ScriptResult(path=str(path), status="error", backend=backend.name, message=f"bad option: {e}")
    legacy = legacy_settings(path)
    runner = Runner(script, backend, cfg, log=log, pre_settings=legacy)
    if legacy:
        runner.note("legacy script: " + ", ".join(f"{k}={v}" for k, v in legacy) + " (defaults.json)")
    return runner.run()
