"""kstack.wire.pcap: classic pcap (pcap-savefile(5)) and pcapng (SHB/IDB/EPB), read back by
our readers and, when installed, by tshark and tcpdump."""

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.pcap import (
    LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW, PCAP_MAGIC, PCAP_MAGIC_NS, PcapngReader,
    PcapngWriter, PcapReader, PcapWriter, read_pcap, read_pcapng,
)

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = [(f["label"], f["dir"], bytes.fromhex(f["hex"])) for f in FIX["frames"]]
T0 = 1700000000.0


def _pcap(nano=False, linktype=LINKTYPE_ETHERNET, frames=FRAMES):
    b = io.BytesIO()
    w = PcapWriter(b, linktype=linktype, nano=nano)
    for i, (_, _, f) in enumerate(frames):
        w.write(T0 + i * 0.001001, f if linktype != LINKTYPE_RAW else f[14:])
    return b.getvalue()


def test_pcap_file_header_host_order():
    data = _pcap()
    bo = "<" if struct.pack("=I", 1) == b"\x01\x00\x00\x00" else ">"
    magic, vmaj, vmin, zone, sigfigs, snaplen, lt = struct.unpack_from(bo + "IHHiIII", data)
    assert (magic, vmaj, vmin, zone, sigfigs, snaplen, lt) == (PCAP_MAGIC, 2, 4, 0, 0, 262144, 1)
    assert struct.unpack_from(bo + "I", _pcap(nano=True))[0] == PCAP_MAGIC_NS
    assert struct.unpack_from(bo + "I", _pcap(linktype=LINKTYPE_LINUX_SLL), 20)[0] == 113
    sec, usec, incl, orig = struct.unpack_from(bo + "IIII", data, 24)
    assert (sec, usec, incl, orig) == (1700000000, 0, 42, 42)


@pytest.mark.parametrize("nano", [False, True])
def test_pcap_round_trip(nano):
    r = PcapReader(io.BytesIO(_pcap(nano=nano)))
    assert r.linktype == 1 and r.nano == nano and r.snaplen == 262144 and r.version == (2, 4)
    got = list(r)
    assert [f for _, f in got] == [f for _, _, f in FRAMES]
    for i, (ts, _) in enumerate(got):
        assert abs(ts - (T0 + i * 0.001001)) < 1e-6


def test_pcap_snaplen_and_orig_len():
    b = io.BytesIO()
    w = PcapWriter(b, snaplen=64)
    w.write(1.25, bytes(100))
    w.write(2.5, bytes(10), orig_len=1500)
    b.seek(0)
    raw = b.getvalue()
    bo = "<" if raw[:4] == struct.pack("<I", PCAP_MAGIC) else ">"
    assert struct.unpack_from(bo + "IIII", raw, 24) == (1, 250000, 64, 100)
    assert list(read_pcap(io.BytesIO(raw))) == [(1.25, bytes(64)), (2.5, bytes(10))]


def test_pcap_reads_other_byte_order():
    hdr = struct.pack(">IHHiIII", PCAP_MAGIC_NS, 2, 4, 0, 0, 65535, LINKTYPE_RAW)
    rec = struct.pack(">IIII", 5, 500000000, 3, 3) + b"abc"
    r = PcapReader(io.BytesIO(hdr + rec))
    assert r.byteorder == ">" and r.linktype == LINKTYPE_RAW
    assert list(r) == [(5.5, b"abc")]


def test_pcap_damage_raises_wireerror():
    with pytest.raises(WireError):
        PcapReader(io.BytesIO(b"\x00" * 24))
    with pytest.raises(WireError):
        PcapReader(io.BytesIO(b"\xd4\xc3"))
    data = _pcap()
    with pytest.raises(WireError):
        list(read_pcap(io.BytesIO(data[:-5])))
    with pytest.raises(WireError):
        list(read_pcap(io.BytesIO(data[:24 + 10])))


def _pcapng():
    b = io.BytesIO()
    w = PcapngWriter(b)
    ia = w.add_interface("veth-a")
    ib = w.add_interface("veth-b")
    raw = w.add_interface("ip0", linktype=LINKTYPE_RAW)
    for i, (_, d, f) in enumerate(FRAMES):
        w.write(ib if d == "in" else ia, T0 + i * 0.000000123 + i, f, direction=d)
    w.write(raw, T0, FRAMES[4][2][14:])
    return b.getvalue(), (ia, ib, raw)


