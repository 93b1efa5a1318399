"""net/ipv4/ip_fragment.py: reassembly queues, Linux's overlap/duplicate rules, limits, expiry.

Fragments are hand-built and fed to ip_defrag() as ip_local_deliver would (skb.data at
the IP header, IPCB set); the clock is the Net's FakeClock.
"""
import pytest

from kstack.core.dropreason import SkbDropReason
from kstack.core.errno import E2BIG, EINVAL, ENOMEM
from kstack.core.skbuff import SkBuff
from kstack.core.sysctl import sysctl_set
from kstack.net.ipv4.ip_fragment import INET_FRAG_FIRST_IN, ip_defrag
from kstack.net.ipv4.ip_input import IPSKB_FRAG_PMTU, InetSkbParm
from kstack.wire.checksum import ip_fast_csum
from kstack.wire.iphdr import IpHdr
from tests.lib.hosts import ip_net

SRC = 0x0A000001
DST = 0x0A000002
EINPROGRESS = 115


@pytest.fixture
def net():
    return ip_net("frag")


def frag(net, ident, offset, payload, mf, proto=17, tos=0, df=False, saddr=SRC, daddr=DST):
    assert offset % 8 == 0
    fo = (offset >> 3) | (0x2000 if mf else 0) | (0x4000 if df else 0)
    ip = IpHdr(saddr=saddr, daddr=daddr, protocol=proto, tot_len=20 + len(payload), id=ident,
               frag_off=fo, tos=tos)
    ip.fill_check()
    raw = ip.to_bytes() + bytes(payload)
    skb = SkBuff(bytearray(64) + raw, 64, 64 + len(raw))
    skb.network_header = 64
    skb.transport_header = 84
    skb.dev = net.loopback_dev
    skb.cb = InetSkbParm(skb.dev.ifindex)
    return skb


