"""kstack.wire.tcphdr on segments captured from Linux (include/uapi/linux/tcp.h; options as
tcp_parse_options()/tcp_options_write() — RFC 9293, RFC 7323, RFC 2018)."""

import json
import struct
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.checksum import tcp4_csum
from kstack.wire.tcphdr import (
    TCPHDR_ACK, TCPHDR_CWR, TCPHDR_ECE, TCPHDR_FIN, TCPHDR_PSH, TCPHDR_RST, TCPHDR_SYN, TCPHDR_URG,
    TcpHdr, encode_options, options_str, parse_options, tcp_flags_str, tcp_options_write,
)

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}
A_IP, B_IP = 0x0AC80001, 0x0AC80002
SYN_OPTS = [("mss", 1460), ("sackOK", None), ("TS", (1018142145, 0)), ("nop", None), ("wscale", 10)]


def test_deconstruct_syn():
    t = TcpHdr.parse(FRAMES["tcp_syn"], 34)
    assert (t.source, t.dest, t.seq, t.ack_seq) == (40001, 33333, 4172159295, 0)
    assert (t.doff, t.res1, t.flags, t.window, t.check, t.urg_ptr) == (10, 0, TCPHDR_SYN, 64240, 0x2CA4, 0)
    assert t.syn and not (t.ack or t.fin or t.rst or t.psh or t.urg or t.ece or t.cwr)
    assert t.options == bytes.fromhex("020405b40402080a3caf9dc1000000000103030a")
    assert t.opts == SYN_OPTS
    assert t.opt("mss") == 1460 and t.opt("wscale") == 10 and t.opt("sack") is None
    assert t.buffer_len() == 40


def test_deconstruct_synack_ack_data_fin_rst():
    sa = TcpHdr.parse(FRAMES["tcp_synack"], 34)
    assert (sa.source, sa.dest, sa.seq, sa.ack_seq, sa.flags, sa.window) == \
        (33333, 40001, 23345236, 4172159296, TCPHDR_SYN | TCPHDR_ACK, 65160)
    assert sa.opts == [("mss", 1460), ("sackOK", None), ("TS", (2249826712, 1018142145)),
                       ("nop", None), ("wscale", 10)]
    a = TcpHdr.parse(FRAMES["tcp_ack"], 34)
    assert (a.seq, a.ack_seq, a.doff, a.flags, a.window, a.check) == (4172159296, 23345237, 8, TCPHDR_ACK, 63, 0xF4A9)
    assert a.opts == [("nop", None), ("nop", None), ("TS", (1018142145, 2249826712))]
    d = TcpHdr.parse(FRAMES["tcp_data"], 34)
    assert d.flags == TCPHDR_PSH | TCPHDR_ACK and d.psh and d.ack
    assert FRAMES["tcp_data"][34 + 32:] == b"hello"
    assert FRAMES["tcp_data_2"][34 + 32:] == b"world:hello"
    f = TcpHdr.parse(FRAMES["tcp_fin"], 34)
    assert f.flags == TCPHDR_FIN | TCPHDR_ACK and f.fin
    r = TcpHdr.parse(FRAMES["tcp_rst"], 34)
    assert (r.source, r.dest, r.seq, r.ack_seq, r.doff, r.flags, r.window, r.check) == \
        (9001, 37366, 0, 2463146170, 5, TCPHDR_RST | TCPHDR_ACK, 0, 0xB193)
    assert r.options == b"" and r.opts == []


def test_construct():
    buf = bytearray(b"\xa5" * 40)
    TcpHdr(40001, 33333, 4172159295, 0, TCPHDR_SYN, 64240, 0x2CA4, opts=SYN_OPTS).emit(buf)
    assert bytes(buf) == FRAMES["tcp_syn"][34:]
    # built the way tcp_transmit_skb does: header, then checksum over pseudo-header + segment
    seg = bytearray(b"\xa5" * 32) + b"hello"
    h = TcpHdr(40001, 33333, 4172159296, 23345237, TCPHDR_PSH | TCPHDR_ACK, 63,
               opts=tcp_options_write(ts=(1018142145, 2249826712)))
    h.emit(seg)
    h.check = tcp4_csum(A_IP, B_IP, seg)
    h.emit(seg)
    assert bytes(seg) == FRAMES["tcp_data"][34:]


def test_construct_with_flag_properties():
    h = TcpHdr(9001, 37366, 0, 2463146170)
    h.rst = True
    h.ack = True
    h.check = 0xB193
    assert h.flags == 0x14 and h.doff == 5
    assert h.to_bytes() == FRAMES["tcp_rst"][34:]
    h.ack = False
    assert h.flags == TCPHDR_RST


def test_linux_syn_option_layout():
    opts = tcp_options_write(mss=1460, sack_ok=True, ts=(1018142145, 0), wscale=10)
    assert opts == SYN_OPTS
    assert encode_options(opts) == FRAMES["tcp_syn"][54:74]
    assert encode_options(tcp_options_write(mss=1460, sack_ok=True, ts=(1, 0), wscale=7)).hex() == \
        "020405b40402080a00000001000000000103030" + "7"
    assert tcp_options_write(sack_ok=True) == [("nop", None), ("nop", None), ("sackOK", None)]
    assert tcp_options_write(ts=(5, 6), sack=[(1, 2)]) == [
        ("nop", None), ("nop", None), ("TS", (5, 6)), ("nop", None), ("nop", None), ("sack", [(1, 2)])]