def test_pcapng_round_trip():
    data, (ia, ib, raw) = _pcapng()
    assert struct.unpack_from("<I" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">I", data, 8)[0] == 0x1A2B3C4D
    r = PcapngReader(io.BytesIO(data))
    got = list(r)
    assert [i["name"] for i in r.interfaces] == ["veth-a", "veth-b", "ip0"]
    assert [i["linktype"] for i in r.interfaces] == [1, 1, 101]
    assert all(i["tsresol"] == 9 for i in r.interfaces)
    assert len(got) == len(FRAMES) + 1
    for i, ((iface, ts, frame, flags), (_, d, f)) in enumerate(zip(got, FRAMES)):
        assert frame == f
        assert iface == (ib if d == "in" else ia)
        assert flags == (1 if d == "in" else 2)
        assert abs(ts - (T0 + i * 0.000000123 + i)) < 1e-6
    assert got[-1] == (raw, T0, FRAMES[4][2][14:], None)


def test_pcapng_damage_raises_wireerror():
    data, _ = _pcapng()
    with pytest.raises(WireError):
        list(read_pcapng(io.BytesIO(b"\x01\x00\x00\x00" + data[4:])))
    with pytest.raises(WireError):
        list(read_pcapng(io.BytesIO(data[:-3])))
    bad = bytearray(data)
    bad[4] ^= 0x40                                   # SHB total length no longer matches
    with pytest.raises(WireError):
        list(read_pcapng(io.BytesIO(bytes(bad))))


def _tshark(path, *args):
    return subprocess.run(["tshark", "-n", "-r", str(path), *args], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_reads_pcap_and_pcapng(tmp_path):
    p = tmp_path / "a.pcap"
    p.write_bytes(_pcap())
    pn = tmp_path / "ns.pcap"
    pn.write_bytes(_pcap(nano=True))
    praw = tmp_path / "raw.pcap"
    praw.write_bytes(_pcap(linktype=LINKTYPE_RAW, frames=FRAMES[2:]))
    png = tmp_path / "a.pcapng"
    png.write_bytes(_pcapng()[0])
    for path, n in ((p, len(FRAMES)), (pn, len(FRAMES)), (praw, len(FRAMES) - 2), (png, len(FRAMES) + 1)):
        out = _tshark(path, "-T", "fields", "-e", "frame.len", "-e", "frame.protocols")
        assert out.returncode == 0, out.stderr
        rows = out.stdout.splitlines()
        assert len(rows) == n, (path, out.stdout)
    rows = _tshark(p, "-T", "fields", "-e", "frame.len", "-e", "frame.time_epoch").stdout.splitlines()
    assert [int(r.split("\t")[0]) for r in rows] == [len(f) for _, _, f in FRAMES]
    assert rows[1].split("\t")[1].startswith("1700000000.001001")
    rows = _tshark(png, "-T", "fields", "-e", "frame.interface_name", "-e", "ip.src").stdout.splitlines()
    assert rows[0].split("\t")[0] == "veth-b"       # arp_request arrived at B: "in"
    assert rows[1].split("\t")[0] == "veth-a"
    assert rows[-1].split("\t") == ["ip0", "10.200.0.1"]
    dirs = _tshark(png, "-T", "fields", "-e", "frame.packet_flags_direction").stdout.split()
    assert [int(d, 0) for d in dirs[:2]] == [1, 2]   # epb_flags direction: 1 inbound, 2 outbound
    text = _tshark(p).stdout
    assert "Who has 10.200.0.2? Tell 10.200.0.1" in text


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_tcpdump_reads_pcapng(tmp_path):
    b = io.BytesIO()                      # libpcap wants one link type per file
    w = PcapngWriter(b, tsresol=6)
    ia, ib = w.add_interface("veth-a"), w.add_interface("veth-b")
    for i, (_, d, f) in enumerate(FRAMES):
        w.write(ib if d == "in" else ia, T0 + i, f, direction=d)
    png = tmp_path / "a.pcapng"
    png.write_bytes(b.getvalue())
    out = subprocess.run(["tcpdump", "-nn", "-r", str(png)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == len(FRAMES)
    assert "ARP, Request who-has 10.200.0.2 tell 10.200.0.1, length 28" in out.stdout
