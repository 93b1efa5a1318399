"""drivers/net/loopback.c: the lo device.

loopback_xmit hands each frame straight back to the receive path through
netif_rx, marked CHECKSUM_UNNECESSARY as Linux does, so nothing on lo
computes or checks a checksum. lo has no queue (noqueue) and MTU 65536.
"""
from ...core.dev import dev_open, netif_rx, register_netdevice
from ...core.netdevice import (ARPHRD_LOOPBACK, IFF_LOOPBACK, NETDEV_TX_OK, NetDevice,
                               NetDeviceOps)
from ...core.skbuff import CHECKSUM_UNNECESSARY, skb_orphan
from ...net.ethernet.eth import ETH_HLEN, eth_header_ops, eth_type_trans


def loopback_xmit(skb, dev) -> int:
    length = skb.tail - skb.data
    skb_orphan(skb)   # run the owner's destructor: wmem is returned on xmit
    skb.ip_summed = CHECKSUM_UNNECESSARY
    eth_type_trans(skb, dev)
    dev.stats.tx_packets += 1
    dev.stats.tx_bytes += length
    dev.stats.rx_packets += 1
    dev.stats.rx_bytes += length
    netif_rx(skb)
    return NETDEV_TX_OK


loopback_ops = NetDeviceOps(ndo_start_xmit=loopback_xmit)


def loopback_setup(dev) -> None:
    dev.mtu = 65536
    dev.min_mtu = 0
    dev.max_mtu = 65536
    dev.hard_header_len = ETH_HLEN
    dev.addr_len = 6
    dev.dev_addr = b"\x00" * 6
    dev.broadcast = b"\x00" * 6
    dev.tx_queue_len = 0
    dev.type = ARPHRD_LOOPBACK
    dev.flags = IFF_LOOPBACK
    dev.header_ops = eth_header_ops
    dev.link_kind = "loopback"


def loopback_net_init(net) -> None:
    dev = NetDevice("lo", loopback_ops, ARPHRD_LOOPBACK)
    loopback_setup(dev)
    register_netdevice(net, dev)
    net.loopback_dev = dev
    dev_open(dev)
