"""net/core/dev.c: device registration, the receive core and the transmit entry.

register_netdevice / dev_open / dev_close; dev_add_pack fills ptype_base
(by ethertype) and ptype_all (taps); netif_receive_skb delivers a frame to
the taps and then to its protocol handler; netif_rx queues to the backlog;
dev_queue_xmit runs the root qdisc, and dev_hard_start_xmit mirrors each
frame to the taps (dev_queue_xmit_nit) before ndo_start_xmit.
"""
from .dropreason import SkbDropReason
from .errno import EBUSY, EEXIST, EINVAL, ENODEV, ENETDOWN
from .netdevice import (ETH_P_ALL, IF_OPER_DOWN, IF_OPER_UP, IFF_LOWER_UP, IFF_RUNNING, IFF_UP,
                        NET_RX_DROP, NET_RX_SUCCESS, NET_XMIT_DROP, NET_XMIT_SUCCESS, NETDEV_CHANGEMTU,
                        NETDEV_DOWN, NETDEV_REGISTER, NETDEV_UNREGISTER, NETDEV_UP, NETDEV_TX_OK)
from .sch_generic import NoQueue, __qdisc_run, qdisc_create
from .skbuff import PACKET_OUTGOING, kfree_skb, skb_clone
from .softirq import enqueue_to_backlog

IFNAMSIZ = 16


# --- notifier chain (include/linux/notifier.h) ------------------------------
def register_netdevice_notifier(net, fn) -> None:
    net.netdev_chain.append(fn)


def call_netdevice_notifiers(event: int, dev) -> None:
    for fn in list(dev.nd_net.netdev_chain):
        fn(event, dev)


# --- registration ------------------------------------------------------------
def dev_get_by_name(net, name: str):
    return net.dev_by_name.get(name)


def dev_get_by_index(net, ifindex: int):
    return net.dev_by_index.get(ifindex)


def dev_valid_name(name: str) -> bool:
    return 0 < len(name) < IFNAMSIZ and name not in (".", "..") and not any(
        c in name for c in "/: \t\n")


def register_netdevice(net, dev) -> int:
    """Give the device an ifindex, call ndo_init, announce NETDEV_REGISTER."""
    if not dev_valid_name(dev.name):
        return -EINVAL
    if dev.name in net.dev_by_name:
        return -EEXIST
    dev.nd_net = net
    if dev.netdev_ops.ndo_init is not None:
        r = dev.netdev_ops.ndo_init(dev)
        if r:
            return r
    net.ifindex += 1
    dev.ifindex = net.ifindex
    if not dev.iflink:
        dev.iflink = dev.ifindex
    net.dev_base.append(dev)
    net.dev_by_name[dev.name] = dev
    net.dev_by_index[dev.ifindex] = dev
    dev.registered = True
    call_netdevice_notifiers(NETDEV_REGISTER, dev)
    return 0


def unregister_netdevice(dev) -> None:
    net = dev.nd_net
    if dev.flags & IFF_UP:
        dev_close(dev)
    call_netdevice_notifiers(NETDEV_UNREGISTER, dev)
    if dev.netdev_ops.ndo_uninit is not None:
        dev.netdev_ops.ndo_uninit(dev)
    net.dev_base.remove(dev)
    net.dev_by_name.pop(dev.name, None)
    net.dev_by_index.pop(dev.ifindex, None)
    dev.registered = False


def dev_activate(dev) -> None:
    """Attach the root qdisc: pfifo_fast when the device has a queue, else noqueue."""
    if dev.qdisc is not None and dev.qdisc.kind != "noop":
        return
    kind = dev.qdisc_kind or ("pfifo_fast" if dev.tx_queue_len else "noqueue")
    dev.qdisc = qdisc_create(dev, kind)


def dev_open(dev) -> int:
    if dev.flags & IFF_UP:
        return 0
    if not dev.registered:
        return -ENODEV
    if dev.netdev_ops.ndo_open is not None:
        r = dev.netdev_ops.ndo_open(dev)
        if r:
            return r
    dev.flags |= IFF_UP | IFF_RUNNING | IFF_LOWER_UP
    dev.operstate = IF_OPER_UP
    dev_activate(dev)
    call_netdevice_notifiers(NETDEV_UP, dev)
    return 0


def dev_close(dev) -> int:
    if not dev.flags & IFF_UP:
        return 0
    call_netdevice_notifiers(NETDEV_DOWN, dev)
    if dev.netdev_ops.ndo_stop is not None:
        dev.netdev_ops.ndo_stop(dev)
    dev.flags &= ~(IFF_UP | IFF_RUNNING | IFF_LOWER_UP)
    dev.operstate = IF_OPER_DOWN
    if dev.qdisc is not None:
        dev.qdisc.reset()
    return 0


