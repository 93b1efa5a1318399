"""struct tcphdr — include/uapi/linux/tcp.h, include/net/tcp.h (TCPHDR_* flag bits,
TCPOPT_* / TCPOLEN_*), options as net/ipv4/tcp_input.c tcp_parse_options() reads them and
net/ipv4/tcp_output.c tcp_options_write() lays them out — RFC 9293 (793), RFC 7323
(wscale, timestamps), RFC 2018 (SACK).

Options: `options` holds the raw bytes (the source of truth for emit, so parse->emit is
byte-identical); `opts` is the decoded list in wire order, each a tuple:
('nop', None) ('eol', None) ('mss', int) ('wscale', int) ('sackOK', None) ('TS', (val, ecr))
('sack', [(left, right), ...]) ('unknown', (kind, data_bytes)).
Parsing stops at the first EOL. Length 0/1 or an option overrunning doff*4 raises
WireError('bad_option') (Linux silently stops parsing there). A known kind with the wrong
length (e.g. mss of length 3) decodes as ('unknown', ...), as Linux ignores it.
Assign `hdr.opts = [...]` to re-encode: padded to 4 bytes with EOL, doff updated.
"""

import struct

from kstack.wire._base import Header, raise_short
from kstack.wire.errors import WireError

__all__ = [
    "TcpHdr", "TCPHDR_FIN", "TCPHDR_SYN", "TCPHDR_RST", "TCPHDR_PSH", "TCPHDR_ACK", "TCPHDR_URG",
    "TCPHDR_ECE", "TCPHDR_CWR", "TCPHDR_SYN_ECN", "TCPOPT_EOL", "TCPOPT_NOP", "TCPOPT_MSS",
    "TCPOPT_WINDOW", "TCPOPT_SACK_PERM", "TCPOPT_SACK", "TCPOPT_TIMESTAMP", "TCPOPT_MD5SIG",
    "TCPOPT_FASTOPEN", "TCPOPT_EXP", "TCPOLEN_MSS", "TCPOLEN_WINDOW", "TCPOLEN_SACK_PERM",
    "TCPOLEN_TIMESTAMP", "TCPOLEN_SACK_BASE", "TCPOLEN_SACK_PERBLOCK", "TCPOLEN_TSTAMP_ALIGNED",
    "TCP_HLEN", "MAX_TCP_OPTION_SPACE", "parse_options", "encode_options", "tcp_options_write",
    "tcp_flags_str", "options_str",
]

TCPHDR_FIN = 0x01
TCPHDR_SYN = 0x02
TCPHDR_RST = 0x04
TCPHDR_PSH = 0x08
TCPHDR_ACK = 0x10
TCPHDR_URG = 0x20
TCPHDR_ECE = 0x40
TCPHDR_CWR = 0x80
TCPHDR_SYN_ECN = TCPHDR_SYN | TCPHDR_ECE | TCPHDR_CWR

TCPOPT_EOL = 0
TCPOPT_NOP = 1
TCPOPT_MSS = 2
TCPOPT_WINDOW = 3
TCPOPT_SACK_PERM = 4
TCPOPT_SACK = 5
TCPOPT_TIMESTAMP = 8
TCPOPT_MD5SIG = 19
TCPOPT_FASTOPEN = 34
TCPOPT_EXP = 254

TCPOLEN_MSS = 4
TCPOLEN_WINDOW = 3
TCPOLEN_SACK_PERM = 2
TCPOLEN_TIMESTAMP = 10
TCPOLEN_SACK_BASE = 2
TCPOLEN_SACK_PERBLOCK = 8
TCPOLEN_TSTAMP_ALIGNED = 12

TCP_HLEN = 20
MAX_TCP_OPTION_SPACE = 40

_TCP = struct.Struct("!HHIIBBHHH")
_II = struct.Struct("!II")
_H = struct.Struct("!H")
_TS_ALIGNED = b"\x01\x01\x08\x0a"      # tcp_fast_parse_options()' predicted layout


