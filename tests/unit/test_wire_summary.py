"""kstack.wire.summary: tcpdump -nn -S lines (print-ether.c, print-arp.c, print-ip.c,
print-icmp.c, print-udp.c, print-tcp.c). GOLDEN was checked against tcpdump 4.99.3 reading
the same frames; test_matches_tcpdump re-checks when tcpdump is installed."""

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kstack.wire.pcap import PcapWriter
from kstack.wire.summary import format_ts, frame_summary

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}

GOLDEN = {
    'arp_request': 'ARP, Request who-has 10.200.0.2 tell 10.200.0.1, length 28',
    'arp_reply': 'ARP, Reply 10.200.0.2 is-at 02:00:0a:c8:00:02, length 28',
    'icmp_echo_request': 'IP 10.200.0.1 > 10.200.0.2: ICMP echo request, id 19283, seq 1, length 64',
    'icmp_echo_reply': 'IP 10.200.0.2 > 10.200.0.1: ICMP echo reply, id 19283, seq 1, length 64',
    'udp': 'IP 10.200.0.1.40000 > 10.200.0.2.9000: UDP, length 12',
    'tcp_syn': 'IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [S], seq 4172159295, win 64240, options [mss 1460,sackOK,TS val 1018142145 ecr 0,nop,wscale 10], length 0',
    'tcp_synack': 'IP 10.200.0.2.33333 > 10.200.0.1.40001: Flags [S.], seq 23345236, ack 4172159296, win 65160, options [mss 1460,sackOK,TS val 2249826712 ecr 1018142145,nop,wscale 10], length 0',
    'tcp_ack': 'IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [.], ack 23345237, win 63, options [nop,nop,TS val 1018142145 ecr 2249826712], length 0',
    'tcp_data': 'IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [P.], seq 4172159296:4172159301, ack 23345237, win 63, options [nop,nop,TS val 1018142145 ecr 2249826712], length 5',
    'tcp_ack_2': 'IP 10.200.0.2.33333 > 10.200.0.1.40001: Flags [.], ack 4172159301, win 64, options [nop,nop,TS val 2249826712 ecr 1018142145], length 0',
    'tcp_data_2': 'IP 10.200.0.2.33333 > 10.200.0.1.40001: Flags [P.], seq 23345237:23345248, ack 4172159301, win 64, options [nop,nop,TS val 2249826712 ecr 1018142145], length 11',
    'tcp_ack_3': 'IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [.], ack 23345248, win 63, options [nop,nop,TS val 1018142145 ecr 2249826712], length 0',
    'tcp_fin': 'IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [F.], seq 4172159301, ack 23345248, win 63, options [nop,nop,TS val 1018142145 ecr 2249826712], length 0',
    'tcp_fin_2': 'IP 10.200.0.2.33333 > 10.200.0.1.40001: Flags [F.], seq 23345248, ack 4172159302, win 64, options [nop,nop,TS val 2249826712 ecr 1018142145], length 0',
    'tcp_ack_4': 'IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [.], ack 23345249, win 63, options [nop,nop,TS val 1018142145 ecr 2249826712], length 0',
    'ip_frag_first': 'IP 10.200.0.1.40000 > 10.200.0.2.9000: UDP, length 3000',
    'ip_frag_middle': 'IP 10.200.0.1 > 10.200.0.2: ip-proto-17',
    'ip_frag_last': 'IP 10.200.0.1 > 10.200.0.2: ip-proto-17',
    'udp_2': 'IP 10.200.0.1.40000 > 10.200.0.2.9001: UDP, length 7',
    'icmp_port_unreach': 'IP 10.200.0.2 > 10.200.0.1: ICMP 10.200.0.2 udp port 9001 unreachable, length 43',
    'udp_ipopts': 'IP 10.200.0.1.50093 > 10.200.0.2.9000: UDP, length 4',
    'tcp_syn_2': 'IP 10.200.0.1.37366 > 10.200.0.2.9001: Flags [S], seq 2463146169, win 64240, options [mss 1460,sackOK,TS val 628546318 ecr 0,nop,wscale 10], length 0',
    'tcp_rst': 'IP 10.200.0.2.9001 > 10.200.0.1.37366: Flags [R.], seq 0, ack 2463146170, win 0, length 0',
}


def test_golden_lines():
    assert set(GOLDEN) == set(FRAMES)
    for label, line in GOLDEN.items():
        assert frame_summary(FRAMES[label]) == line, label


def test_timestamp_and_ext_prefix():
    f = FRAMES["tcp_syn"]
    assert format_ts(1700000000.000001) == "22:13:20.000001"
    assert frame_summary(f, ts=1700000000.000001).startswith("22:13:20.000001 IP 10.200.0.1.40001 > ")
    assert frame_summary(f, ext=True).startswith(
        "02:00:0a:c8:00:01 > 02:00:0a:c8:00:02, ethertype IPv4 (0x0800), length 74: 10.200.0.1.40001 > "
        "10.200.0.2.33333: Flags [S], seq 4172159295")
    assert frame_summary(FRAMES["arp_request"], ext=True) == (
        "02:00:0a:c8:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: "
        "Request who-has 10.200.0.2 tell 10.200.0.1, length 28")


