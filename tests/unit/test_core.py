"""Unit tests for kstack/core: skbuff, timers, softirq/NAPI, qdisc, sysctl, errno."""
import errno as std_errno

from kstack.core import errno as kerrno
from kstack.core.clock import FakeClock
from kstack.core.dev import dev_queue_xmit, register_netdevice, dev_open
from kstack.core.dropreason import SkbDropReason
from kstack.core.netdevice import NETDEV_TX_BUSY, NETDEV_TX_OK, NetDevice, NetDeviceOps
from kstack.core.skbuff import (alloc_skb, kfree_skb, skb_clone, skb_copy, skb_pull, skb_push,
                                skb_put_data, skb_reserve, skb_from_bytes)
from kstack.core.sysctl import sysctl_get, sysctl_set
from kstack.core.timer import TimerBase, TimerList
from kstack.core.random32 import Prandom
from kstack.init import net_create


def test_errno_values_are_linux():
    for name, value in vars(kerrno).items():
        if name.startswith("E") and isinstance(value, int) and hasattr(std_errno, name):
            assert getattr(std_errno, name) == value, name


def test_skb_push_pull_put():
    skb = alloc_skb(100, headroom=32)
    skb_put_data(skb, b"payload")
    assert skb.len == 7 and skb.headroom() == 32
    off = skb_push(skb, 4)
    skb.head[off:off + 4] = b"HDR:"
    assert skb.tobytes() == b"HDR:payload"
    assert skb_pull(skb, 4) is not None and skb.tobytes() == b"payload"
    assert skb_pull(skb, 100) is None


def test_skb_push_beyond_headroom_grows_front():
    skb = alloc_skb(10, headroom=2)
    skb_put_data(skb, b"x" * 10)
    skb.network_header = skb.data
    skb_push(skb, 20)
    assert skb.len == 30 and skb.tobytes()[20:] == b"x" * 10
    assert skb.head[skb.network_header:skb.network_header + 10] == b"x" * 10


def test_skb_clone_shares_copy_does_not():
    skb = skb_from_bytes(b"abcdef")
    c = skb_clone(skb)
    d = skb_copy(skb)
    skb.head[0] = ord("z")
    assert c.tobytes() == b"zbcdef" and d.tobytes() == b"abcdef"


def test_kfree_skb_counts_reason_per_net():
    net = net_create(name="t")
    skb = skb_from_bytes(b"x")
    skb.dev = net.loopback_dev
    kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
    assert net.drop_reasons[int(SkbDropReason.PKT_TOO_SMALL)] == 1


def test_timers_fire_in_order_and_can_be_cancelled():
    clock = FakeClock()
    base = TimerBase(clock)
    fired = []
    t1 = TimerList(lambda d: fired.append(d), "a")
    t2 = TimerList(lambda d: fired.append(d), "b")
    t3 = TimerList(lambda d: fired.append(d), "c")
    base.mod_timer(t1, 2.0)
    base.mod_timer(t2, 1.0)
    base.mod_timer(t3, 1.5)
    assert base.del_timer(t3) is True
    assert base.mod_timer(t1, 3.0) is True   # re-arm of a pending timer
    assert base.next_expiry() == 1.0
    clock.advance(2.5)
    base.run_timers()
    assert fired == ["b"]
    clock.advance(1)
    base.run_timers()
    assert fired == ["b", "a"] and base.next_expiry() is None and base.pending_timers() == []


def test_prandom_is_deterministic_and_bounded():
    a, b = Prandom(7), Prandom(7)
    xs = [a.get_random_u32() for _ in range(100)]
    assert xs == [b.get_random_u32() for _ in range(100)]
    assert all(0 <= a.prandom_u32_max(10) < 10 for _ in range(1000))


def test_sysctl_core_defaults_and_bounds():
    net = net_create(name="t")
    assert sysctl_get(net, "net.core.wmem_default") == "212992"
    assert sysctl_get(net, "net/core/netdev_budget") == "300"
    assert sysctl_set(net, "net.core.netdev_budget", "0") == -kerrno.EINVAL
    assert sysctl_set(net, "net.core.wmem_default", "100") == -kerrno.EINVAL  # below SOCK_MIN_SNDBUF
    assert sysctl_set(net, "net.core.wmem_default", "abc") == -kerrno.EINVAL
    assert sysctl_set(net, "net.core.wmem_default", "65536") == 0
    assert net.core.sysctl_wmem_default == 65536
    assert sysctl_get(net, "net.core.nope") == -kerrno.ENOENT


class _Rec:
    """A test NIC whose ring holds `room` frames; busy beyond that."""

    def __init__(self, room):
        self.room = room
        self.sent = []

    def xmit(self, skb, dev):
        if len(self.sent) >= self.room:
            return NETDEV_TX_BUSY
        self.sent.append(skb.tobytes())
        return NETDEV_TX_OK


def _dev(net, room=10**9, txqlen=1000):
    rec = _Rec(room)
    dev = NetDevice("rec0", NetDeviceOps(ndo_start_xmit=rec.xmit))
    dev.tx_queue_len = txqlen
    assert register_netdevice(net, dev) == 0
    assert dev_open(dev) == 0
    return dev, rec


def _frame(dev, i):
    skb = skb_from_bytes(bytes([i % 256]) * 20)
    skb.dev = dev
    return skb


def test_qdisc_runs_at_once_and_requeues_when_driver_busy():
    net = net_create(name="t")
    dev, rec = _dev(net, room=3)
    assert dev.qdisc.kind == "pfifo_fast"
    for i in range(5):
        dev_queue_xmit(_frame(dev, i))
    assert len(rec.sent) == 3
    assert dev.qdisc.q_len == 2 and dev.qdisc.qstats.requeues >= 1
    rec.room = 10
    net.do_softirq()   # net_tx_action runs the scheduled qdisc
    assert len(rec.sent) == 5 and dev.qdisc.q_len == 0


def test_qdisc_quota_defers_to_net_tx_action():
    net = net_create(name="t")
    dev, rec = _dev(net)
    dev.weight = 4
    q = dev.qdisc
    for i in range(10):          # enqueue without running, then run once
        q.enqueue(_frame(dev, i))
    from kstack.core.sch_generic import qdisc_run
    qdisc_run(q)
    assert len(rec.sent) == 4 and net.softnet_data.pending
    net.do_softirq()
    assert len(rec.sent) == 10


def test_pfifo_fast_drops_over_txqueuelen():
    net = net_create(name="t")
    dev, rec = _dev(net, room=0, txqlen=4)
    for i in range(10):
        dev_queue_xmit(_frame(dev, i))
    assert dev.qdisc.qstats.drops == 10 - 4 - 1   # 4 queued + 1 requeued
    assert net.drop_reasons[int(SkbDropReason.QDISC_DROP)] == 5


def test_napi_budget_limits_one_round():
    from kstack.core.softirq import NapiStruct, napi_schedule, napi_complete_done, net_rx_action
    net = net_create(name="t")
    net.core.sysctl_netdev_budget = 10
    left = {"n": 25}

    def poll(napi, budget):
        work = min(budget, left["n"])
        left["n"] -= work
        if work < budget:
            napi_complete_done(napi, work)
        return work

    napi = NapiStruct(net.loopback_dev, poll, weight=64)
    napi_schedule(napi, net.softnet_data)
    net_rx_action(net.softnet_data)
    assert left["n"] == 15 and net.softnet_data.time_squeeze == 1
    net.do_softirq()
    assert left["n"] == 0
