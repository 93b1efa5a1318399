"""net/netfilter/core.c, include/linux/netfilter.h, include/uapi/linux/netfilter.h: the hook core.

Each Net holds, per protocol family and hook point, a tuple of hook entries sorted by
priority (the kernel's ``net->nf.hooks_ipv4[hook]``). ``NF_HOOK`` looks at that tuple
first: when it is empty (the common case) it calls ``okfn`` directly, so a stack with no
rules pays one attribute load and one truth test per hook point. Otherwise
``nf_hook_slow`` runs the hooks in order; their verdicts mean what they mean in Linux:

- NF_ACCEPT: go on with the next hook, then ``okfn(net, sk, skb)``;
- NF_DROP: the skb is freed with SKB_DROP_REASON_NETFILTER_DROP and the hook returns
  the error packed in the verdict (``NF_DROP_ERR(err)``) or -EPERM, which is what a
  local sender sees (``sendto`` on Linux returns EPERM when OUTPUT drops);
- NF_STOLEN: the hook took the skb; 0 is returned and nobody touches it again;
- NF_QUEUE: no queue handler exists here, so as in ``nf_queue()`` without a handler the
  skb is freed (0 returned), unless the verdict carries NF_VERDICT_FLAG_QUEUE_BYPASS,
  which makes it an accept;
- NF_REPEAT: the same hook is called again (what ``nf_reinject`` does with it).

Registration replaces the tuple (the kernel swaps an RCU array), so a hook that
unregisters itself while running does not disturb the walk in progress.
"""
from ...core.dropreason import SkbDropReason
from ...core.errno import EINVAL, ENOENT, EPERM
from ...core.net_namespace import PernetOperations, pernet_list
from ...core.skbuff import kfree_skb

# include/uapi/linux/netfilter.h: verdicts
NF_DROP = 0
NF_ACCEPT = 1
NF_STOLEN = 2
NF_QUEUE = 3
NF_REPEAT = 4
NF_STOP = 5          # deprecated in the kernel; treated as accept-and-stop here
NF_MAX_VERDICT = NF_STOP
NF_VERDICT_MASK = 0x000000FF
NF_VERDICT_FLAG_QUEUE_BYPASS = 0x00008000
NF_VERDICT_QMASK = 0xFFFF0000
NF_VERDICT_QBITS = 16

# enum nf_inet_hooks
NF_INET_PRE_ROUTING = 0
NF_INET_LOCAL_IN = 1
NF_INET_FORWARD = 2
NF_INET_LOCAL_OUT = 3
NF_INET_POST_ROUTING = 4
NF_INET_NUMHOOKS = 5
NF_INET_INGRESS = NF_INET_NUMHOOKS

# include/uapi/linux/netfilter_arp.h
NF_ARP_IN = 0
NF_ARP_OUT = 1
NF_ARP_FORWARD = 2
NF_ARP_NUMHOOKS = 3

# enum nfproto
NFPROTO_UNSPEC = 0
NFPROTO_INET = 1
NFPROTO_IPV4 = 2
NFPROTO_ARP = 3
NFPROTO_NETDEV = 5
NFPROTO_BRIDGE = 7
NFPROTO_IPV6 = 10
NFPROTO_NUMPROTO = 11

# include/uapi/linux/netfilter_ipv4.h: enum nf_ip_hook_priorities
INT_MIN = -2**31
INT_MAX = 2**31 - 1
NF_IP_PRI_FIRST = INT_MIN
NF_IP_PRI_RAW_BEFORE_DEFRAG = -450
NF_IP_PRI_CONNTRACK_DEFRAG = -400
NF_IP_PRI_RAW = -300
NF_IP_PRI_SELINUX_FIRST = -225
NF_IP_PRI_CONNTRACK = -200
NF_IP_PRI_MANGLE = -150
NF_IP_PRI_NAT_DST = -100
NF_IP_PRI_FILTER = 0
NF_IP_PRI_SECURITY = 50
NF_IP_PRI_NAT_SRC = 100
NF_IP_PRI_SELINUX_LAST = 225
NF_IP_PRI_CONNTRACK_HELPER = 300
NF_IP_PRI_CONNTRACK_CONFIRM = INT_MAX
NF_IP_PRI_LAST = INT_MAX

