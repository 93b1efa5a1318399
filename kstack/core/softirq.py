"""net/core/dev.c (softnet_data, NAPI, net_rx_action, net_tx_action) and kernel/softirq.c.

One Net runs on one "CPU": its SoftnetData holds the NAPI poll_list, the
qdisc output_queue and the input_pkt_queue backlog that netif_rx feeds
(process_backlog is the backlog's NAPI poll). do_softirq runs
NET_RX/NET_TX until nothing is pending or MAX_SOFTIRQ_RESTART rounds pass,
then reports that work is left (ksoftirqd's cue).
"""
from collections import deque

from .dropreason import SkbDropReason
from .netdevice import NET_RX_DROP, NET_RX_SUCCESS
from .sch_generic import QDISC_STATE_SCHED, qdisc_run
from .skbuff import kfree_skb

NET_TX_SOFTIRQ = 1 << 2
NET_RX_SOFTIRQ = 1 << 3
MAX_SOFTIRQ_RESTART = 10

NAPI_STATE_SCHED = 1
NAPI_POLL_WEIGHT = 64


class NapiStruct:
    __slots__ = ("dev", "poll", "weight", "state", "name")

    def __init__(self, dev, poll, weight: int = NAPI_POLL_WEIGHT, name=""):
        self.dev = dev
        self.poll = poll          # (napi, budget) -> work done
        self.weight = weight
        self.state = 0
        self.name = name


def netif_napi_add(dev, napi_or_poll, weight: int = NAPI_POLL_WEIGHT) -> NapiStruct:
    napi = napi_or_poll if isinstance(napi_or_poll, NapiStruct) else NapiStruct(dev, napi_or_poll, weight)
    dev.napi_list.append(napi)
    return napi


class SoftnetData:
    def __init__(self, net):
        self.net = net
        self.poll_list = deque()
        self.output_queue = deque()
        self.input_pkt_queue = deque()
        self.pending = 0
        self.processed = 0
        self.dropped = 0
        self.time_squeeze = 0
        self.backlog = NapiStruct(None, process_backlog, NAPI_POLL_WEIGHT, "backlog")
        self.wakeup = None     # callable: the daemon's loop wants to know work appeared

    def raise_softirq_rx(self) -> None:
        self.pending |= NET_RX_SOFTIRQ
        if self.wakeup:
            self.wakeup()

    def raise_softirq_tx(self) -> None:
        self.pending |= NET_TX_SOFTIRQ
        if self.wakeup:
            self.wakeup()


def napi_schedule(napi: NapiStruct, sd: SoftnetData | None = None) -> bool:
    if napi.state & NAPI_STATE_SCHED:
        return False
    napi.state |= NAPI_STATE_SCHED
    if sd is None:
        sd = napi.dev.nd_net.softnet_data
    sd.poll_list.append(napi)
    sd.raise_softirq_rx()
    return True


def napi_complete_done(napi: NapiStruct, work_done: int = 0) -> bool:
    napi.state &= ~NAPI_STATE_SCHED
    return True


# dev.py imports this module: its receive entry is bound on first use.
_netif_receive_skb = None


def process_backlog(napi: NapiStruct, quota: int) -> int:
    """The backlog NAPI: deliver what netif_rx queued."""
    global _netif_receive_skb
    if _netif_receive_skb is None:
        from .dev import __netif_receive_skb as _netif_receive_skb
    receive = _netif_receive_skb
    sd = napi.dev  # set to the SoftnetData by enqueue_to_backlog
    q = sd.input_pkt_queue
    popleft = q.popleft
    work = 0
    while q and work < quota:
        receive(popleft())
        work += 1
    if not q:
        napi_complete_done(napi, work)
    return work


def enqueue_to_backlog(skb, sd: SoftnetData) -> int:
    if len(sd.input_pkt_queue) >= sd.net.core.sysctl_netdev_max_backlog:
        sd.dropped += 1
        if skb.dev is not None:
            skb.dev.stats.rx_dropped += 1
        kfree_skb(skb, SkbDropReason.CPU_BACKLOG)
        return NET_RX_DROP
    sd.input_pkt_queue.append(skb)
    backlog = sd.backlog
    if not backlog.state & NAPI_STATE_SCHED:    # the first packet schedules the backlog NAPI
        backlog.dev = sd
        napi_schedule(backlog, sd)
    return NET_RX_SUCCESS


def net_rx_action(sd: SoftnetData) -> None:
    """Poll every scheduled NAPI within net.core.netdev_budget."""
    budget = sd.net.core.sysctl_netdev_budget
    todo = len(sd.poll_list)
    while sd.poll_list and todo > 0:
        napi = sd.poll_list.popleft()
        todo -= 1
        work = napi.poll(napi, min(napi.weight, budget))
        sd.processed += work
        budget -= work
        if napi.state & NAPI_STATE_SCHED:
            # Still has work (used its whole weight): to the tail, as the kernel does.
            sd.poll_list.append(napi)
        if budget <= 0:
            sd.time_squeeze += 1
            break
    if sd.poll_list:
        sd.pending |= NET_RX_SOFTIRQ


def net_tx_action(sd: SoftnetData) -> None:
    """Run every qdisc that __netif_schedule put on the output_queue."""
    n = len(sd.output_queue)
    for _ in range(n):
        q = sd.output_queue.popleft()
        q.state &= ~QDISC_STATE_SCHED
        qdisc_run(q)


def do_softirq(sd: SoftnetData) -> bool:
    """Run pending NET_RX/NET_TX; True if work is left over (ksoftirqd would take it)."""
    restart = MAX_SOFTIRQ_RESTART
    while sd.pending and restart:
        pending = sd.pending
        sd.pending = 0
        if pending & NET_TX_SOFTIRQ:
            net_tx_action(sd)
        if pending & NET_RX_SOFTIRQ:
            net_rx_action(sd)
        restart -= 1
    return bool(sd.pending)
