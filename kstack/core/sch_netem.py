"""net/sched/sch_netem.c — network emulator qdisc: delay with jitter, random loss,
duplication, reordering, corruption and an optional rate limit, drawn from the Net's
seeded RNG (net.rng) and timed on its clock (net.clock), so a run is reproducible.

Packets wait in a time-ordered queue (tfifo) until their time_to_send; a qdisc watchdog
timer (a TimerList on net.timers, the kernel's hrtimer) reschedules the device queue
when the head becomes due, and next_event() tells Sim when that is. Parameters follow
tc-netem(8): latency/jitter in seconds, probabilities as fractions (0.01 = 1%), reorder
with gap (a gap of 0 with reorder > 0 is taken as 1, as tc does), rate in bytes/s.

    dev_graft_qdisc(dev, qdisc_create(dev, "netem", latency=0.01, loss=0.01))
"""
import heapq

from .dropreason import SkbDropReason
from .netdevice import NET_XMIT_DROP, NET_XMIT_SUCCESS
from .sch_generic import Qdisc, register_qdisc
from . import sch_generic as _sch
from .skbuff import kfree_skb, skb_copy
from .timer import TimerList

_U32 = 1 << 32


class NetemSkbCb:
    __slots__ = ("time_to_send",)


class Netem(Qdisc):
    kind = "netem"

    def __init__(self, dev, limit: int = 1000, latency: float = 0.0, jitter: float = 0.0,
                 loss: float = 0.0, duplicate: float = 0.0, reorder: float = 0.0,
                 corrupt: float = 0.0, gap: int = 0, rate: float = 0.0, delay: float = None):
        super().__init__(dev, limit)
        if delay is not None:
            latency = delay
        self.latency = float(latency)
        self.jitter = float(jitter)
        self.loss = float(loss)
        self.duplicate = float(duplicate)
        self.reorder = float(reorder)
        self.corrupt = float(corrupt)
        self.gap = int(gap) if gap or not reorder else 1
        self.rate = float(rate)
        self.counter = 0
        self.t_last = 0.0
        self.tfifo = []              # heap of (time_to_send, seq, skb)
        self.seq = 0
        self.head_now = []           # reordered packets: "enqueue at head", due now
        self.watchdog = TimerList(self._watchdog, self, "netem_watchdog")
        self.stats_lost = 0
        self.stats_duplicated = 0
        self.stats_corrupted = 0
        self.stats_reordered = 0

    # -- helpers -----------------------------------------------------------------
    @property
    def net(self):
        return self.dev.nd_net

    def _chance(self, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        return self.net.rng.get_random_u32() < int(p * _U32)

    def _tabledist(self) -> float:
        """Uniform in [latency - jitter, latency + jitter] (no distribution table)."""
        if not self.jitter:
            return self.latency
        r = self.net.rng.get_random_u32() / _U32
        return max(0.0, self.latency - self.jitter + 2 * self.jitter * r)

    @property
    def q_len(self) -> int:
        return len(self.tfifo) + len(self.head_now) + (1 if self.gso_skb is not None else 0)

    # -- Qdisc_ops ----------------------------------------------------------------
    def enqueue(self, skb) -> int:
        # Random duplication: a copy goes through the same queue.
        count = 1
        if self._chance(self.duplicate):
            count += 1
        if self._chance(self.loss):
            count -= 1
        if count == 0:
            self.stats_lost += 1
            self.qstats.drops += 1
            kfree_skb(skb, SkbDropReason.QDISC_DROP)
            return NET_XMIT_SUCCESS      # a silent loss: the sender is not told
        if self._chance(self.corrupt):
            n = skb.len
            if n:
                i = self.net.rng.prandom_u32_max(n)
                bit = self.net.rng.prandom_u32_max(8)
                skb = skb_copy(skb)
                skb.head[skb.data + i] ^= 1 << bit
                self.stats_corrupted += 1
        if self.q_len >= self.limit:
            self.qstats.drops += 1
            kfree_skb(skb, SkbDropReason.QDISC_DROP)
            return NET_XMIT_DROP
        if count > 1:
            self.stats_duplicated += 1
            self._enqueue_one(skb_copy(skb))
        self._enqueue_one(skb)
        return NET_XMIT_SUCCESS

    def _enqueue_one(self, skb) -> None:
        now = self.net.clock.now()
        self.qstats.backlog += skb.len
        if self.gap == 0 or self.counter < self.gap - 1 or not self._chance(self.reorder):
            delay = self._tabledist()
            if self.rate:
                start = max(now, self.t_last)
                t = start + delay + skb.len / self.rate
                self.t_last = t - delay
            else:
                t = now + delay
            self.counter += 1
            self.seq += 1
            heapq.heappush(self.tfifo, (t, self.seq, skb))
        else:
            # One out of N goes out at once, ahead of the delayed ones.
            self.counter = 0
            self.stats_reordered += 1
            self.head_now.append(skb)
            self.qstats.requeues += 1
        self._arm()

    def dequeue(self):
        if self.head_now:
            skb = self.head_now.pop(0)
            self.qstats.backlog -= skb.len
            return skb
        if not self.tfifo:
            return None
        t, _, skb = self.tfifo[0]
        if t <= self.net.clock.now() + 1e-12:
            heapq.heappop(self.tfifo)
            self.qstats.backlog -= skb.len
            self._arm()
            return skb
        self._arm()
        return None

    def _arm(self) -> None:
        """qdisc_watchdog_schedule: wake the queue when the head is due."""
        t = self.next_event()
        timers = self.net.timers
        if t is None:
            if self.watchdog.pending:
                timers.del_timer(self.watchdog)
        elif not self.watchdog.pending or self.watchdog.expires != t:
            timers.mod_timer(self.watchdog, t)

    def _watchdog(self, _data) -> None:
        netem_watchdog(self)

    def next_event(self):
        if self.head_now:
            return self.net.clock.now()
        if self.tfifo:
            return self.tfifo[0][0]
        return None

    def reset(self) -> None:
        self.tfifo.clear()
        self.head_now.clear()
        self.qstats.backlog = 0
        if self.watchdog.pending:
            self.net.timers.del_timer(self.watchdog)

    def dump(self) -> str:
        parts = [f"netem limit {self.limit}"]
        if self.latency or self.jitter:
            parts.append(f"delay {self.latency * 1000:g}ms" +
                         (f" {self.jitter * 1000:g}ms" if self.jitter else ""))
        if self.loss:
            parts.append(f"loss {self.loss * 100:g}%")
        if self.duplicate:
            parts.append(f"duplicate {self.duplicate * 100:g}%")
        if self.reorder:
            parts.append(f"reorder {self.reorder * 100:g}% gap {self.gap}")
        if self.corrupt:
            parts.append(f"corrupt {self.corrupt * 100:g}%")
        if self.rate:
            parts.append(f"rate {self.rate * 8:g}bit")
        return " ".join(parts)


def netem_watchdog(q) -> None:
    """qdisc_watchdog: the head packet is due; let net_tx_action run the queue (a module
    function: __netif_schedule inside a class body would be name-mangled)."""
    getattr(_sch, "__netif_schedule")(q)


register_qdisc("netem", Netem)
