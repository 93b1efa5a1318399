"""net/sched/sch_generic.c: Qdisc, pfifo_fast, noqueue; qdisc_run, qdisc_restart, sch_direct_xmit.

dev_queue_xmit enqueues on the device's root qdisc and runs it at once
(__dev_xmit_skb -> __qdisc_run). qdisc_run sends up to the device weight of
packets (qdisc_restart each); what is left sets __QDISC_STATE_SCHED and goes
on the softnet output_queue for net_tx_action, as the seed note traces.
"""
from collections import deque

from .dropreason import SkbDropReason
from .netdevice import NETDEV_TX_OK, NET_XMIT_DROP, NET_XMIT_SUCCESS
from .skbuff import kfree_skb

__QDISC_STATE_SCHED = 1
QDISC_STATE_SCHED = __QDISC_STATE_SCHED

TC_PRIO_MAX = 15
# pfifo_fast's priority -> band map (net/sched/sch_generic.c prio2band)
prio2band = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]


class QdiscStats:
    __slots__ = ("bytes", "packets", "drops", "overlimits", "requeues", "backlog", "qlen")

    def __init__(self):
        self.bytes = self.packets = self.drops = self.overlimits = 0
        self.requeues = self.backlog = self.qlen = 0


class Qdisc:
    """Base class; subclasses provide enqueue/dequeue/peek (struct Qdisc_ops)."""

    kind = "noop"

    def __init__(self, dev, limit: int = 0):
        self.dev = dev
        self.limit = limit
        self.state = 0
        self.gso_skb = None      # a requeued skb (dev_requeue_skb)
        self.qstats = QdiscStats()
        self.handle = 0
        self.parent = 0xFFFFFFFF

    @property
    def q_len(self) -> int:
        return 0

    def enqueue(self, skb) -> int:
        kfree_skb(skb, SkbDropReason.QDISC_DROP)
        return NET_XMIT_DROP

    def dequeue(self):
        return None

    def reset(self) -> None:
        pass

    def next_event(self):
        """Seconds at which a delayed packet becomes ready (netem, tbf), or None."""
        return None

    def dump(self) -> str:
        return self.kind


class NoQueue(Qdisc):
    """noqueue: no enqueue, dev_queue_xmit calls the driver directly (loopback, veth)."""
    kind = "noqueue"


class PfifoFast(Qdisc):
    """Three FIFO bands by skb.priority, txqueuelen packets in all."""
    kind = "pfifo_fast"

    def __init__(self, dev, limit: int = 0):
        super().__init__(dev, limit or dev.tx_queue_len or 1000)
        self.bands = (deque(), deque(), deque())
        self.qlen = 0

    @property
    def q_len(self) -> int:
        return self.qlen + (1 if self.gso_skb is not None else 0)

    def enqueue(self, skb) -> int:
        if self.qlen >= self.limit:
            self.qstats.drops += 1
            kfree_skb(skb, SkbDropReason.QDISC_DROP)
            return NET_XMIT_DROP
        self.bands[prio2band[skb.priority & TC_PRIO_MAX]].append(skb)
        self.qlen += 1
        self.qstats.backlog += skb.len
        return NET_XMIT_SUCCESS

    def dequeue(self):
        for band in self.bands:
            if band:
                skb = band.popleft()
                self.qlen -= 1
                self.qstats.backlog -= skb.len
                return skb
        return None

    def reset(self) -> None:
        for band in self.bands:
            band.clear()
        self.qlen = 0
        self.qstats.backlog = 0

    def dump(self) -> str:
        return "pfifo_fast bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"


class Pfifo(Qdisc):
    """pfifo: one FIFO of ``limit`` packets (net/sched/sch_fifo.c)."""
    kind = "pfifo"

    def __init__(self, dev, limit: int = 0):
        super().__init__(dev, limit or dev.tx_queue_len or 1000)
        self.q = deque()

    @property
    def q_len(self) -> int:
        return len(self.q) + (1 if self.gso_skb is not None else 0)

    def enqueue(self, skb) -> int:
        if len(self.q) >= self.limit:
            self.qstats.drops += 1
            kfree_skb(skb, SkbDropReason.QDISC_DROP)
            return NET_XMIT_DROP
        self.q.append(skb)
        self.qstats.backlog += skb.len
        return NET_XMIT_SUCCESS

    def dequeue(self):
        if self.q:
            skb = self.q.popleft()
            self.qstats.backlog -= skb.len
            return skb
        return None

    def reset(self) -> None:
        self.q.clear()
        self.qstats.backlog = 0

    def dump(self) -> str:
        return f"pfifo limit {self.limit}p"


QDISC_KINDS = {"pfifo_fast": PfifoFast, "noqueue": NoQueue, "pfifo": Pfifo}


def register_qdisc(kind: str, cls) -> None:
    QDISC_KINDS[kind] = cls


def qdisc_create(dev, kind: str, **opts):
    cls = QDISC_KINDS[kind]
    return cls(dev, **opts)


def dev_requeue_skb(skb, q) -> None:
    q.gso_skb = skb
    q.qstats.requeues += 1
    __netif_schedule(q)


def dequeue_skb(q):
    skb = q.gso_skb
    if skb is not None:
        q.gso_skb = None
        return skb
    return q.dequeue()


# dev.py imports this module: dev_hard_start_xmit is bound on first use.
_dev_hard_start_xmit = None


def sch_direct_xmit(skb, q, dev) -> bool:
    """Hand one skb to the driver; False if the driver is busy (requeued)."""
    global _dev_hard_start_xmit
    if _dev_hard_start_xmit is None:
        from .dev import dev_hard_start_xmit as _dev_hard_start_xmit
    rc = _dev_hard_start_xmit(skb, dev)
    if rc != NETDEV_TX_OK:
        dev_requeue_skb(skb, q)
        return False
    return True


def qdisc_restart(q) -> bool:
    """Send one packet; True if the queue may have more."""
    skb = dequeue_skb(q)
    if skb is None:
        return False
    q.qstats.packets += 1
    q.qstats.bytes += skb.len
    return sch_direct_xmit(skb, q, q.dev)


def __qdisc_run(q) -> None:
    quota = q.dev.weight or 64
    while qdisc_restart(q):
        quota -= 1
        if quota <= 0:
            # Out of quota: let net_tx_action finish the job.
            __netif_schedule(q)
            break


def qdisc_run(q) -> None:
    if q.state & QDISC_STATE_SCHED and q.gso_skb is not None:
        return
    __qdisc_run(q)


def __netif_schedule(q) -> None:
    """Put q on this CPU's output_queue and raise NET_TX_SOFTIRQ (once)."""
    if q.state & QDISC_STATE_SCHED:
        return
    q.state |= QDISC_STATE_SCHED
    net = q.dev.nd_net
    if net is not None:
        sd = net.softnet_data
        sd.output_queue.append(q)
        sd.raise_softirq_tx()


netif_schedule_queue = __netif_schedule
qdisc_run_begin = None  # (no qdisc lock here: one thread plays the CPU)