def test_raw_link_starts_at_ip():
    assert frame_summary(FRAMES["udp"][14:], link="raw") == GOLDEN["udp"]


def test_vlan_tag():
    f = FRAMES["tcp_syn"]
    tagged = f[:12] + b"\x81\x00\x20\x05" + f[12:]
    assert frame_summary(tagged) == GOLDEN["tcp_syn"]
    assert frame_summary(tagged, ext=True).startswith(
        "02:00:0a:c8:00:01 > 02:00:0a:c8:00:02, ethertype 802.1Q (0x8100), length 78: vlan 5, p 1, "
        "ethertype IPv4 (0x0800), 10.200.0.1.40001 > ")


def _set(b, i, v, fmt="!B"):
    b = bytearray(b)
    struct.pack_into(fmt, b, i, v)
    return bytes(b)


MALFORMED = {
    "short_ether": (FRAMES["tcp_syn"][:10], " [|ether]"),
    "no_ip": (FRAMES["tcp_syn"][:14], " [|ip]"),
    "short_ip": (FRAMES["tcp_syn"][:24], "IP  [|ip]"),
    "ip6_in_ip": (_set(FRAMES["tcp_syn"], 14, 0x65), "IP6, wrong link-layer encapsulation (invalid)"),
    "bad_ihl": (_set(FRAMES["tcp_syn"], 14, 0x43), "IP bad-hlen 12"),
    "bad_len": (_set(FRAMES["tcp_syn"], 16, 12, "!H"), "IP bad-len 12"),
    "trunc_udp": (FRAMES["udp"][:40], "IP truncated-ip - 14 bytes missing! 10.200.0.1.40000 > 10.200.0.2.9000:  [|udp]"),
    "trunc_icmp": (FRAMES["icmp_echo_request"][:39], "IP truncated-ip - 59 bytes missing! 10.200.0.1 > 10.200.0.2:  [|icmp]"),
    "short_arp": (FRAMES["arp_request"][:30], " [|arp]"),
    "udp_bad_len": (_set(FRAMES["udp"], 38, 100, "!H"), "IP 10.200.0.1.40000 > 10.200.0.2.9000: UDP, bad length 92 > 12"),
    "tcp_doff_short": (_set(FRAMES["tcp_syn"], 46, 0x30), "IP 10.200.0.1.40001 > 10.200.0.2.33333:  tcp 28 [bad hdr length 12 - too short, < 20]"),
    "tcp_doff_long": (_set(FRAMES["tcp_syn"], 46, 0xF0), "IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [S] [bad hdr length 60 - too long, > 40]"),
    "tcp_bad_opt": (_set(FRAMES["tcp_syn"], 55, 0), "IP 10.200.0.1.40001 > 10.200.0.2.33333: Flags [S], seq 4172159295, win 64240, options [[bad opt]"),
    "tcp_trunc_opt": (FRAMES["tcp_syn"][:60], "IP truncated-ip - 14 bytes missing! 10.200.0.1.40001 > 10.200.0.2.33333: Flags [S], seq 4172159295, win 64240, options [mss 1460,sackOK, [|tcp]"),
    "proto_99": (_set(FRAMES["udp"], 23, 99), "IP 10.200.0.1 > 10.200.0.2:  ip-proto-99 20"),
    "unknown_ethertype": (_set(FRAMES["udp"], 12, 0x1234, "!H"), "02:00:0a:c8:00:01 > 02:00:0a:c8:00:02, ethertype Unknown (0x1234), length 54: "),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_markers(name):
    frame, line = MALFORMED[name]
    assert frame_summary(frame) == line


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["eth", "raw"]), st.booleans())
def test_garbage_never_raises(b, link, ext):
    assert isinstance(frame_summary(b, 0.5, link, ext), str)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted(FRAMES)), st.data())
def test_mutated_frames_never_raise(label, data):
    b = bytearray(FRAMES[label])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(b)))
    assert isinstance(frame_summary(bytes(b[:cut]), ext=data.draw(st.booleans())), str)


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_matches_tcpdump(tmp_path):
    frames = list(FRAMES.values()) + [m[0] for m in MALFORMED.values()]
    p = tmp_path / "x.pcap"
    with open(p, "wb") as fobj:
        w = PcapWriter(fobj)
        for i, f in enumerate(frames):
            w.write(1700000000 + i + i / 1e6, f)
    for ext in (False, True):
        out = subprocess.run(["tcpdump", "-nn", "-S", "-r", str(p)] + (["-e"] if ext else []),
                             capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, TZ="UTC")).stdout.splitlines()
        lines = [l for l in out if l[:1].isdigit()]        # drop hex-dump continuation lines
        assert len(lines) == len(frames)
        for i, (f, theirs) in enumerate(zip(frames, lines)):
            assert frame_summary(f, 1700000000 + i + i / 1e6, ext=ext) == theirs