_NUMHOOKS = {NFPROTO_IPV4: NF_INET_NUMHOOKS, NFPROTO_IPV6: NF_INET_NUMHOOKS,
             NFPROTO_ARP: NF_ARP_NUMHOOKS, NFPROTO_BRIDGE: NF_INET_NUMHOOKS}


def NF_DROP_ERR(err: int) -> int:
    """A drop verdict that makes the hook return ``err`` (negative errno)."""
    return ((-err) << 16) | NF_DROP


def NF_DROP_GETERR(verdict: int) -> int:
    return -(verdict >> NF_VERDICT_QBITS)


def NF_QUEUE_NR(x: int) -> int:
    return ((x << 16) & NF_VERDICT_QMASK) | NF_QUEUE


class NfHookOps:
    """struct nf_hook_ops: ``hook(priv, skb, state) -> verdict``."""

    __slots__ = ("hook", "pf", "hooknum", "priority", "priv", "dev")

    def __init__(self, hook, pf: int, hooknum: int, priority: int, priv=None, dev=None):
        self.hook = hook
        self.pf = pf
        self.hooknum = hooknum
        self.priority = priority
        self.priv = priv
        self.dev = dev

    def __repr__(self):
        return (f"<nf_hook_ops {getattr(self.hook, '__name__', self.hook)} pf={self.pf} "
                f"hook={self.hooknum} prio={self.priority}>")


class NfHookState:
    """struct nf_hook_state: what a hook function learns about the packet's path."""

    __slots__ = ("hook", "pf", "in_", "out", "sk", "net", "okfn")

    def __init__(self, hook, pf, in_, out, sk, net, okfn):
        self.hook = hook
        self.pf = pf
        self.in_ = in_
        self.out = out
        self.sk = sk
        self.net = net
        self.okfn = okfn


class NetnsNf:
    """struct netns_nf: per family, per hook point, a tuple of NfHookOps by priority."""

    def __init__(self):
        self.hooks_ipv4 = [()] * NF_INET_NUMHOOKS
        self.hooks_ipv6 = [()] * NF_INET_NUMHOOKS
        self.hooks_arp = [()] * NF_ARP_NUMHOOKS
        self.hooks_bridge = [()] * NF_INET_NUMHOOKS

    def table(self, pf: int):
        if pf == NFPROTO_IPV4:
            return self.hooks_ipv4
        if pf == NFPROTO_IPV6:
            return self.hooks_ipv6
        if pf == NFPROTO_ARP:
            return self.hooks_arp
        if pf == NFPROTO_BRIDGE:
            return self.hooks_bridge
        return None


def netfilter_net_init(net) -> None:
    net.nf = NetnsNf()


def _nf(net) -> NetnsNf:
    nf = getattr(net, "nf", None)
    if nf is None:
        nf = net.nf = NetnsNf()
    return nf


_pernet = PernetOperations("netfilter", netfilter_net_init)
if all(o.name != _pernet.name for o in pernet_list):
    # Before every protocol's pernet init: any of them may register hooks.
    pernet_list.insert(0, _pernet)


def _register_one(net, reg: NfHookOps, pf: int) -> int:
    tbl = _nf(net).table(pf)
    if tbl is None or not 0 <= reg.hooknum < len(tbl):
        return -EINVAL
    old = tbl[reg.hooknum]
    i = 0
    # nf_hook_entries_grow(): a new hook goes before the first one of equal or higher priority.
    while i < len(old) and old[i].priority < reg.priority:
        i += 1
    tbl[reg.hooknum] = old[:i] + (reg,) + old[i:]
    return 0


def nf_register_net_hook(net, reg: NfHookOps) -> int:
    """Add a hook to one Net; NFPROTO_INET registers it for IPv4 and IPv6. 0 or -EINVAL."""
    if reg.pf == NFPROTO_INET:
        if reg.hooknum == NF_INET_INGRESS:
            return -EINVAL      # netdev ingress hooks are not modelled
        r = _register_one(net, reg, NFPROTO_IPV4)
        if r:
            return r
        r = _register_one(net, reg, NFPROTO_IPV6)
        if r:
            _unregister_one(net, reg, NFPROTO_IPV4)
        return r
    return _register_one(net, reg, reg.pf)


