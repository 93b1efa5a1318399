"""kstack.wire.iphdr on IPv4 headers captured from Linux (include/uapi/linux/ip.h, RFC 791)."""

import json
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.checksum import ip_fast_csum
from kstack.wire.inet import in_aton
from kstack.wire.iphdr import (
    IP_DF, IP_MF, IP_OFFSET, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IpHdr, ip_is_fragment, ip_send_check,
)

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}
A_IP, B_IP = in_aton("10.200.0.1"), in_aton("10.200.0.2")


def test_deconstruct():
    ip = IpHdr.parse(FRAMES["icmp_echo_request"], 14)
    assert (ip.version, ip.ihl, ip.tos, ip.tot_len, ip.id) == (4, 5, 0, 84, 20935)
    assert ip.frag_off == IP_DF and ip.df and not ip.mf and ip.frag_offset == 0
    assert (ip.ttl, ip.protocol, ip.check) == (64, IPPROTO_ICMP, 0xD34F)
    assert (ip.saddr, ip.daddr) == (A_IP, B_IP) == (0x0AC80001, 0x0AC80002)
    assert ip.options == b"" and ip.buffer_len() == 20 and ip.payload_len() == 64


def test_deconstruct_icmp_error_tos_and_no_df():
    ip = IpHdr.parse(FRAMES["icmp_port_unreach"], 14)
    assert (ip.tos, ip.frag_off, ip.protocol, ip.tot_len, ip.id) == (0xC0, 0, IPPROTO_ICMP, 63, 20010)
    assert (ip.saddr, ip.daddr) == (B_IP, A_IP)


def test_deconstruct_options_skipped_per_ihl():
    f = FRAMES["udp_ipopts"]
    ip = IpHdr.parse(f, 14)
    assert ip.ihl == 8 and ip.buffer_len() == 32 and ip.tot_len == 44
    # record route: type 7, len 11, pointer 8 (Linux filled slot 1 with its own address), EOL pad
    assert ip.options == bytes.fromhex("070b080ac800010000000000")
    assert ip.protocol == IPPROTO_UDP and f[14 + 32:14 + 34] == (50093).to_bytes(2, "big")


def test_deconstruct_fragments():
    first = IpHdr.parse(FRAMES["ip_frag_first"], 14)
    mid = IpHdr.parse(FRAMES["ip_frag_middle"], 14)
    last = IpHdr.parse(FRAMES["ip_frag_last"], 14)
    assert first.id == mid.id == last.id == 50433
    assert (first.frag_off, first.mf, first.frag_offset, first.tot_len) == (IP_MF, True, 0, 1500)
    assert (mid.frag_off, mid.mf, mid.frag_offset, mid.tot_len) == (0x20B9, True, 1480, 1500)
    assert (last.frag_off, last.mf, last.frag_offset, last.tot_len) == (0x0172, False, 2960, 68)
    assert all(h.is_fragment() and ip_is_fragment(h.frag_off) for h in (first, mid, last))
    assert not ip_is_fragment(IP_DF)
    assert first.payload_len() + mid.payload_len() + last.payload_len() == 3008   # UDP 8 + 3000


def test_construct():
    buf = bytearray(b"\xa5" * 20)
    IpHdr(saddr=A_IP, daddr=B_IP, protocol=IPPROTO_TCP, tot_len=60, id=41686, frag_off=IP_DF,
          ttl=64, check=0x8253).emit(buf)
    assert bytes(buf) == FRAMES["tcp_syn"][14:34]
    buf = bytearray(b"\xa5" * 40)
    h = IpHdr(saddr=A_IP, daddr=B_IP, protocol=IPPROTO_UDP, tot_len=44, id=50439, frag_off=IP_DF,
              options=bytes.fromhex("070b080ac8000100000000"))       # 11 bytes: padded with IPOPT_END
    assert h.ihl == 8
    h.fill_check()
    h.emit(buf, 4)
    assert bytes(buf[4:36]) == FRAMES["udp_ipopts"][14:46] and buf[:4] == buf[36:] == b"\xa5" * 4


def test_round_trip_all_fixtures():
    for label, f in FRAMES.items():
        if f[12:14] != b"\x08\x00":
            continue
        ip = IpHdr.parse(f, 14)
        assert ip.to_bytes() == f[14:14 + ip.ihl * 4], label
        assert IpHdr.parse(ip.to_bytes()) == ip
        assert ip.verify_check(), label


def test_every_truncation_raises_wireerror():
    for label in ("udp_ipopts", "tcp_syn"):
        f = FRAMES[label][14:]
        hl = (f[0] & 15) * 4
        for n in range(hl):
            with pytest.raises(WireError) as ei:
                IpHdr.parse(f[:n])
            assert ei.value.reason == "short"
        IpHdr.parse(f[:hl])          # the header alone is enough: tot_len is the caller's check


@pytest.mark.parametrize("byte0,reason", [(0x65, "bad_version"), (0x05, "bad_version"),
                                          (0x44, "bad_ihl"), (0x40, "bad_ihl"), (0x4F, "short")])
def test_malformed(byte0, reason):
    f = bytearray(FRAMES["udp"][14:])          # 40 bytes: ihl 15 would need 60
    f[0] = byte0
    with pytest.raises(WireError) as ei:
        IpHdr.parse(f)
    assert ei.value.reason == reason


def test_tot_len_smaller_than_header():
    f = bytearray(FRAMES["udp_ipopts"][14:])
    f[2:4] = (31).to_bytes(2, "big")
    with pytest.raises(WireError) as ei:
        IpHdr.parse(f)
    assert ei.value.reason == "bad_len"


def test_ip_send_check_and_fill_check():
    f = bytearray(FRAMES["icmp_echo_reply"])
    f[24:26] = b"\x00\x00"
    assert ip_send_check(f, 14) == 0x170B and bytes(f) == FRAMES["icmp_echo_reply"]
    h = IpHdr(saddr=A_IP, daddr=B_IP, protocol=1, tot_len=84)
    assert h.check == 0 and not h.verify_check()
    h.fill_check()
    assert ip_fast_csum(h.to_bytes()) == 0


def test_summary_is_tcpdump_v():
    assert IpHdr.parse(FRAMES["tcp_syn"], 14).summary() == (
        "IP (tos 0x0, ttl 64, id 41686, offset 0, flags [DF], proto TCP (6), length 60) "
        "10.200.0.1 > 10.200.0.2")
    assert IpHdr.parse(FRAMES["ip_frag_middle"], 14).summary().startswith(
        "IP (tos 0x0, ttl 64, id 50433, offset 1480, flags [+], proto UDP (17), length 1500)")
    assert "flags [none]" in IpHdr.parse(FRAMES["icmp_port_unreach"], 14).summary()
    assert IP_OFFSET == 0x1FFF
