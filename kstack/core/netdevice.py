"""include/linux/netdevice.h: struct net_device, net_device_ops, packet_type.

Drivers fill a NetDeviceOps (ndo_init, ndo_open, ndo_stop, ndo_start_xmit,
ndo_get_stats64, ndo_change_mtu, ndo_set_mac_address) and register the device
with register_netdevice() (core/dev.py). Counters use rtnl_link_stats64 names.
"""
from dataclasses import dataclass
from typing import Callable, Optional

# include/uapi/linux/if.h
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_DEBUG = 0x4
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_NOTRAILERS = 0x20
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
IFF_MULTICAST = 0x1000
IFF_LOWER_UP = 0x10000

IFF_NAMES = [(IFF_BROADCAST, "BROADCAST"), (IFF_POINTOPOINT, "POINTOPOINT"), (IFF_LOOPBACK, "LOOPBACK"),
             (IFF_MULTICAST, "MULTICAST"), (IFF_NOARP, "NOARP"), (IFF_PROMISC, "PROMISC"),
             (IFF_ALLMULTI, "ALLMULTI"), (IFF_UP, "UP"), (IFF_LOWER_UP, "LOWER_UP")]

# include/uapi/linux/if_arp.h
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE

NETDEV_TX_OK = 0x00
NETDEV_TX_BUSY = 0x10

# netdevice notifier events (include/linux/netdevice.h)
NETDEV_UP = 1
NETDEV_DOWN = 2
NETDEV_REBOOT = 3
NETDEV_CHANGE = 4
NETDEV_REGISTER = 5
NETDEV_UNREGISTER = 6
NETDEV_CHANGEMTU = 7
NETDEV_CHANGEADDR = 8

# operstate (RFC 2863, include/uapi/linux/if.h IF_OPER_*)
IF_OPER_UNKNOWN = 0
IF_OPER_DOWN = 2
IF_OPER_UP = 6
OPERSTATE_NAMES = {0: "UNKNOWN", 2: "DOWN", 6: "UP"}


@dataclass
class NetDeviceOps:
    ndo_start_xmit: Callable            # (skb, dev) -> NETDEV_TX_OK | NETDEV_TX_BUSY
    ndo_init: Optional[Callable] = None
    ndo_uninit: Optional[Callable] = None
    ndo_open: Optional[Callable] = None
    ndo_stop: Optional[Callable] = None
    ndo_get_stats64: Optional[Callable] = None
    ndo_change_mtu: Optional[Callable] = None
    ndo_set_mac_address: Optional[Callable] = None


@dataclass
class HeaderOps:
    """struct header_ops: how to build and cache the link-layer header."""
    create: Callable        # (skb, dev, type, daddr, saddr, len) -> int
    parse: Optional[Callable] = None
    cache: Optional[Callable] = None          # (neigh, hh, type)
    cache_update: Optional[Callable] = None


class RtnlLinkStats64:
    __slots__ = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
                 "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
                 "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
                 "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
                 "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
                 "rx_nohandler")

    def __init__(self):
        for f in self.__slots__:
            setattr(self, f, 0)

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__slots__}


class NetDevice:
    def __init__(self, name: str, netdev_ops: NetDeviceOps, type_: int = ARPHRD_ETHER):
        self.name = name
        self.ifindex = 0
        self.iflink = 0
        self.nd_net = None
        self.netdev_ops = netdev_ops
        self.header_ops: Optional[HeaderOps] = None
        self.type = type_
        self.flags = 0
        self.mtu = 1500
        self.min_mtu = 68
        self.max_mtu = 65535
        self.hard_header_len = 0
        self.needed_headroom = 0
        self.addr_len = 0
        self.dev_addr = b""
        self.broadcast = b""
        self.tx_queue_len = 1000
        self.qdisc = None            # root qdisc, attached at dev_open (dev_activate)
        self.qdisc_kind = None       # requested root qdisc kind ("pfifo_fast", "noqueue", ...)
        self.stats = RtnlLinkStats64()
        self.ip_ptr = None           # struct in_device (devinet.py)
        self.priv = None             # driver private data
        self.napi_list = []
        self.operstate = IF_OPER_DOWN
        self.group = 0
        self.weight = 64
        self.features = 0
        self.registered = False
        self.link_kind = ""          # "veth", "loopback", "shm", "tun" (ip -d link)

    def __repr__(self):
        return f"<net_device {self.name} ifindex={self.ifindex}>"

    @property
    def is_up(self) -> bool:
        return bool(self.flags & IFF_UP)

    def dev_get_stats(self) -> RtnlLinkStats64:
        if self.netdev_ops.ndo_get_stats64:
            self.netdev_ops.ndo_get_stats64(self, self.stats)
        return self.stats


class PacketType:
    """struct packet_type: a receive handler for one ethertype (or ETH_P_ALL taps)."""

    __slots__ = ("type", "dev", "func", "af_packet_priv", "ignore_outgoing")

    def __init__(self, type_: int, func, dev=None, af_packet_priv=None, ignore_outgoing=False):
        self.type = type_
        self.func = func       # (skb, dev, pt, orig_dev) -> NET_RX_SUCCESS | NET_RX_DROP
        self.dev = dev
        self.af_packet_priv = af_packet_priv
        self.ignore_outgoing = ignore_outgoing


NET_RX_SUCCESS = 0
NET_RX_DROP = 1
NET_XMIT_SUCCESS = 0
NET_XMIT_DROP = 1
NET_XMIT_CN = 2

ETH_P_ALL = 0x0003