def _unregister_one(net, reg: NfHookOps, pf: int) -> int:
    tbl = _nf(net).table(pf)
    if tbl is None or not 0 <= reg.hooknum < len(tbl):
        return -EINVAL
    old = tbl[reg.hooknum]
    for i, o in enumerate(old):
        if o is reg:
            tbl[reg.hooknum] = old[:i] + old[i + 1:]
            return 0
    return -ENOENT      # the kernel WARNs: "hook not found"


def nf_unregister_net_hook(net, reg: NfHookOps) -> int:
    if reg.pf == NFPROTO_INET:
        r = _unregister_one(net, reg, NFPROTO_IPV4)
        _unregister_one(net, reg, NFPROTO_IPV6)
        return r
    return _unregister_one(net, reg, reg.pf)


def nf_register_net_hooks(net, regs) -> int:
    done = []
    for reg in regs:
        r = nf_register_net_hook(net, reg)
        if r:
            for d in reversed(done):
                nf_unregister_net_hook(net, d)
            return r
        done.append(reg)
    return 0


def nf_unregister_net_hooks(net, regs) -> None:
    for reg in regs:
        nf_unregister_net_hook(net, reg)


def nf_hook_entries(net, pf: int, hook: int):
    """The hooks registered at one point (tests, iptables -L)."""
    tbl = _nf(net).table(pf)
    return tbl[hook] if tbl is not None else ()


def nf_hook_slow(skb, state: NfHookState, entries, s: int = 0) -> int:
    """Run ``entries[s:]``; 1 means "accepted: call okfn", anything else is the result."""
    n = len(entries)
    while s < n:
        ops = entries[s]
        verdict = ops.hook(ops.priv, skb, state)
        v = verdict & NF_VERDICT_MASK
        if v == NF_ACCEPT:
            s += 1
            continue
        if v == NF_DROP:
            kfree_skb(skb, SkbDropReason.NETFILTER_DROP)
            ret = NF_DROP_GETERR(verdict)
            return ret if ret else -EPERM
        if v == NF_STOLEN:
            return NF_DROP_GETERR(verdict)
        if v == NF_QUEUE:
            if verdict & NF_VERDICT_FLAG_QUEUE_BYPASS:
                s += 1
                continue
            kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)   # nf_queue(): no queue handler
            return 0
        if v == NF_REPEAT:
            continue
        if v == NF_STOP:
            return 1
        # An unknown verdict: the kernel WARNs and returns 0 (the skb leaks); here it is dropped.
        kfree_skb(skb, SkbDropReason.NETFILTER_DROP)
        return 0
    return 1


def nf_hook(pf: int, hook: int, net, sk, skb, indev, outdev, okfn) -> int:
    """1 if the packet may go on (the caller calls okfn), else the verdict's result."""
    try:
        if pf == NFPROTO_IPV4:
            entries = net.nf.hooks_ipv4[hook]
        else:
            tbl = net.nf.table(pf)
            entries = tbl[hook] if tbl is not None else ()
    except AttributeError:
        return 1
    if not entries:
        return 1
    return nf_hook_slow(skb, NfHookState(hook, pf, indev, outdev, sk, net, okfn), entries)


def NF_HOOK(pf: int, hook: int, net, sk, skb, indev, outdev, okfn) -> int:
    """Run the hooks, then okfn(net, sk, skb) if they accepted."""
    try:
        entries = net.nf.hooks_ipv4[hook] if pf == NFPROTO_IPV4 else net.nf.table(pf)[hook]
    except (AttributeError, TypeError):
        entries = ()
    if not entries:
        return okfn(net, sk, skb)
    ret = nf_hook_slow(skb, NfHookState(hook, pf, indev, outdev, sk, net, okfn), entries)
    if ret == 1:
        ret = okfn(net, sk, skb)
    return ret


def NF_HOOK_COND(pf: int, hook: int, net, sk, skb, indev, outdev, okfn, cond) -> int:
    """NF_HOOK when ``cond`` holds, else straight to okfn (ip_output after a reroute)."""
    if cond:
        try:
            entries = net.nf.hooks_ipv4[hook] if pf == NFPROTO_IPV4 else net.nf.table(pf)[hook]
        except (AttributeError, TypeError):
            entries = ()
        if entries:
            ret = nf_hook_slow(skb, NfHookState(hook, pf, indev, outdev, sk, net, okfn), entries)
            if ret != 1:
                return ret
    return okfn(net, sk, skb)

