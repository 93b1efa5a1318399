"""net/ipv4/ip_fragment.c and net/ipv4/inet_fragment.c: IPv4 reassembly — RFC 791 §3.2,
RFC 815, RFC 1122 §3.3.2, RFC 5722 (overlaps), RFC 1858 (ipfrag_max_dist).

Queues (struct ipq) are keyed by (saddr, daddr, user, vif, id, protocol) in the Net's
``net.ipv4.fqdir``. ip_defrag() queues a fragment and, when the last hole closes,
turns the skb it was given into the whole datagram (the kernel morphs the last skb into
the head the same way) and returns 0; otherwise it returns nonzero and the skb belongs
to the queue (or was freed).

Linux's rules, kept here:
- The fragments of a queue form "runs" of contiguous fragments (inet_frag_queue_insert).
  A fragment lying entirely inside one run is a duplicate: it alone is dropped
  (SKB_DROP_REASON_DUP_FRAG) and the queue lives on. Any other overlap kills the whole
  queue (RFC 5722 spirit, errata 3089): IpExt ReasmOverlaps and Ip ReasmFails count it.
- A non-last fragment is cut down to a multiple of 8 bytes; a last fragment that ends
  before data already queued, or a second, different last fragment, kills the queue.
- Queues live ipfrag_time (30 s) from their first fragment. On expiry ip_expire counts
  ReasmFails and ReasmTimeout and, if the first fragment (offset 0) arrived, re-routes it
  and sends ICMP time exceeded / fragment reassembly time exceeded quoting it (RFC 792).
- Memory: every queued fragment's truesize (and each queue) is charged to the fqdir.
  Above ipfrag_high_thresh no fragment is accepted at all (inet_frag_find returns NULL:
  ReasmFails, -ENOMEM); since Linux 4.17 there is no LRU evictor and ipfrag_low_thresh
  is unused.
- ipfrag_max_dist: a per-source counter (inet_peer.rid) of fragments received; when more
  than max_dist other fragments from that source arrived since this queue's last one,
  the queue is flushed and restarted with this fragment (ReasmFails counted).
- The reassembled datagram may not exceed 65535 bytes (ReasmFails, -E2BIG).
- ECN codepoints of the fragments are merged by RFC 3168 §5.3 (ip_frag_ecn_table); an
  invalid mix (Not-ECT with ECT/CE) kills the queue.
"""
import bisect

from ...core.dropreason import SkbDropReason
from ...core.errno import E2BIG, EINVAL, ENOMEM, ETIMEDOUT
from ...core.skbuff import CHECKSUM_NONE, CHECKSUM_UNNECESSARY, consume_skb, kfree_skb
from ...core.timer import TimerList
from ...wire.iphdr import ip_send_check
from .inetpeer import inet_getpeer_v4, inet_putpeer, jiffies
from .ip_input import (IP_DEFRAG_LOCAL_DELIVER, IPCB, IPSKB_FRAG_COMPLETE, IPSKB_FRAG_PMTU,
                       RTN_LOCAL, InetSkbParm)

# include/net/inet_frag.h
INET_FRAG_FIRST_IN = 1
INET_FRAG_LAST_IN = 2
INET_FRAG_COMPLETE = 4
INET_FRAG_HASH_DEAD = 8
INET_FRAG_DROP = 16

IPFRAG_OK = 0
IPFRAG_DUP = 1
IPFRAG_OVERLAP = 2

IP_MF = 0x2000
IP_DF = 0x4000
IP_OFFSET = 0x1FFF
IP_MAX_DATAGRAM = 65535

IPQ_SIZE = 192                 # ~sizeof(struct ipq): charged to the fqdir per queue
FRAG_HEADROOM = 128            # room for the link header when the datagram is rebuilt

# enum ip_defrag_users (include/net/ip.h)
IP_DEFRAG_CALL_RA_CHAIN = 1
IP_DEFRAG_CONNTRACK_IN = 2
__IP_DEFRAG_CONNTRACK_IN_END = IP_DEFRAG_CONNTRACK_IN + 0xFFFF
IP_DEFRAG_AF_PACKET = __IP_DEFRAG_CONNTRACK_IN_END + 0xFFFF * 2 + 6

