"""drivers/net/veth.c: a pair of Ethernet devices, each the other's wire.

Here the two ends may live in different Nets of one process (StackPair in
tests): veth_xmit hands the frame to the peer's receive backlog (netif_rx)
in the peer's Net. No I/O, so the in-process network is deterministic.
"""
from ...core.dev import netif_rx, register_netdevice
from ...core.dropreason import SkbDropReason
from ...core.netdevice import IFF_UP, NETDEV_TX_OK, NetDevice, NetDeviceOps
from ...core.skbuff import SkBuff, kfree_skb, skb_orphan
from ...net.ethernet.eth import eth_random_addr, eth_type_trans, ether_setup


class VethPriv:
    __slots__ = ("peer",)

    def __init__(self):
        self.peer = None


def veth_xmit(skb, dev) -> int:
    peer = dev.priv.peer
    length = skb.tail - skb.data
    if peer is None or not peer.flags & IFF_UP:
        dev.stats.tx_dropped += 1
        kfree_skb(skb, SkbDropReason.DEV_READY)
        return NETDEV_TX_OK
    # The frame crosses into another namespace: a fresh skb, as dev_forward_skb scrubs.
    n = SkBuff(bytearray(skb.head[skb.data:skb.tail]), 0, length)
    n.ip_summed = skb.ip_summed
    n.gso_size = skb.gso_size
    skb_orphan(skb)   # run the owner's destructor: wmem is returned on xmit
    dev.stats.tx_packets += 1
    dev.stats.tx_bytes += length
    peer.stats.rx_packets += 1
    peer.stats.rx_bytes += length
    eth_type_trans(n, peer)
    netif_rx(n)
    return NETDEV_TX_OK


veth_ops = NetDeviceOps(ndo_start_xmit=veth_xmit)


def veth_setup(dev, net) -> None:
    ether_setup(dev)
    dev.tx_queue_len = 0  # veth runs noqueue by default, as on Linux
    dev.dev_addr = eth_random_addr(net.rng)
    dev.priv = VethPriv()
    dev.link_kind = "veth"


def veth_newlink(net_a, name_a: str, net_b, name_b: str, mac_a: bytes | None = None,
                 mac_b: bytes | None = None):
    """ip link add NAME_A type veth peer name NAME_B [netns B]: returns (dev_a, dev_b)."""
    a = NetDevice(name_a, veth_ops)
    b = NetDevice(name_b, veth_ops)
    veth_setup(a, net_a)
    veth_setup(b, net_b)
    if mac_a:
        a.dev_addr = bytes(mac_a)
    if mac_b:
        b.dev_addr = bytes(mac_b)
    a.priv.peer = b
    b.priv.peer = a
    for net, dev in ((net_a, a), (net_b, b)):
        r = register_netdevice(net, dev)
        if r:
            raise OSError(-r, f"register_netdevice({dev.name})")
    a.iflink = b.ifindex
    b.iflink = a.ifindex
    return a, b
