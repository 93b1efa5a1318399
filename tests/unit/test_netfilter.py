"""kstack/net/netfilter/core.py: hook registration order, verdicts, the empty fast path."""
import pytest

from kstack.core.dropreason import SkbDropReason
from kstack.core.errno import EPERM, EHOSTUNREACH
from kstack.core.skbuff import alloc_skb
from kstack.init import net_create
from kstack.net.netfilter import core as nf
from kstack.net.netfilter.core import (NF_ACCEPT, NF_DROP, NF_DROP_ERR, NF_HOOK, NF_HOOK_COND,
                                       NF_INET_FORWARD, NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT,
                                       NF_INET_PRE_ROUTING, NF_QUEUE, NF_REPEAT, NF_STOLEN,
                                       NF_VERDICT_FLAG_QUEUE_BYPASS, NFPROTO_ARP, NFPROTO_INET,
                                       NFPROTO_IPV4, NFPROTO_IPV6, NfHookOps, nf_hook,
                                       nf_hook_entries, nf_register_net_hook,
                                       nf_unregister_net_hook)


def _boot():
    from kstack import init
    init.start_kernel()


@pytest.fixture
def net():
    _boot()
    return net_create(name="nf")


def _skb(net):
    skb = alloc_skb(64, 32)
    skb.dev = net.loopback_dev
    return skb


def _okfn(calls):
    def okfn(net, sk, skb):
        calls.append(skb)
        return 0
    return okfn


def test_kernel_constants():
    assert (nf.NF_INET_PRE_ROUTING, nf.NF_INET_LOCAL_IN, nf.NF_INET_FORWARD, nf.NF_INET_LOCAL_OUT,
            nf.NF_INET_POST_ROUTING) == (0, 1, 2, 3, 4)
    assert (NF_DROP, NF_ACCEPT, NF_STOLEN, NF_QUEUE, NF_REPEAT) == (0, 1, 2, 3, 4)
    assert NFPROTO_IPV4 == 2 and NFPROTO_IPV6 == 10 and NFPROTO_ARP == 3


def test_no_hooks_calls_okfn(net):
    calls = []
    skb = _skb(net)
    assert NF_HOOK(NFPROTO_IPV4, NF_INET_PRE_ROUTING, net, None, skb, None, None, _okfn(calls)) == 0
    assert calls == [skb]
    assert net.drop_reasons == {}
    assert nf_hook(NFPROTO_IPV4, NF_INET_LOCAL_OUT, net, None, skb, None, None, None) == 1


def test_hooks_run_in_priority_order_equal_priority_new_first(net):
    order = []

    def mk(tag):
        def hook(priv, skb, state):
            order.append(tag)
            return NF_ACCEPT
        return hook

    a = NfHookOps(mk("a"), NFPROTO_IPV4, NF_INET_LOCAL_IN, 0)
    b = NfHookOps(mk("b"), NFPROTO_IPV4, NF_INET_LOCAL_IN, -100)
    c = NfHookOps(mk("c"), NFPROTO_IPV4, NF_INET_LOCAL_IN, 0)
    for ops in (a, b, c):
        assert nf_register_net_hook(net, ops) == 0
    # nf_hook_entries_grow: a newcomer goes before existing hooks of the same priority.
    assert nf_hook_entries(net, NFPROTO_IPV4, NF_INET_LOCAL_IN) == (b, c, a)
    calls = []
    NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls))
    assert order == ["b", "c", "a"] and len(calls) == 1
    assert nf_unregister_net_hook(net, c) == 0
    assert nf_hook_entries(net, NFPROTO_IPV4, NF_INET_LOCAL_IN) == (b, a)
    assert nf_unregister_net_hook(net, c) < 0


