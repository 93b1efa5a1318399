"""net/core/skbuff.c, include/linux/skbuff.h: the socket buffer.

An SkBuff is a window [data, tail) into one bytearray ``head`` with room in
front (headroom) for lower layers to skb_push their headers without copying
the payload. Offsets play the kernel's pointers: skb.data, skb.tail, skb.end
are ints, and network_header/transport_header/mac_header are offsets into
head. skb_clone shares head (copy-on-write is the caller's business: a clone
that will be pushed into gets skb_copy).
"""
from collections import deque

from .dropreason import SkbDropReason

# ip_summed values (include/linux/skbuff.h)
CHECKSUM_NONE = 0
CHECKSUM_UNNECESSARY = 1
CHECKSUM_COMPLETE = 2
CHECKSUM_PARTIAL = 3

# pkt_type values (include/uapi/linux/if_packet.h)
PACKET_HOST = 0
PACKET_BROADCAST = 1
PACKET_MULTICAST = 2
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4
PACKET_LOOPBACK = 5

MAX_HEADER = 128  # room for link + IP + TCP headers with options


class SkBuff:
    __slots__ = (
        "head", "data", "tail", "end",
        "mac_header", "network_header", "transport_header",
        "dev", "sk", "protocol", "pkt_type", "ip_summed", "priority",
        "mark", "tstamp", "_dst", "cb", "destructor", "next", "truesize",
        "nfct", "skb_iif", "gso_size", "users", "drop_reason", "ignore_df",
    )

    def __init__(self, head: bytearray, data: int = 0, tail: int = 0):
        self.head = head
        self.data = data
        self.tail = tail
        self.end = end = len(head)
        self.mac_header = -1
        self.network_header = -1
        self.transport_header = -1
        self.dev = None
        self.sk = None
        self.protocol = 0
        self.pkt_type = PACKET_HOST
        self.ip_summed = CHECKSUM_NONE
        self.priority = 0
        self.mark = 0
        self.tstamp = 0.0
        self._dst = None
        self.cb = None          # per-layer control block (TCP_SKB_CB, IPCB, ...)
        self.destructor = None
        self.next = None
        self.truesize = end + 240        # sizeof(struct sk_buff) ~ 240 bytes
        self.nfct = None
        self.skb_iif = 0
        self.gso_size = 0
        self.users = 1
        self.drop_reason = 0
        self.ignore_df = False

    # --- views -------------------------------------------------------------
    @property
    def len(self) -> int:
        return self.tail - self.data

    def __len__(self) -> int:
        return self.tail - self.data

    def view(self) -> memoryview:
        """The bytes [data, tail) without a copy."""
        return memoryview(self.head)[self.data:self.tail]

    def tobytes(self) -> bytes:
        return bytes(self.head[self.data:self.tail])

    def headroom(self) -> int:
        return self.data

    def tailroom(self) -> int:
        return self.end - self.tail

    def network_view(self) -> memoryview:
        return memoryview(self.head)[self.network_header:self.tail]

    def transport_view(self) -> memoryview:
        return memoryview(self.head)[self.transport_header:self.tail]

    def __repr__(self):
        return f"<sk_buff len={self.len} proto=0x{self.protocol:04x} dev={getattr(self.dev, 'name', None)}>"


def alloc_skb(size: int, headroom: int = 0) -> SkBuff:
    """A buffer of headroom+size bytes, empty, data at headroom."""
    return SkBuff(bytearray(headroom + size), headroom, headroom)


def skb_from_bytes(frame, headroom: int = 0) -> SkBuff:
    """A received frame as an skb (drivers: netdev_alloc_skb + copy)."""
    if headroom:
        head = bytearray(headroom) + frame
    else:
        head = bytearray(frame)
    return SkBuff(head, headroom, len(head))


def skb_reserve(skb: SkBuff, n: int) -> None:
    skb.data += n
    skb.tail += n


def skb_put(skb: SkBuff, n: int) -> int:
    """Extend the data at the tail by n bytes; returns the old tail offset."""
    old = skb.tail
    if old + n > skb.end:
        skb.head.extend(bytes(old + n - skb.end))
        skb.end = len(skb.head)
    skb.tail = old + n
    return old


def skb_put_data(skb: SkBuff, data) -> int:
    off = skb_put(skb, len(data))
    skb.head[off:off + len(data)] = data
    return off