# RFC 3168 §5.3: ip_frag_ecn_table
IPFRAG_ECN_NOT_ECT = 0x01
IPFRAG_ECN_ECT_1 = 0x02
IPFRAG_ECN_ECT_0 = 0x04
IPFRAG_ECN_CE = 0x08
INET_ECN_CE = 3
ip_frag_ecn_table = [0] * 16
for _m in (IPFRAG_ECN_CE | IPFRAG_ECN_ECT_0, IPFRAG_ECN_CE | IPFRAG_ECN_ECT_1,
           IPFRAG_ECN_CE | IPFRAG_ECN_ECT_0 | IPFRAG_ECN_ECT_1):
    ip_frag_ecn_table[_m] = INET_ECN_CE
for _m in range(16):
    if _m & IPFRAG_ECN_NOT_ECT and _m & (IPFRAG_ECN_CE | IPFRAG_ECN_ECT_0 | IPFRAG_ECN_ECT_1):
        ip_frag_ecn_table[_m] = 0xFF
del _m

ICMP_TIME_EXCEEDED = 11
ICMP_EXC_FRAGTIME = 1


def ip4_frag_ecn(tos: int) -> int:
    return 1 << (tos & 3)


class Fqdir:
    """struct fqdir: one Net's reassembly queues and the memory they hold. The limits
    are read from net.ipv4's sysctls (the kernel points its table at the fqdir)."""

    __slots__ = ("net", "queues", "mem", "dead")

    def __init__(self, net):
        self.net = net
        self.queues = {}
        self.mem = 0
        self.dead = False


class Ipq:
    """struct ipq (with its inet_frag_queue): one datagram being reassembled.

    ``runs`` is a list of [start, end, [skb, ...]] sorted by start: the kernel's rbtree
    of fragment runs. Only the last run grows by appending."""

    __slots__ = ("fqdir", "key", "timer", "flags", "len", "meat", "max_size", "max_df_size",
                 "iif", "ecn", "rid", "peer", "runs", "stamp")

    def __init__(self, fqdir: Fqdir, key):
        self.fqdir = fqdir
        self.key = key
        self.timer = TimerList(ip_expire, self, "ip_expire")
        self.flags = 0
        self.len = 0
        self.meat = 0
        self.max_size = 0
        self.max_df_size = 0
        self.iif = 0
        self.ecn = 0
        self.rid = 0
        self.peer = None
        self.runs = []
        self.stamp = 0.0

    def __repr__(self):
        s, d, _u, _v, i, p = self.key
        return f"<ipq id={i:#x} proto={p} len={self.len} meat={self.meat} runs={len(self.runs)}>"


def ipv4_frags_init_net(net) -> None:
    net.ipv4.fqdir = Fqdir(net)


def _fqdir(net) -> Fqdir:
    fq = net.ipv4.fqdir
    if fq is None:
        fq = net.ipv4.fqdir = Fqdir(net)
    return fq


def ipfrag_init() -> None:
    """Register the pernet init (net/ipv4/ip_fragment.c ipfrag_init); idempotent."""
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    register_pernet_subsys(PernetOperations("ipv4_frags", ipv4_frags_init_net))


def frag_mem_limit(fqdir: Fqdir) -> int:
    return fqdir.mem


# --- queue life ------------------------------------------------------------------------
def inet_frag_find(fqdir: Fqdir, key):
    """Look up or create the queue; None when over ipfrag_high_thresh (or it is 0)."""
    net = fqdir.net
    high = net.ipv4.sysctl_ipfrag_high_thresh
    if not high or fqdir.mem > high or fqdir.dead:
        return None
    q = fqdir.queues.get(key)
    if q is not None:
        return q
    q = Ipq(fqdir, key)
    ip4_frag_init(q, key)
    fqdir.mem += IPQ_SIZE
    fqdir.queues[key] = q
    net.timers.mod_timer(q.timer, net.clock.now() + net.ipv4.sysctl_ipfrag_time)
    return q


def ip4_frag_init(q: Ipq, key) -> None:
    net = q.fqdir.net
    q.ecn = 0
    if net.ipv4.sysctl_ipfrag_max_dist:
        p = inet_getpeer_v4(net.ipv4.peers, key[0], key[3], jiffies(net))
        if p is not None:
            p.refcnt += 1
        q.peer = p


def ip4_frag_free(q: Ipq) -> None:
    if q.peer is not None:
        inet_putpeer(q.peer)
        q.peer = None


