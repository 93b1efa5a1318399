"""Capture files: classic pcap (pcap-savefile(5); libpcap sf-pcap.c) and pcapng
(draft-ietf-opsawg-pcapng: SHB, IDB, EPB, SPB; libpcap sf-pcapng.c) — STYLE.md 6c.

Writers and readers take file objects opened in binary mode (no paths: this package does no
I/O of its own). Writers use host byte order, as tcpdump does; readers accept either order.
Timestamps are float seconds since the epoch.
"""

import struct
import sys

from kstack.wire.errors import WireError

__all__ = [
    "PcapWriter", "PcapReader", "read_pcap", "PcapngWriter", "PcapngReader", "read_pcapng",
    "LINKTYPE_ETHERNET", "LINKTYPE_RAW", "LINKTYPE_LINUX_SLL", "PCAP_MAGIC", "PCAP_MAGIC_NS",
    "PCAPNG_SHB", "PCAPNG_IDB", "PCAPNG_SPB", "PCAPNG_EPB", "PCAPNG_BYTE_ORDER_MAGIC",
    "PACKET_DIR_IN", "PACKET_DIR_OUT", "DEFAULT_SNAPLEN",
]

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
DEFAULT_SNAPLEN = 262144

PCAP_MAGIC = 0xA1B2C3D4        # microsecond timestamps
PCAP_MAGIC_NS = 0xA1B23C4D     # nanosecond timestamps

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 0x00000001
PCAPNG_SPB = 0x00000003
PCAPNG_EPB = 0x00000006
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D

OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_TSRESOL = 9
EPB_FLAGS = 2

PACKET_DIR_IN = 1     # epb_flags bits 0-1
PACKET_DIR_OUT = 2

_BO = "<" if sys.byteorder == "little" else ">"     # host byte order, standard sizes


def _split_ts(ts: float, units: int) -> tuple[int, int]:
    t = round(ts * units)
    return divmod(t, units)


# ----------------------------------------------------------------- classic pcap

class PcapWriter:
    """Classic pcap writer: PcapWriter(f, linktype=1, nano=False); write(ts, frame, orig_len=None)."""

    def __init__(self, fileobj, linktype: int = LINKTYPE_ETHERNET, nano: bool = False,
                 snaplen: int = DEFAULT_SNAPLEN) -> None:
        self.f = fileobj
        self.linktype = linktype
        self.nano = nano
        self.snaplen = snaplen
        self._units = 1_000_000_000 if nano else 1_000_000
        self._rec = struct.Struct(_BO + "IIII")
        fileobj.write(struct.pack(_BO + "IHHiIII", PCAP_MAGIC_NS if nano else PCAP_MAGIC,
                                  2, 4, 0, 0, snaplen, linktype))

    def write(self, ts: float, frame, orig_len: int | None = None) -> None:
        sec, frac = _split_ts(ts, self._units)
        data = bytes(frame[:self.snaplen])
        self.f.write(self._rec.pack(sec, frac, len(data), len(frame) if orig_len is None else orig_len))
        self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


class PcapReader:
    """Classic pcap reader; iterate for (ts, frame). Attributes: linktype, snaplen, nano,
    version, byteorder ('<' or '>'). Raises WireError('bad_magic') / ('short') on damage."""

    def __init__(self, fileobj) -> None:
        self.f = fileobj
        hdr = fileobj.read(24)
        if len(hdr) < 24:
            raise WireError("short", "pcap file header")
        for bo in ("<", ">"):
            magic = struct.unpack_from(bo + "I", hdr)[0]
            if magic in (PCAP_MAGIC, PCAP_MAGIC_NS):
                break
        else:
            raise WireError("bad_magic", hdr[:4].hex())
        self.byteorder = bo
        self.nano = magic == PCAP_MAGIC_NS
        vmaj, vmin, _zone, _sigfigs, self.snaplen, self.linktype = struct.unpack_from(bo + "HHiIII", hdr, 4)
        self.version = (vmaj, vmin)
        self._rec = struct.Struct(bo + "IIII")

    def __iter__(self):
        div = 1e9 if self.nano else 1e6
        read = self.f.read
        rec = self._rec
        while True:
            h = read(16)
            if not h:
                return
            if len(h) < 16:
                raise WireError("short", "pcap record header")
            sec, frac, incl, _orig = rec.unpack(h)
            data = read(incl)
            if len(data) < incl:
                raise WireError("short", "pcap record data")
            yield sec + frac / div, data