def test_drop_frees_with_reason_and_returns_eperm(net):
    seen = []

    def drop(priv, skb, state):
        seen.append((priv, state.hook, state.pf, state.net, state.out))
        return NF_DROP

    ops = NfHookOps(drop, NFPROTO_IPV4, NF_INET_LOCAL_OUT, 0, priv="p")
    nf_register_net_hook(net, ops)
    calls = []
    r = NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_OUT, net, None, _skb(net), None, net.loopback_dev,
                _okfn(calls))
    assert r == -EPERM and calls == []
    assert net.drop_reasons == {SkbDropReason.NETFILTER_DROP: 1}
    assert seen == [("p", NF_INET_LOCAL_OUT, NFPROTO_IPV4, net, net.loopback_dev)]


def test_drop_err_carries_errno(net):
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: NF_DROP_ERR(-EHOSTUNREACH), NFPROTO_IPV4,
                                        NF_INET_FORWARD, 0))
    assert NF_HOOK(NFPROTO_IPV4, NF_INET_FORWARD, net, None, _skb(net), None, None,
                   _okfn([])) == -EHOSTUNREACH


def test_stolen_returns_zero_and_stops(net):
    later = []
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: NF_STOLEN, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0))
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: later.append(1) or NF_ACCEPT, NFPROTO_IPV4,
                                        NF_INET_LOCAL_IN, 10))
    calls = []
    assert NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls)) == 0
    assert calls == [] and later == [] and net.drop_reasons == {}


def test_queue_without_handler_frees_unless_bypass(net):
    ops = NfHookOps(lambda p, s, st: NF_QUEUE, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0)
    nf_register_net_hook(net, ops)
    calls = []
    assert NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls)) == 0
    assert calls == [] and sum(net.drop_reasons.values()) == 1
    nf_unregister_net_hook(net, ops)
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: NF_QUEUE | NF_VERDICT_FLAG_QUEUE_BYPASS,
                                        NFPROTO_IPV4, NF_INET_LOCAL_IN, 0))
    NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls))
    assert len(calls) == 1


def test_repeat_calls_the_same_hook_again(net):
    n = []

    def hook(priv, skb, state):
        n.append(1)
        return NF_REPEAT if len(n) < 3 else NF_ACCEPT

    nf_register_net_hook(net, NfHookOps(hook, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0))
    calls = []
    NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls))
    assert len(n) == 3 and len(calls) == 1


def test_hook_cond_false_skips_hooks(net):
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: NF_DROP, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0))
    calls = []
    NF_HOOK_COND(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls), False)
    assert len(calls) == 1
    NF_HOOK_COND(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn(calls), True)
    assert len(calls) == 1


def test_hooks_are_per_net_and_inet_registers_both_families(net):
    other = net_create(name="other")
    ops = NfHookOps(lambda p, s, st: NF_DROP, NFPROTO_INET, NF_INET_LOCAL_IN, 0)
    assert nf_register_net_hook(net, ops) == 0
    assert nf_hook_entries(net, NFPROTO_IPV6, NF_INET_LOCAL_IN) == (ops,)
    assert nf_hook_entries(other, NFPROTO_IPV4, NF_INET_LOCAL_IN) == ()
    calls = []
    NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, other, None, _skb(other), None, None, _okfn(calls))
    assert len(calls) == 1
    nf_unregister_net_hook(net, ops)
    assert nf_hook_entries(net, NFPROTO_IPV6, NF_INET_LOCAL_IN) == ()


def test_bad_hooknum_is_einval(net):
    assert nf_register_net_hook(net, NfHookOps(lambda p, s, st: NF_ACCEPT, NFPROTO_IPV4, 7, 0)) < 0


def test_unregister_during_walk_does_not_disturb_it(net):
    order = []
    ops2 = NfHookOps(lambda p, s, st: order.append(2) or NF_ACCEPT, NFPROTO_IPV4, NF_INET_LOCAL_IN, 5)

    def first(priv, skb, state):
        order.append(1)
        nf_unregister_net_hook(net, ops2)
        return NF_ACCEPT

    nf_register_net_hook(net, NfHookOps(first, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0))
    nf_register_net_hook(net, ops2)
    NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn([]))
    assert order == [1, 2]
    order.clear()
    NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, _skb(net), None, None, _okfn([]))
    assert order == [1]