def parse_options(opt) -> list:
    """Decode raw option bytes into the `opts` list (see module docstring)."""
    out = []
    n = len(opt)
    i = 0
    while i < n:
        kind = opt[i]
        if kind == TCPOPT_NOP:
            out.append(("nop", None))
            i += 1
            continue
        if kind == TCPOPT_EOL:
            out.append(("eol", None))
            break
        if i + 1 >= n:
            raise WireError("bad_option", f"kind {kind} without length")
        size = opt[i + 1]
        if size < 2:
            raise WireError("bad_option", f"kind {kind} length {size}")
        if i + size > n:
            raise WireError("bad_option", f"kind {kind} length {size} overruns header")
        if kind == TCPOPT_MSS and size == TCPOLEN_MSS:
            out.append(("mss", (opt[i + 2] << 8) | opt[i + 3]))
        elif kind == TCPOPT_WINDOW and size == TCPOLEN_WINDOW:
            out.append(("wscale", opt[i + 2]))
        elif kind == TCPOPT_SACK_PERM and size == TCPOLEN_SACK_PERM:
            out.append(("sackOK", None))
        elif kind == TCPOPT_TIMESTAMP and size == TCPOLEN_TIMESTAMP:
            out.append(("TS", _II.unpack_from(opt, i + 2)))
        elif (kind == TCPOPT_SACK and size >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK
              and not (size - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK):
            out.append(("sack", [_II.unpack_from(opt, j) for j in range(i + 2, i + size, 8)]))
        else:
            out.append(("unknown", (kind, bytes(opt[i + 2:i + size]))))
        i += size
    return out


def encode_options(opts) -> bytes:
    """Encode an `opts` list; pads to a multiple of 4 with EOL (0) bytes."""
    b = bytearray()
    for name, val in opts:
        if name == "nop":
            b.append(TCPOPT_NOP)
        elif name == "eol":
            b.append(TCPOPT_EOL)
        elif name == "mss":
            b += bytes((TCPOPT_MSS, TCPOLEN_MSS)) + _H.pack(val)
        elif name == "wscale":
            b += bytes((TCPOPT_WINDOW, TCPOLEN_WINDOW, val))
        elif name == "sackOK":
            b += bytes((TCPOPT_SACK_PERM, TCPOLEN_SACK_PERM))
        elif name == "TS":
            b += bytes((TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP)) + _II.pack(*val)
        elif name == "sack":
            b += bytes((TCPOPT_SACK, TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK * len(val)))
            for left, right in val:
                b += _II.pack(left, right)
        elif name == "unknown":
            kind, data = val
            b += bytes((kind, 2 + len(data))) + bytes(data)
        else:
            raise ValueError(f"unknown TCP option name {name!r}")
    if len(b) & 3:
        b += b"\x00" * (4 - (len(b) & 3))
    if len(b) > MAX_TCP_OPTION_SPACE:
        raise WireError("bad_option", f"{len(b)} bytes of options > 40")
    return bytes(b)


def tcp_options_write(mss: int | None = None, sack_ok: bool = False, ts: tuple | None = None,
                      wscale: int | None = None, sack: list | tuple = ()) -> list:
    """The `opts` list in the order and NOP alignment of Linux's tcp_options_write():
    mss; sackOK+TS (or nop,nop,TS; or nop,nop,sackOK); nop,wscale; nop,nop,sack blocks.
    Linux's SYN: [mss 1460, sackOK, TS val ecr, nop, wscale 7]."""
    o = []
    if mss is not None:
        o.append(("mss", mss))
    if ts is not None:
        if sack_ok:
            o.append(("sackOK", None))
        else:
            o += [("nop", None), ("nop", None)]
        o.append(("TS", tuple(ts)))
    elif sack_ok:
        o += [("nop", None), ("nop", None), ("sackOK", None)]
    if wscale is not None:
        o += [("nop", None), ("wscale", wscale)]
    if sack:
        o += [("nop", None), ("nop", None), ("sack", [tuple(b) for b in sack])]
    return o


_FLAG_CHARS = ((TCPHDR_FIN, "F"), (TCPHDR_SYN, "S"), (TCPHDR_RST, "R"), (TCPHDR_PSH, "P"),
               (TCPHDR_ACK, "."), (TCPHDR_URG, "U"), (TCPHDR_ECE, "E"), (TCPHDR_CWR, "W"))


def tcp_flags_str(flags: int) -> str:
    """tcpdump's flag text: "S", "S.", "P.", "F.", "." , "none"."""
    return "".join(c for b, c in _FLAG_CHARS if flags & b) or "none"


_OPT_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo",
              7: "echoreply", 8: "TS", 11: "cc", 12: "ccnew", 13: "ccecho", 19: "md5", 20: "scps",
              28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 254: "exp"}


def _end(out, partial, marker):
    if marker == "[bad opt]":
        return ",".join(out) + ("," if out else "") + partial + "[bad opt]" + ("]" if out else ""), False
    return ",".join(out) + ("," if out else "") + partial + " [|tcp]", False


def _tfo(data) -> str:
    if not data:
        return " cookiereq"
    if len(data) % 2 or len(data) < 4 or len(data) > 16:
        return " (invalid)"
    return " cookie " + bytes(data).hex()