def skb_push(skb: SkBuff, n: int) -> int:
    """Prepend n bytes of header room to the data; returns the new data offset."""
    if skb.data < n:
        # Out of headroom: grow the front (pskb_expand_head).
        grow = n - skb.data + 32
        skb.head[0:0] = bytes(grow)
        skb.data += grow
        skb.tail += grow
        skb.end = len(skb.head)
        for f in ("mac_header", "network_header", "transport_header"):
            v = getattr(skb, f)
            if v >= 0:
                setattr(skb, f, v + grow)
    skb.data -= n
    return skb.data


def skb_pull(skb: SkBuff, n: int):
    """Drop n bytes from the front; returns the new data offset or None if short."""
    if n > skb.tail - skb.data:
        return None
    skb.data += n
    return skb.data


def pskb_may_pull(skb: SkBuff, n: int) -> bool:
    return skb.tail - skb.data >= n


def skb_trim(skb: SkBuff, length: int) -> None:
    if skb.tail - skb.data > length:
        skb.tail = skb.data + length


def skb_reset_network_header(skb: SkBuff) -> None:
    skb.network_header = skb.data


def skb_reset_transport_header(skb: SkBuff) -> None:
    skb.transport_header = skb.data


def skb_reset_mac_header(skb: SkBuff) -> None:
    skb.mac_header = skb.data


def skb_network_offset(skb: SkBuff) -> int:
    return skb.network_header - skb.data


def _copy_meta(n: SkBuff, skb: SkBuff) -> SkBuff:
    n.mac_header = skb.mac_header
    n.network_header = skb.network_header
    n.transport_header = skb.transport_header
    n.dev = skb.dev
    n.protocol = skb.protocol
    n.pkt_type = skb.pkt_type
    n.ip_summed = skb.ip_summed
    n.priority = skb.priority
    n.mark = skb.mark
    n.tstamp = skb.tstamp
    n._dst = skb._dst
    n.cb = skb.cb.copy() if hasattr(skb.cb, "copy") else skb.cb
    n.skb_iif = skb.skb_iif
    n.gso_size = skb.gso_size
    return n


def skb_clone(skb: SkBuff) -> SkBuff:
    """A new sk_buff sharing the same data buffer (no sk, no destructor)."""
    n = SkBuff(skb.head, skb.data, skb.tail)
    n.end = skb.end
    return _copy_meta(n, skb)


def skb_copy(skb: SkBuff) -> SkBuff:
    """A private copy of header and data."""
    n = SkBuff(bytearray(skb.head), skb.data, skb.tail)
    return _copy_meta(n, skb)


def skb_dst(skb: SkBuff):
    return skb._dst


def skb_dst_set(skb: SkBuff, dst) -> None:
    skb._dst = dst


def skb_orphan(skb: SkBuff) -> None:
    if skb.destructor is not None:
        d, skb.destructor = skb.destructor, None
        d(skb)
    skb.sk = None


def _net_of(skb: SkBuff):
    dev = skb.dev
    if dev is not None:
        return dev.nd_net
    sk = skb.sk
    if sk is not None:
        return getattr(sk, "sk_net", None)
    return None


def kfree_skb(skb: SkBuff, reason: int = SkbDropReason.NOT_SPECIFIED) -> None:
    """Free a dropped skb: the reason is counted per namespace (drop monitor)."""
    skb.drop_reason = int(reason)
    net = _net_of(skb)   # before skb_orphan clears skb.sk
    skb_orphan(skb)
    if net is not None:
        net.kfree_skb_count(skb, reason)


kfree_skb_reason = kfree_skb


def consume_skb(skb: SkBuff) -> None:
    """Free an skb that was used, not dropped."""
    skb_orphan(skb)


class SkBuffHead:
    """struct sk_buff_head: a FIFO queue of skbs (a deque with qlen)."""

    __slots__ = ("q",)

    def __init__(self):
        self.q = deque()

    @property
    def qlen(self) -> int:
        return len(self.q)

    def __len__(self):
        return len(self.q)

    def __iter__(self):
        return iter(self.q)

    def __bool__(self):
        return bool(self.q)


def skb_queue_tail(lst: SkBuffHead, skb: SkBuff) -> None:
    lst.q.append(skb)


def skb_queue_head(lst: SkBuffHead, skb: SkBuff) -> None:
    lst.q.appendleft(skb)


def skb_dequeue(lst: SkBuffHead):
    return lst.q.popleft() if lst.q else None


def skb_peek(lst: SkBuffHead):
    return lst.q[0] if lst.q else None


def skb_peek_tail(lst: SkBuffHead):
    return lst.q[-1] if lst.q else None


def skb_queue_purge(lst: SkBuffHead) -> None:
    while lst.q:
        consume_skb(lst.q.popleft())


def skb_queue_len(lst: SkBuffHead) -> int:
    return len(lst.q)