def read_pcap(fileobj):
    """Yield (ts, frame) from a classic pcap file object."""
    return iter(PcapReader(fileobj))


# ----------------------------------------------------------------- pcapng

def _opt(code: int, value: bytes) -> bytes:
    pad = (-len(value)) & 3
    return struct.pack(_BO + "HH", code, len(value)) + value + b"\x00" * pad


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack(_BO + "II", btype, total) + body + struct.pack(_BO + "I", total)


class PcapngWriter:
    """pcapng writer: one SHB, then add_interface(name, linktype=1) -> id (an IDB with if_name
    and if_tsresol), and write(iface_id, ts, frame, direction=None) (an EPB; direction
    'in'/'out' or 1/2 sets epb_flags)."""

    def __init__(self, fileobj, userappl: str = "kstack", tsresol: int = 9) -> None:
        self.f = fileobj
        self.tsresol = tsresol
        self._units = 10 ** tsresol
        self._ifaces: list[tuple[str, int, int]] = []
        opts = _opt(SHB_USERAPPL, userappl.encode()) + _opt(OPT_ENDOFOPT, b"") if userappl else b""
        body = struct.pack(_BO + "IHHq", PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1) + opts
        fileobj.write(_block(PCAPNG_SHB, body))

    def add_interface(self, name: str, linktype: int = LINKTYPE_ETHERNET,
                      snaplen: int = DEFAULT_SNAPLEN) -> int:
        opts = (_opt(IF_NAME, name.encode()) + _opt(IF_TSRESOL, bytes((self.tsresol,)))
                + _opt(OPT_ENDOFOPT, b""))
        self.f.write(_block(PCAPNG_IDB, struct.pack(_BO + "HHI", linktype, 0, snaplen) + opts))
        self._ifaces.append((name, linktype, snaplen))
        return len(self._ifaces) - 1

    def write(self, iface_id: int, ts: float, frame, direction=None, orig_len: int | None = None) -> None:
        if not 0 <= iface_id < len(self._ifaces):
            raise ValueError(f"no interface {iface_id}")
        snaplen = self._ifaces[iface_id][2]
        data = bytes(frame[:snaplen])
        t = round(ts * self._units)
        body = struct.pack(_BO + "IIIII", iface_id, t >> 32, t & 0xFFFFFFFF, len(data),
                           len(frame) if orig_len is None else orig_len)
        body += data + b"\x00" * ((-len(data)) & 3)
        if direction is not None:
            d = {"in": PACKET_DIR_IN, "out": PACKET_DIR_OUT}.get(direction, direction)
            body += _opt(EPB_FLAGS, struct.pack(_BO + "I", d & 3)) + _opt(OPT_ENDOFOPT, b"")
        self.f.write(_block(PCAPNG_EPB, body))

    def flush(self) -> None:
        self.f.flush()