def options_str(raw, hlen: int | None = None) -> tuple[str, bool]:
    """tcpdump's text for option bytes, walked exactly as print-tcp.c walks them (a known
    kind consumes its nominal data length; a mismatch prints "[len N]"):
    ("mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7", True). `hlen` is the option length the
    header claims; `raw` may hold fewer bytes (a truncated capture) or more (the payload,
    which a malformed last option makes tcpdump read). On a malformed option the text
    ends in "[bad opt]", on a truncated one in " [|tcp]", and the flag is False (tcpdump
    ends the line there). mptcp prints as hex, unlike tcpdump's own decoders."""
    n = len(raw) if hlen is None else hlen
    cap = len(raw)
    out = []
    i = 0
    while i < n:
        if i >= cap:
            return _end(out, "", "trunc")
        kind = raw[i]
        room = n - i
        i += 1
        if kind <= 1:
            size = 1
        else:
            if i >= cap:
                return _end(out, "", "trunc")
            size = raw[i]
            i += 1
            if size < 2 or size > room:
                return _end(out, "", "[bad opt]")
        left = n - i
        name = _OPT_NAMES.get(kind) or f"unknown-{kind}"
        if kind <= 1 or kind == TCPOPT_SACK_PERM:
            dl = 0
        elif kind == TCPOPT_SACK:
            dl = size - 2
        elif kind in _FIXED_DL:
            dl = _FIXED_DL[kind]
            if dl > left:
                return _end(out, name, "[bad opt]")
        else:
            dl = size - 2
        if kind != TCPOPT_SACK and i + dl > cap:
            return _end(out, name, "trunc")
        if kind == TCPOPT_MSS:
            name += f" {(raw[i] << 8) | raw[i + 1]}"
        elif kind == TCPOPT_WINDOW:
            name += f" {raw[i]}"
        elif kind == TCPOPT_TIMESTAMP:
            val, ecr = _II.unpack_from(raw, i)
            name += f" val {val} ecr {ecr}"
        elif kind in (6, 7, 11, 12, 13):      # echo, echoreply, cc, ccnew, ccecho
            name += f" {(raw[i] << 24) | (raw[i + 1] << 16) | (raw[i + 2] << 8) | raw[i + 3]}"
        elif kind == 20:                     # scps
            name += f" cap {raw[i]:02x} id {raw[i + 1]}"
        elif kind == 28:                     # uto
            uto = (raw[i] << 8) | raw[i + 1]
            name += f" 0x{uto:x} {(uto >> 1) * 60 if uto & 1 else uto >> 1}"
        elif kind == TCPOPT_SACK:
            if dl % 8:
                name += " invalid sack"
            else:
                name += f" {dl // 8} "
                for j in range(0, dl, 8):
                    if j + 8 > left:
                        return _end(out, name, "[bad opt]")
                    if i + j + 8 > cap:
                        return _end(out, name, "trunc")
                    le, re = _II.unpack_from(raw, i + j)
                    name += f"{{{le}:{re}}}"
        elif kind == TCPOPT_MD5SIG:
            name += " shared secret not supplied with -M, can't check - " + bytes(raw[i:i + 16]).hex()
        elif kind == 29:                     # tcp-ao
            if dl < 2:
                name += "invalid"
            else:
                name += f" keyid {raw[i]} rnextkeyid {raw[i + 1]}"
                if dl > 2:
                    name += " mac 0x" + bytes(raw[i + 2:i + dl]).hex()
        elif kind == TCPOPT_FASTOPEN:
            name += " " + _tfo(raw[i:i + dl])
        elif kind == TCPOPT_EXP:
            if dl < 2:
                return _end(out, name, "[bad opt]")
            magic = (raw[i] << 8) | raw[i + 1]
            name += "-" + ("tfo" + _tfo(raw[i + 2:i + dl]) if magic == 0xF989 else f"{magic:04x}")
        elif dl:
            name += " 0x" + bytes(raw[i:i + dl]).hex()
        i += dl
        if dl + (1 if kind <= 1 else 2) != size:
            name += f"[len {size}]"
        out.append(name)
        if kind == TCPOPT_EOL:
            break
    return ",".join(out), True


_FIXED_DL = {TCPOPT_MD5SIG: 16, TCPOPT_MSS: 2, TCPOPT_WINDOW: 1, TCPOPT_TIMESTAMP: 8, 6: 4, 7: 4, 11: 4, 12: 4, 13: 4,
             20: 2, 28: 2}


def _flag(bit):
    def get(self):
        return bool(self.flags & bit)

    def set(self, v):
        self.flags = (self.flags | bit) if v else (self.flags & ~bit)
    return property(get, set, doc=f"TCPHDR bit {bit:#04x}")