def dev_set_mtu(dev, mtu: int) -> int:
    if mtu < dev.min_mtu or mtu > dev.max_mtu:
        return -EINVAL
    if dev.netdev_ops.ndo_change_mtu is not None:
        r = dev.netdev_ops.ndo_change_mtu(dev, mtu)
        if r:
            return r
    dev.mtu = mtu
    call_netdevice_notifiers(NETDEV_CHANGEMTU, dev)
    return 0


def dev_graft_qdisc(dev, qdisc) -> None:
    """tc qdisc replace dev X root ...: swap the root qdisc."""
    old = dev.qdisc
    dev.qdisc = qdisc
    dev.qdisc_kind = qdisc.kind
    if old is not None:
        old.reset()


# --- packet handlers ---------------------------------------------------------
def dev_add_pack(net, pt) -> None:
    if pt.type == ETH_P_ALL:
        net.ptype_all.append(pt)
    else:
        net.ptype_base.setdefault(pt.type, []).append(pt)


def dev_remove_pack(net, pt) -> None:
    if pt.type == ETH_P_ALL:
        if pt in net.ptype_all:
            net.ptype_all.remove(pt)
    else:
        lst = net.ptype_base.get(pt.type, [])
        if pt in lst:
            lst.remove(pt)


# --- receive -----------------------------------------------------------------
def deliver_skb(skb, pt, orig_dev) -> int:
    return pt.func(skb, skb.dev, pt, orig_dev)


def __netif_receive_skb_core(skb) -> int:
    dev = skb.dev
    net = dev.nd_net
    skb.skb_iif = dev.ifindex
    skb.network_header = skb.data   # skb_reset_network_header
    if net.tracing:
        net.trace("netif_receive_skb", skb)
    for pt in net.ptype_all:
        if pt.dev is None or pt.dev is dev:
            deliver_skb(skb_clone(skb), pt, dev)
    handlers = net.ptype_base.get(skb.protocol)
    if not handlers:
        dev.stats.rx_nohandler += 1
        kfree_skb(skb, SkbDropReason.UNHANDLED_PROTO)
        return NET_RX_DROP
    ret = NET_RX_DROP
    last = None
    for pt in handlers:
        if pt.dev is None or pt.dev is dev:
            if last is not None:
                deliver_skb(skb_clone(skb), last, dev)
            last = pt
    if last is not None:
        ret = last.func(skb, skb.dev, last, dev)   # the last one is called directly, as in dev.c
    else:
        dev.stats.rx_nohandler += 1
        kfree_skb(skb, SkbDropReason.UNHANDLED_PROTO)
    return ret


def __netif_receive_skb(skb) -> int:
    try:
        return __netif_receive_skb_core(skb)
    except Exception as e:  # Bad input never kills the daemon: count, drop, record.
        net = skb.dev.nd_net if skb.dev is not None else None
        if net is not None:
            net.bug(e, "netif_receive_skb")
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return NET_RX_DROP


def netif_receive_skb(skb) -> int:
    """Deliver a frame now (from a NAPI poll)."""
    return __netif_receive_skb(skb)


def netif_rx(skb) -> int:
    """Queue a frame to this CPU's backlog (loopback, veth, non-NAPI drivers)."""
    return enqueue_to_backlog(skb, skb.dev.nd_net.softnet_data)


# --- transmit ----------------------------------------------------------------
def dev_queue_xmit_nit(skb, dev) -> None:
    """Mirror an outgoing frame to every tap (AF_PACKET, tcpdump)."""
    for pt in dev.nd_net.ptype_all:
        if pt.ignore_outgoing:
            continue
        if pt.dev is None or pt.dev is dev:
            c = skb_clone(skb)
            c.pkt_type = PACKET_OUTGOING
            c.dev = dev
            pt.func(c, dev, pt, dev)


def dev_hard_start_xmit(skb, dev) -> int:
    net = dev.nd_net
    if net.ptype_all:
        dev_queue_xmit_nit(skb, dev)
    if net.tracing:
        net.trace("dev_hard_start_xmit", skb)
    return dev.netdev_ops.ndo_start_xmit(skb, dev)


def dev_queue_xmit(skb) -> int:
    """Queue a frame on its device's root qdisc and run the qdisc."""
    dev = skb.dev
    if not dev.flags & IFF_UP:
        dev.stats.tx_dropped += 1
        kfree_skb(skb, SkbDropReason.DEV_READY)
        return -ENETDOWN
    q = dev.qdisc
    if q is None or isinstance(q, NoQueue):
        rc = dev_hard_start_xmit(skb, dev)
        if rc != NETDEV_TX_OK:
            dev.stats.tx_dropped += 1
            kfree_skb(skb, SkbDropReason.DEV_READY)
            return NET_XMIT_DROP
        return NET_XMIT_SUCCESS
    rc = q.enqueue(skb)
    __qdisc_run(q)
    return rc