def inet_frag_kill(q: Ipq) -> None:
    """Unhash the queue and stop its timer; it is COMPLETE from now on."""
    fqdir = q.fqdir
    fqdir.net.timers.del_timer(q.timer)
    if not q.flags & INET_FRAG_COMPLETE:
        q.flags |= INET_FRAG_COMPLETE
        if fqdir.queues.get(q.key) is q:
            del fqdir.queues[q.key]


def inet_frag_queue_flush(q: Ipq, reason) -> int:
    """Free every queued fragment; returns their truesize."""
    total = 0
    for run in q.runs:
        for skb in run[2]:
            total += skb.truesize
            kfree_skb(skb, reason)
    q.runs = []
    return total


def inet_frag_destroy(q: Ipq) -> None:
    """The last reference went: free what is still queued (the kernel purges with
    FRAG_REASM_TIMEOUT whatever killed the queue) and uncharge the memory."""
    total = inet_frag_queue_flush(q, SkbDropReason.FRAG_REASM_TIMEOUT)
    q.fqdir.mem -= total + IPQ_SIZE
    ip4_frag_free(q)


def inet_frag_pull_head(q: Ipq):
    """Take the first fragment (offset 0) out of the queue."""
    if not q.runs:
        return None
    run = q.runs[0]
    head = run[2].pop(0)
    if run[2]:
        run[0] += head.len
    else:
        q.runs.pop(0)
    q.fqdir.mem -= head.truesize
    return head


def inet_frag_queue_insert(q: Ipq, skb, offset: int, end: int) -> int:
    """Place [offset, end) among the runs: IPFRAG_OK, IPFRAG_DUP or IPFRAG_OVERLAP."""
    runs = q.runs
    if not runs:
        runs.append([offset, end, [skb]])
        return IPFRAG_OK
    last = runs[-1]
    last_end = last[1]
    if last_end < end:
        # The common case: the fragment goes at the end.
        if offset < last_end:
            return IPFRAG_OVERLAP
        if offset == last_end:
            last[1] = end
            last[2].append(skb)
        else:
            runs.append([offset, end, [skb]])
        return IPFRAG_OK
    # Somewhere in the middle: find the run it touches, if any.
    i = bisect.bisect_right(runs, offset, key=_run_start) - 1
    for j in (i, i + 1):
        if 0 <= j < len(runs):
            r = runs[j]
            if end <= r[0] or offset >= r[1]:
                continue
            if offset >= r[0] and end <= r[1]:
                return IPFRAG_DUP
            return IPFRAG_OVERLAP
    runs.insert(i + 1, [offset, end, [skb]])
    return IPFRAG_OK


def _run_start(run):
    return run[0]


# --- ip_defrag --------------------------------------------------------------------------
def ip_frag_too_far(qp: Ipq) -> bool:
    peer = qp.peer
    net = qp.fqdir.net
    max_dist = net.ipv4.sysctl_ipfrag_max_dist
    if peer is None or not max_dist:
        return False
    start = qp.rid
    peer.rid = end = (peer.rid + 1) & 0xFFFFFFFF
    qp.rid = end
    rc = bool(qp.runs) and ((end - start) & 0xFFFFFFFF) > max_dist
    if rc:
        net.mib.Ip["ReasmFails"] += 1
    return rc


def ip_frag_reinit(qp: Ipq) -> int:
    net = qp.fqdir.net
    if not qp.timer.pending:
        return -ETIMEDOUT
    net.timers.mod_timer(qp.timer, net.clock.now() + net.ipv4.sysctl_ipfrag_time)
    total = inet_frag_queue_flush(qp, SkbDropReason.FRAG_TOO_FAR)
    qp.fqdir.mem -= total
    qp.flags = 0
    qp.len = 0
    qp.meat = 0
    qp.iif = 0
    qp.ecn = 0
    qp.max_size = 0
    qp.max_df_size = 0
    return 0


def ip_defrag(net, skb, user: int = IP_DEFRAG_LOCAL_DELIVER) -> int:
    """Queue a fragment. 0: skb is now the reassembled datagram; else it was taken."""
    net.mib.Ip["ReasmReqds"] += 1
    dev = skb.dev
    head = skb.head
    nh = skb.network_header
    key = (int.from_bytes(head[nh + 12:nh + 16], "big"), int.from_bytes(head[nh + 16:nh + 20], "big"),
           user, 0, (head[nh + 4] << 8) | head[nh + 5], head[nh + 9])
    qp = inet_frag_find(_fqdir(net), key)
    if qp is not None:
        ret = ip_frag_queue(qp, skb, dev)
        if qp.flags & INET_FRAG_COMPLETE and qp.runs is not None:
            inet_frag_destroy(qp)
            qp.runs = None
        return ret
    net.mib.Ip["ReasmFails"] += 1
    kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return -ENOMEM