def payload(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def ip(net):
    return net.mib.Ip


def test_in_order_reassembly(net):
    data = payload(3000)
    a = frag(net, 1, 0, data[:1480], True)
    b = frag(net, 1, 1480, data[1480:2960], True)
    c = frag(net, 1, 2960, data[2960:], False)
    assert ip_defrag(net, a) == -EINPROGRESS
    assert ip_defrag(net, b) == -EINPROGRESS
    assert ip_defrag(net, c) == 0
    # c is now the whole datagram, header first.
    hdr = IpHdr.parse(c.head, c.network_header)
    assert hdr.tot_len == 3020 and hdr.frag_off == 0 and hdr.id == 1
    assert ip_fast_csum(c.head[c.network_header:c.network_header + 20]) == 0
    assert c.data == c.network_header and c.transport_header == c.network_header + 20
    assert bytes(c.head[c.transport_header:c.tail]) == data
    assert (ip(net)["ReasmReqds"], ip(net)["ReasmOKs"], ip(net)["ReasmFails"]) == (3, 1, 0)
    assert net.ipv4.fqdir.queues == {} and net.ipv4.fqdir.mem == 0
    assert net.drop_reasons == {}
    assert not net.timers.pending_timers()


def test_out_of_order_and_middle_first(net):
    data = payload(4000, 3)
    parts = [(0, 1480, True), (1480, 2960, True), (2960, 4000, False)]
    skbs = [frag(net, 9, o, data[o:e], mf) for o, e, mf in parts]
    assert ip_defrag(net, skbs[1]) == -EINPROGRESS
    assert ip_defrag(net, skbs[2]) == -EINPROGRESS
    assert ip_defrag(net, skbs[0]) == 0
    s = skbs[0]
    assert bytes(s.head[s.transport_header:s.tail]) == data


def test_duplicate_is_dropped_alone(net):
    data = payload(2000)
    assert ip_defrag(net, frag(net, 2, 0, data[:1000], True)) == -EINPROGRESS
    dup = frag(net, 2, 0, data[:1000], True)
    assert ip_defrag(net, dup) == -EINVAL
    assert net.drop_reasons == {SkbDropReason.DUP_FRAG: 1}
    # A fragment lying inside a run is a duplicate too, even if shorter.
    assert ip_defrag(net, frag(net, 2, 8, data[8:800], True)) == -EINVAL
    assert net.drop_reasons == {SkbDropReason.DUP_FRAG: 2}
    assert ip(net)["ReasmFails"] == 0 and ip(net)["ReasmOKs"] == 0
    last = frag(net, 2, 1000, data[1000:], False)
    assert ip_defrag(net, last) == 0
    assert bytes(last.head[last.transport_header:last.tail]) == data


def test_overlap_kills_the_queue(net):
    data = payload(3000)
    assert ip_defrag(net, frag(net, 3, 0, data[:1000], True)) == -EINPROGRESS
    assert ip_defrag(net, frag(net, 3, 2000, data[2000:], False)) == -EINPROGRESS
    # [800, 1800) overlaps the first run without being inside it (RFC 5722).
    assert ip_defrag(net, frag(net, 3, 800, data[800:1800], True)) == -EINVAL
    assert net.mib.IpExt["ReasmOverlaps"] == 1 and ip(net)["ReasmFails"] == 1
    assert net.drop_reasons == {SkbDropReason.NOT_SPECIFIED: 1, SkbDropReason.FRAG_REASM_TIMEOUT: 2}
    assert net.ipv4.fqdir.queues == {} and net.ipv4.fqdir.mem == 0
    assert not net.timers.pending_timers()
    # The same id starts a fresh queue afterwards.
    assert ip_defrag(net, frag(net, 3, 1000, data[1000:2000], True)) == -EINPROGRESS
    assert len(net.ipv4.fqdir.queues) == 1


def test_overlap_at_the_tail(net):
    data = payload(3000)
    ip_defrag(net, frag(net, 4, 0, data[:1480], True))
    assert ip_defrag(net, frag(net, 4, 1472, data[1472:], False)) == -EINVAL
    assert net.mib.IpExt["ReasmOverlaps"] == 1


def test_adjacent_runs_are_separate_so_spanning_both_is_an_overlap(net):
    data = payload(64)
    ip_defrag(net, frag(net, 5, 0, data[:8], True))
    ip_defrag(net, frag(net, 5, 32, data[32:40], True))      # a new run at the tail
    ip_defrag(net, frag(net, 5, 8, data[8:16], True))        # a middle run of its own
    # [0, 16) covers two runs: not a duplicate of either -> overlap.
    assert ip_defrag(net, frag(net, 5, 0, data[:16], True)) == -EINVAL
    assert net.mib.IpExt["ReasmOverlaps"] == 1


def test_non_last_fragment_cut_to_eight_bytes(net):
    data = payload(100)
    a = frag(net, 6, 0, data[:45], True)        # 45 bytes: only 40 count
    assert ip_defrag(net, a) == -EINPROGRESS
    assert a.len == 40
    last = frag(net, 6, 40, data[40:], False)
    assert ip_defrag(net, last) == 0
    assert bytes(last.head[last.transport_header:last.tail]) == data


def test_two_different_ends_discard(net):
    ip_defrag(net, frag(net, 7, 8, payload(8), False))
    assert ip_defrag(net, frag(net, 7, 16, payload(8), False)) == -EINVAL
    assert ip(net)["ReasmFails"] == 1 and net.mib.IpExt["ReasmOverlaps"] == 0
    assert net.ipv4.fqdir.queues == {}


def test_data_beyond_the_end_discards(net):
    ip_defrag(net, frag(net, 8, 8, payload(8), False))
    assert ip_defrag(net, frag(net, 8, 16, payload(8), True)) == -EINVAL
    assert ip(net)["ReasmFails"] == 1


def test_empty_fragment_discards(net):
    ip_defrag(net, frag(net, 10, 8, payload(8), True))
    assert ip_defrag(net, frag(net, 10, 64, b"", True)) == -EINVAL
    assert ip(net)["ReasmFails"] == 1


def test_oversized_datagram(net):
    chunk = payload(1480)
    off = 0
    r = None
    while off < 64000:
        r = ip_defrag(net, frag(net, 11, off, chunk, True))
        assert r == -EINPROGRESS
        off += 1480
    # Offset 65512 + 100 bytes: 65632 > 65535.
    r = ip_defrag(net, frag(net, 11, 65512, payload(100), False))
    assert r == -EINPROGRESS     # a hole remains at [64380, 65512)
    fill = frag(net, 11, off, payload(65512 - off), True)
    assert ip_defrag(net, fill) == -E2BIG
    assert ip(net)["ReasmFails"] == 1 and ip(net)["ReasmOKs"] == 0
    assert net.ipv4.fqdir.queues == {} and net.ipv4.fqdir.mem == 0


def test_queues_are_keyed_by_protocol_and_addresses(net):
    ip_defrag(net, frag(net, 12, 0, payload(8), True, proto=17))
    ip_defrag(net, frag(net, 12, 0, payload(8), True, proto=6))
    ip_defrag(net, frag(net, 12, 0, payload(8), True, saddr=SRC + 1))
    assert len(net.ipv4.fqdir.queues) == 3


def test_memory_limit_refuses_fragments(net):
    assert sysctl_set(net, "net.ipv4.ipfrag_low_thresh", "0") == 0
    assert sysctl_set(net, "net.ipv4.ipfrag_high_thresh", "300") == 0
    assert ip_defrag(net, frag(net, 13, 0, payload(8), True)) == -EINPROGRESS
    assert net.ipv4.fqdir.mem > 300
    # Over high_thresh nothing is accepted, not even for an existing queue.
    assert ip_defrag(net, frag(net, 13, 8, payload(8), False)) == -ENOMEM
    assert ip(net)["ReasmFails"] == 1
    assert net.drop_reasons == {SkbDropReason.NOT_SPECIFIED: 1}


def test_timeout_without_first_fragment(net):
    ip_defrag(net, frag(net, 14, 8, payload(8), True))
    ip_defrag(net, frag(net, 14, 24, payload(8), False))
    net.clock.advance(29.9)
    net.run_timers()
    assert ip(net)["ReasmTimeout"] == 0
    net.clock.advance(0.2)
    net.run_timers()
    assert (ip(net)["ReasmTimeout"], ip(net)["ReasmFails"]) == (1, 1)
    assert net.drop_reasons == {SkbDropReason.FRAG_REASM_TIMEOUT: 2}
    assert net.mib.Icmp["OutMsgs"] == 0       # no ICMP without the first fragment
    assert net.ipv4.fqdir.queues == {} and net.ipv4.fqdir.mem == 0


def test_ipfrag_time_is_read_at_queue_creation(net):
    sysctl_set(net, "net.ipv4.ipfrag_time", "5")
    ip_defrag(net, frag(net, 15, 8, payload(8), True))
    net.clock.advance(5.0)
    net.run_timers()
    assert ip(net)["ReasmTimeout"] == 1


def test_ecn_merge_rfc3168(net):
    data = payload(16)
    ip_defrag(net, frag(net, 16, 0, data[:8], True, tos=0x02))        # ECT(0)
    last = frag(net, 16, 8, data[8:], False, tos=0x03)                # CE
    assert ip_defrag(net, last) == 0
    assert last.head[last.network_header + 1] & 3 == 3
    # Not-ECT mixed with ECT: invalid, the datagram is dropped.
    ip_defrag(net, frag(net, 17, 0, data[:8], True, tos=0x00))
    assert ip_defrag(net, frag(net, 17, 8, data[8:], False, tos=0x02)) == -EINVAL
    assert ip(net)["ReasmFails"] == 1 and ip(net)["ReasmOKs"] == 1


def test_all_df_fragments_keep_df_and_frag_max_size(net):
    data = payload(100)
    ip_defrag(net, frag(net, 18, 0, data[:64], True, df=True))
    last = frag(net, 18, 64, data[64:], False, df=True)
    assert ip_defrag(net, last) == 0
    assert last.head[last.network_header + 6] & 0x40
    assert last.cb.flags & IPSKB_FRAG_PMTU and last.cb.frag_max_size == 84
    # The largest fragment without DF: cleared (only max_df_size == max_size keeps it).
    ip_defrag(net, frag(net, 19, 0, data[:64], True))
    last = frag(net, 19, 64, data[64:], False, df=True)
    assert ip_defrag(net, last) == 0
    assert not last.head[last.network_header + 6] & 0x40
    assert not last.cb.flags & IPSKB_FRAG_PMTU


def test_max_dist_restarts_a_stale_queue(net):
    data = payload(16)
    ip_defrag(net, frag(net, 20, 0, data[:8], True))
    # 65 fragments of other datagrams from the same source in between (> ipfrag_max_dist 64).
    for i in range(65):
        ip_defrag(net, frag(net, 100 + i, 8, b"x" * 8, True))
    fails = ip(net)["ReasmFails"]
    last = frag(net, 20, 8, data[8:], False)
    # The old first fragment was flushed (FRAG_TOO_FAR): no reassembly now.
    assert ip_defrag(net, last) == -EINPROGRESS
    assert ip(net)["ReasmFails"] == fails + 1
    assert net.drop_reasons.get(SkbDropReason.FRAG_TOO_FAR) == 1
    q = net.ipv4.fqdir.queues[(SRC, DST, 0, 0, 20, 17)]
    assert not q.flags & INET_FRAG_FIRST_IN and q.meat == 8


def test_max_dist_zero_disables_the_check(net):
    sysctl_set(net, "net.ipv4.ipfrag_max_dist", "0")
    data = payload(16)
    ip_defrag(net, frag(net, 21, 0, data[:8], True))
    for i in range(100):
        ip_defrag(net, frag(net, 200 + i, 8, b"x" * 8, True))
    assert ip_defrag(net, frag(net, 21, 8, data[8:], False)) == 0