class PcapngReader:
    """pcapng reader; iterate for (iface_id, ts, frame, flags) — flags is the epb_flags int
    or None. `interfaces` lists dicts {linktype, snaplen, name, tsresol} as IDBs arrive.
    A Simple Packet Block yields (0, None, frame, None). Unknown blocks are skipped."""

    def __init__(self, fileobj) -> None:
        self.f = fileobj
        self.interfaces: list[dict] = []
        self.byteorder = "<"
        self._first = True

    def _read_block(self):
        h = self.f.read(8)
        if not h:
            return None
        if len(h) < 8:
            raise WireError("short", "pcapng block header")
        if self._first or h[:4] == b"\x0a\x0d\x0d\x0a":
            if h[:4] != b"\x0a\x0d\x0d\x0a":
                raise WireError("bad_magic", h[:4].hex())
            bom = self.f.read(4)
            if len(bom) < 4:
                raise WireError("short", "pcapng SHB")
            if struct.unpack("<I", bom)[0] == PCAPNG_BYTE_ORDER_MAGIC:
                self.byteorder = "<"
            elif struct.unpack(">I", bom)[0] == PCAPNG_BYTE_ORDER_MAGIC:
                self.byteorder = ">"
            else:
                raise WireError("bad_magic", "byte-order magic " + bom.hex())
            self._first = False
            self.interfaces = []        # a new section restarts interface numbering
            h += bom
            pre = 12
        else:
            pre = 8
        btype, total = struct.unpack_from(self.byteorder + "II", h)
        if total < 12 or total & 3 or total < pre + 4:
            raise WireError("bad_block", f"block length {total}")
        rest = self.f.read(total - pre)
        if len(rest) < total - pre:
            raise WireError("short", "pcapng block")
        body = (h[8:] + rest)[:-4]
        if struct.unpack_from(self.byteorder + "I", rest, len(rest) - 4)[0] != total:
            raise WireError("bad_block", "trailing length mismatch")
        return btype, body

    def _options(self, buf, off):
        bo = self.byteorder
        while off + 4 <= len(buf):
            code, ln = struct.unpack_from(bo + "HH", buf, off)
            off += 4
            if code == OPT_ENDOFOPT:
                return
            if off + ln > len(buf):
                raise WireError("bad_option", "pcapng option overruns block")
            yield code, buf[off:off + ln]
            off += ln + ((-ln) & 3)

    def __iter__(self):
        bo = self.byteorder
        while True:
            blk = self._read_block()
            if blk is None:
                return
            btype, body = blk
            bo = self.byteorder
            if btype == PCAPNG_IDB:
                if len(body) < 8:
                    raise WireError("short", "IDB")
                linktype, _res, snaplen = struct.unpack_from(bo + "HHI", body)
                iface = {"linktype": linktype, "snaplen": snaplen, "name": None, "tsresol": 6}
                for code, val in self._options(body, 8):
                    if code == IF_NAME:
                        iface["name"] = val.decode(errors="replace")
                    elif code == IF_TSRESOL and val:
                        iface["tsresol"] = val[0]
                self.interfaces.append(iface)
            elif btype == PCAPNG_EPB:
                if len(body) < 20:
                    raise WireError("short", "EPB")
                iface_id, hi, lo, caplen, _orig = struct.unpack_from(bo + "IIIII", body)
                if 20 + caplen > len(body):
                    raise WireError("bad_block", "EPB caplen overruns block")
                if iface_id >= len(self.interfaces):
                    raise WireError("bad_block", f"EPB for unknown interface {iface_id}")
                frame = body[20:20 + caplen]
                flags = None
                for code, val in self._options(body, 20 + caplen + ((-caplen) & 3)):
                    if code == EPB_FLAGS and len(val) == 4:
                        flags = struct.unpack(bo + "I", val)[0]
                res = self.interfaces[iface_id]["tsresol"]
                units = (1 << (res & 0x7F)) if res & 0x80 else 10 ** res
                yield iface_id, ((hi << 32) | lo) / units, frame, flags
            elif btype == PCAPNG_SPB:
                if len(body) < 4:
                    raise WireError("short", "SPB")
                orig = struct.unpack_from(bo + "I", body)[0]
                snap = self.interfaces[0]["snaplen"] if self.interfaces else 0
                caplen = min(orig, snap) if snap else orig
                yield 0, None, body[4:4 + caplen], None


def read_pcapng(fileobj):
    """Yield (iface_id, ts, frame, flags) from a pcapng file object."""
    return iter(PcapngReader(fileobj))