def ip_frag_queue(qp: Ipq, skb, dev) -> int:
    net = qp.fqdir.net
    reason = SkbDropReason.NOT_SPECIFIED
    if qp.flags & INET_FRAG_COMPLETE:
        # Reassembly is already done: this must be a duplicate.
        kfree_skb(skb, SkbDropReason.DUP_FRAG)
        return -EINVAL
    if not IPCB(skb).flags & IPSKB_FRAG_COMPLETE and ip_frag_too_far(qp) and ip_frag_reinit(qp):
        inet_frag_kill(qp)
        kfree_skb(skb, reason)
        return -EINVAL
    head = skb.head
    nh = skb.network_header
    tos = head[nh + 1]
    ecn = ip4_frag_ecn(tos)
    frag_off = (head[nh + 6] << 8) | head[nh + 7]
    flags = frag_off & ~IP_OFFSET
    offset = (frag_off & IP_OFFSET) << 3
    ihl = (head[nh] & 0x0F) << 2
    end = offset + skb.tail - nh - ihl

    if not flags & IP_MF:
        # The last fragment: nothing may lie beyond it, and there is only one end.
        if end < qp.len or (qp.flags & INET_FRAG_LAST_IN and end != qp.len):
            return _discard_qp(qp, skb, net, reason)
        qp.flags |= INET_FRAG_LAST_IN
        qp.len = end
    else:
        if end & 7:
            end &= ~7
            if skb.ip_summed != CHECKSUM_UNNECESSARY:
                skb.ip_summed = CHECKSUM_NONE
        if end > qp.len:
            if qp.flags & INET_FRAG_LAST_IN:      # data beyond the end: corrupt
                return _discard_qp(qp, skb, net, reason)
            qp.len = end
    if end == offset:
        return _discard_qp(qp, skb, net, reason)
    # pskb_pull to the payload, trim to what counts.
    skb.data = nh + ihl
    if skb.tail > skb.data + (end - offset):
        skb.tail = skb.data + (end - offset)

    err = inet_frag_queue_insert(qp, skb, offset, end)
    if err:
        if err == IPFRAG_DUP:
            kfree_skb(skb, SkbDropReason.DUP_FRAG)
            return -EINVAL
        net.mib.IpExt["ReasmOverlaps"] += 1
        return _discard_qp(qp, skb, net, reason)

    if dev is not None:
        qp.iif = dev.ifindex
    qp.stamp = skb.tstamp
    qp.meat += skb.len
    qp.ecn |= ecn
    qp.fqdir.mem += skb.truesize
    if offset == 0:
        qp.flags |= INET_FRAG_FIRST_IN
    fragsize = skb.len + ihl
    if fragsize > qp.max_size:
        qp.max_size = fragsize
    if frag_off & IP_DF and fragsize > qp.max_df_size:
        qp.max_df_size = fragsize

    if qp.flags == INET_FRAG_FIRST_IN | INET_FRAG_LAST_IN and qp.meat == qp.len:
        err = ip_frag_reasm(qp, skb, dev)
        if err:
            inet_frag_kill(qp)
        return err
    skb._dst = None       # skb_dst_drop
    skb.sk = None
    return -115   # -EINPROGRESS


def _discard_qp(qp, skb, net, reason) -> int:
    inet_frag_kill(qp)
    net.mib.Ip["ReasmFails"] += 1
    kfree_skb(skb, reason)
    return -EINVAL