class TcpHdr(Header):
    """TCP header. `flags` is the 8-bit flag byte (TCPHDR_*); fin..cwr are bool views of it.
    res1 is the 4 bits between doff and the flags (bit 0 is AccECN's AE). doff counts
    32-bit words and is kept consistent with `options` by the constructor and `opts`."""

    __slots__ = ("source", "dest", "seq", "ack_seq", "doff", "res1", "flags", "window",
                 "check", "urg_ptr", "options", "_opts")
    _fields = ("source", "dest", "seq", "ack_seq", "doff", "res1", "flags", "window",
               "check", "urg_ptr", "options")
    _struct = _TCP

    def __init__(self, source: int = 0, dest: int = 0, seq: int = 0, ack_seq: int = 0,
                 flags: int = 0, window: int = 0, check: int = 0, urg_ptr: int = 0,
                 options: bytes | None = None, opts: list | None = None,
                 doff: int | None = None, res1: int = 0) -> None:
        self.source = source
        self.dest = dest
        self.seq = seq
        self.ack_seq = ack_seq
        self.res1 = res1
        self.flags = flags
        self.window = window
        self.check = check
        self.urg_ptr = urg_ptr
        if opts is not None:
            if options is not None:
                raise ValueError("give options (bytes) or opts (list), not both")
            self._opts = list(opts)
            options = encode_options(opts)
        else:
            options = b"" if options is None else bytes(options)
            if len(options) & 3 or len(options) > MAX_TCP_OPTION_SPACE:
                raise WireError("bad_option", f"{len(options)} bytes of raw options")
            self._opts = None
        self.options = options
        self.doff = 5 + (len(options) >> 2) if doff is None else doff

    @classmethod
    def parse(cls, buf, offset: int = 0) -> "TcpHdr":
        n = len(buf) - offset
        if offset < 0 or n < 20:
            raise_short(buf, offset, 20)
        self = object.__new__(cls)
        (self.source, self.dest, self.seq, self.ack_seq, dr, self.flags, self.window,
         self.check, self.urg_ptr) = _TCP.unpack_from(buf, offset)
        doff = dr >> 4
        self.res1 = dr & 0x0F
        self.doff = doff
        if doff <= 5:
            if doff < 5:
                raise WireError("bad_doff", str(doff))
            self.options = b""
            self._opts = []
            return self
        hl = doff << 2
        if hl > n:
            raise WireError("short", f"doff {doff} but {n} bytes")
        opt = bytes(buf[offset + 20:offset + hl])
        self.options = opt
        if hl == 32 and opt[:4] == _TS_ALIGNED:
            self._opts = [("nop", None), ("nop", None), ("TS", _II.unpack_from(opt, 4))]
        else:
            self._opts = parse_options(opt)
        return self

    def buffer_len(self) -> int:
        return 20 + len(self.options)

    def emit(self, buf, offset: int = 0) -> None:
        _TCP.pack_into(buf, offset, self.source, self.dest, self.seq, self.ack_seq,
                       ((self.doff & 0xF) << 4) | (self.res1 & 0xF), self.flags, self.window,
                       self.check, self.urg_ptr)
        if self.options:
            buf[offset + 20:offset + 20 + len(self.options)] = self.options

    @property
    def opts(self) -> list:
        """Decoded options in wire order (a fresh list; assign to change them)."""
        if self._opts is None:
            self._opts = parse_options(self.options)
        return list(self._opts)

    @opts.setter
    def opts(self, value) -> None:
        self.options = encode_options(value)
        self._opts = list(value)
        self.doff = 5 + (len(self.options) >> 2)

    def opt(self, name: str, default=None):
        """Value of the first option called `name` ('mss', 'TS', ...), else `default`."""
        for n, v in self._opts if self._opts is not None else self.opts:
            if n == name:
                return v
        return default

    fin = _flag(TCPHDR_FIN)
    syn = _flag(TCPHDR_SYN)
    rst = _flag(TCPHDR_RST)
    psh = _flag(TCPHDR_PSH)
    ack = _flag(TCPHDR_ACK)
    urg = _flag(TCPHDR_URG)
    ece = _flag(TCPHDR_ECE)
    cwr = _flag(TCPHDR_CWR)

    def summary(self, length: int = 0, _raw_opts=None, _opt_len=None) -> str:
        """tcpdump -S text after the ports: "Flags [S.], seq 1, ack 2, win 64240, options
        [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0" (`length`: payload bytes)."""
        f = self.flags
        s = f"Flags [{tcp_flags_str(f)}]"
        if length > 0 or f & (TCPHDR_SYN | TCPHDR_FIN | TCPHDR_RST):
            s += f", seq {self.seq}"
            if length > 0:
                s += f":{(self.seq + length) & 0xFFFFFFFF}"
        if f & TCPHDR_ACK:
            s += f", ack {self.ack_seq}"
        s += f", win {self.window}"
        if f & TCPHDR_URG:
            s += f", urg {self.urg_ptr}"
        if _opt_len:
            text, ok = options_str(_raw_opts, _opt_len)
            if not ok:
                return s + ", options [" + text
            s += f", options [{text}]"
        elif self.options:
            text, ok = options_str(self.options)
            if not ok:      # tcpdump stops the line at a malformed option
                return s + ", options [" + text
            s += f", options [{text}]"
        return s + f", length {length}"