def test_round_trip_all_fixtures():
    for label, f in FRAMES.items():
        if f[12:14] != b"\x08\x00" or f[23] != 6:
            continue
        t = TcpHdr.parse(f, 34)
        assert t.to_bytes() == f[34:34 + t.doff * 4], label
        assert TcpHdr.parse(t.to_bytes()) == t
        assert TcpHdr(t.source, t.dest, t.seq, t.ack_seq, t.flags, t.window, t.check,
                      opts=t.opts).to_bytes() == t.to_bytes(), label


def test_every_truncation_raises_wireerror():
    f = FRAMES["tcp_syn"][34:]
    for n in range(40):
        with pytest.raises(WireError) as ei:
            TcpHdr.parse(f[:n])
        assert ei.value.reason == "short"


@pytest.mark.parametrize("doff", [0, 1, 4])
def test_bad_doff(doff):
    f = bytearray(FRAMES["tcp_syn"][34:])
    f[12] = doff << 4
    with pytest.raises(WireError) as ei:
        TcpHdr.parse(f)
    assert ei.value.reason == "bad_doff"


def _with_options(raw: bytes) -> bytes:
    h = bytearray(FRAMES["tcp_ack"][34:54])
    h[12] = ((20 + len(raw)) // 4) << 4
    return bytes(h) + raw


def test_options_sack_eol_unknown_wrong_size():
    raw = (bytes([1, 1, 5, 18]) + struct.pack("!IIII", 100, 200, 300, 400)
           + bytes([76, 4, 0xAA, 0xBB]) + bytes([2, 3, 7]) + bytes([0, 1, 1, 1, 1]))
    assert len(raw) % 4 == 0
    t = TcpHdr.parse(_with_options(raw))
    assert t.opts == [("nop", None), ("nop", None), ("sack", [(100, 200), (300, 400)]),
                      ("unknown", (76, b"\xaa\xbb")), ("unknown", (2, b"\x07")), ("eol", None)]
    assert t.to_bytes()[20:] == raw            # raw bytes (after EOL too) survive round trip
    assert encode_options(t.opts) == raw[:28]          # up to and including the EOL


@pytest.mark.parametrize("raw", [
    bytes([2, 0, 0, 0]),                # length 0
    bytes([2, 1, 0, 0]),                # length 1
    bytes([1, 1, 8, 10, 0, 0, 0, 0]),   # TS overruns the header
    bytes([1, 1, 1, 2]),                # kind without a length byte
    bytes([5, 12, 0, 0, 0, 0, 0, 0]),   # SACK overruns
])
def test_malformed_options(raw):
    with pytest.raises(WireError) as ei:
        TcpHdr.parse(_with_options(raw))
    assert ei.value.reason == "bad_option"
    with pytest.raises(WireError):
        parse_options(raw)


def test_opts_setter_updates_doff_and_padding():
    t = TcpHdr.parse(FRAMES["tcp_rst"], 34)
    t.opts = [("mss", 536), ("wscale", 2)]
    assert t.options == bytes([2, 4, 2, 24, 3, 3, 2, 0]) and t.doff == 7
    with pytest.raises(WireError):
        TcpHdr(opts=[("sack", [(1, 2)] * 5)])     # 42 bytes > 40
    with pytest.raises(WireError):
        TcpHdr(options=b"\x01\x01\x01")


def test_flag_text_and_summary():
    assert tcp_flags_str(TCPHDR_SYN | TCPHDR_ACK) == "S."
    assert tcp_flags_str(0) == "none"
    assert tcp_flags_str(TCPHDR_FIN | TCPHDR_SYN | TCPHDR_RST | TCPHDR_PSH | TCPHDR_ACK | TCPHDR_URG
                         | TCPHDR_ECE | TCPHDR_CWR) == "FSRP.UEW"
    assert TcpHdr.parse(FRAMES["tcp_syn"], 34).summary() == (
        "Flags [S], seq 4172159295, win 64240, options [mss 1460,sackOK,TS val 1018142145 ecr 0,"
        "nop,wscale 10], length 0")
    assert TcpHdr.parse(FRAMES["tcp_data"], 34).summary(5) == (
        "Flags [P.], seq 4172159296:4172159301, ack 23345237, win 63, options [nop,nop,TS val "
        "1018142145 ecr 2249826712], length 5")
    assert options_str(bytes([1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2])) == ("nop,nop,sack 1 {1:2}", True)
    assert options_str(bytes([2, 3, 5, 1, 1, 0, 0, 0])) == ("mss 1281[len 3],nop,eol", True)
    assert options_str(bytes([1, 2, 0])) == ("nop,[bad opt]]", False)
    assert options_str(bytes([2, 0])) == ("[bad opt]", False)