def ip_frag_reasm(qp: Ipq, skb, dev) -> int:
    """Glue the runs into one datagram in ``skb`` (morphing it, as the kernel does)."""
    net = qp.fqdir.net
    inet_frag_kill(qp)
    ecn = ip_frag_ecn_table[qp.ecn]
    if ecn == 0xFF:
        net.mib.Ip["ReasmFails"] += 1
        return -EINVAL
    first = qp.runs[0][2][0]
    fnh = first.network_header
    ihl = (first.head[fnh] & 0x0F) << 2
    length = ihl + qp.len
    if length > IP_MAX_DATAGRAM:
        net.mib.Ip["ReasmFails"] += 1       # "Oversized IP packet from ..."
        return -E2BIG
    buf = bytearray(FRAG_HEADROOM + length)
    buf[FRAG_HEADROOM:FRAG_HEADROOM + ihl] = first.head[fnh:fnh + ihl]
    pos = FRAG_HEADROOM + ihl
    ip_summed = first.ip_summed
    truesize = 0
    for run in qp.runs:
        for frag in run[2]:
            n = frag.tail - frag.data
            buf[pos:pos + n] = frag.head[frag.data:frag.tail]
            pos += n
            if frag.ip_summed != ip_summed:
                ip_summed = CHECKSUM_NONE
            truesize += frag.truesize
            if frag is not skb:
                consume_skb(frag)
    qp.runs = []
    qp.fqdir.mem -= truesize
    # skb becomes the head of the datagram.
    skb.head = buf
    skb.data = skb.network_header = FRAG_HEADROOM
    skb.transport_header = FRAG_HEADROOM + ihl
    skb.tail = skb.end = FRAG_HEADROOM + length
    skb.mac_header = -1
    skb.truesize = len(buf) + 240
    skb.ip_summed = ip_summed
    skb.dev = dev
    if first is not skb and first.cb.__class__ is InetSkbParm:
        skb.cb = first.cb.copy()      # skb_morph copies the head's control block
    cb = IPCB(skb)
    cb.frag_max_size = max(qp.max_df_size, qp.max_size)
    nh = FRAG_HEADROOM
    buf[nh + 2] = length >> 8
    buf[nh + 3] = length & 0xFF
    buf[nh + 1] |= ecn
    # A datagram whose fragments all had DF (PMTU discovery by a middlebox) keeps it.
    if qp.max_df_size == qp.max_size:
        cb.flags |= IPSKB_FRAG_PMTU
        buf[nh + 6] = IP_DF >> 8
    else:
        buf[nh + 6] = 0
    buf[nh + 7] = 0
    ip_send_check(buf, nh)
    net.mib.Ip["ReasmOKs"] += 1
    return 0


def frag_expire_skip_icmp(user: int) -> bool:
    return user == IP_DEFRAG_AF_PACKET or \
        IP_DEFRAG_CONNTRACK_IN <= user <= __IP_DEFRAG_CONNTRACK_IN_END


def ip_expire(qp: Ipq) -> None:
    """The queue's timer: time out the datagram, tell the sender if we had its start."""
    fqdir = qp.fqdir
    net = fqdir.net
    reason = SkbDropReason.FRAG_REASM_TIMEOUT
    head = None
    if fqdir.dead or qp.flags & INET_FRAG_COMPLETE:
        return
    qp.flags |= INET_FRAG_DROP
    inet_frag_kill(qp)
    net.mib.Ip["ReasmFails"] += 1
    net.mib.Ip["ReasmTimeout"] += 1
    try:
        if not qp.flags & INET_FRAG_FIRST_IN:
            return
        head = inet_frag_pull_head(qp)
        if head is None:
            return
        head.dev = net.dev_by_index.get(qp.iif)
        if head.dev is None:
            return
        # The head has no dst any more: route it again to know where the sender is.
        hh = head.head
        nh = head.network_header
        head._dst = None
        from .route import ip_route_input_noref
        err = ip_route_input_noref(head, int.from_bytes(hh[nh + 16:nh + 20], "big"),
                                   int.from_bytes(hh[nh + 12:nh + 16], "big"), hh[nh + 1], head.dev)
        if err:
            reason = head.drop_reason or SkbDropReason.NOT_SPECIFIED
            return
        # Only an end host sends "fragment reassembly time exceeded" (RFC 792).
        rt = head._dst
        if frag_expire_skip_icmp(qp.key[2]) and getattr(rt, "rt_type", RTN_LOCAL) != RTN_LOCAL:
            return
        from .icmp import icmp_send
        icmp_send(head, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0)
    finally:
        if head is not None:
            kfree_skb(head, reason)
        inet_frag_destroy(qp)
        qp.runs = None


def ip_check_defrag(net, skb, user: int):
    """AF_PACKET fanout helper: reassemble a fragment, or hand a whole datagram back."""
    head = skb.head
    nh = skb.network_header
    if not (head[nh + 6] & 0x3F or head[nh + 7]):
        return skb
    if ip_defrag(net, skb, user):
        return None
    return skb
