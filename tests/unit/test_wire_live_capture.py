"""Frames from the running Linux kernel through kstack.wire: every layer parses and re-emits
byte-identically. The live half needs root and ip(8) (tests/lib/capture_linux.py); the
stored fixture half always runs."""

import json
import os
import shutil
from pathlib import Path

import pytest

from kstack.wire.arphdr import ArpHdr
from kstack.wire.checksum import inet_csum, ip_fast_csum, tcp4_csum_verify, udp4_csum_verify
from kstack.wire.ethhdr import ETH_P_ARP, ETH_P_IP, EthHdr
from kstack.wire.icmphdr import IcmpHdr
from kstack.wire.iphdr import IP_OFFSET, IpHdr
from kstack.wire.summary import frame_summary
from kstack.wire.tcphdr import TcpHdr
from kstack.wire.udphdr import UdpHdr

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())


def reemit(frame: bytes) -> tuple[bytes, list]:
    """Parse every header of `frame`, emit them over a 0xa5 buffer, copy the payload; returns
    (bytes, [headers]). Equal to `frame` iff every layer round-trips."""
    out = bytearray(b"\xa5" * len(frame))
    hdrs = []
    eth = EthHdr.parse(frame)
    eth.emit(out, 0)
    hdrs.append(eth)
    off = 14
    if eth.h_proto == ETH_P_ARP:
        a = ArpHdr.parse(frame, off)
        a.emit(out, off)
        hdrs.append(a)
        off += a.buffer_len()
    elif eth.h_proto == ETH_P_IP:
        ip = IpHdr.parse(frame, off)
        ip.emit(out, off)
        hdrs.append(ip)
        assert ip_fast_csum(memoryview(frame)[off:off + ip.ihl * 4]) == 0
        l4 = off + ip.buffer_len()
        end = off + ip.tot_len
        seg = memoryview(frame)[l4:end]
        off = l4
        if not ip.frag_off & IP_OFFSET:
            cls = {1: IcmpHdr, 6: TcpHdr, 17: UdpHdr}.get(ip.protocol)
            if cls is not None:
                h = cls.parse(frame, l4)
                h.emit(out, l4)
                hdrs.append(h)
                off = l4 + h.buffer_len()
                if cls is TcpHdr:
                    assert tcp4_csum_verify(ip.saddr, ip.daddr, seg)
                elif cls is UdpHdr and not ip.frag_off & 0x2000:
                    assert udp4_csum_verify(ip.saddr, ip.daddr, seg)
                elif cls is IcmpHdr:
                    assert inet_csum(seg) == 0
    out[off:] = frame[off:]
    return bytes(out), hdrs


def _check(frames):
    for f in frames:
        b = bytes.fromhex(f["hex"])
        again, hdrs = reemit(b)
        assert again == b, f.get("label")
        assert len(hdrs) >= 2
        assert "[|" not in frame_summary(b), f.get("label")


def test_stored_linux_frames_round_trip():
    assert FIX["kernel"] and len(FIX["frames"]) >= 20
    _check(FIX["frames"])


@pytest.mark.root
@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("ip")),
                    reason="needs root and ip(8) to create network namespaces")
def test_live_capture_round_trip():
    from tests.lib.capture_linux import capture
    ns_before = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    frames = capture(timeout=8)
    labels = {f["label"] for f in frames}
    for need in ("arp_request", "arp_reply", "icmp_echo_request", "icmp_echo_reply", "udp", "tcp_syn",
                 "tcp_synack", "tcp_ack", "tcp_data", "tcp_fin", "ip_frag_first", "ip_frag_last",
                 "icmp_port_unreach", "udp_ipopts", "tcp_rst"):
        assert need in labels, (need, sorted(labels))
    _check(frames)
    ns_after = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    assert not {n for n in ns_after - ns_before if n.startswith("ksw")}
