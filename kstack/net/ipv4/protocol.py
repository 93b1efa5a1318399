"""net/ipv4/protocol.c, include/net/protocol.h: the IPv4 transport demux table.

``inet_protos[protocol]`` is the NetProtocol whose ``handler(skb)`` ip_protocol_deliver
calls with skb.data at the transport header (network_header, transport_header and
_dst set), and whose ``err_handler(skb, info)`` icmp_rcv calls for an ICMP error that
quotes a datagram of that protocol (skb.data at the quoted IP header, transport_header
at the outer ICMP header). The table is global, as in the kernel: protocols register
once from inet_init (TCP, UDP, ICMP) and serve every Net.

A handler returning a negative value ``-p`` asks for resubmission to protocol ``p``
(the kernel's encapsulation trick); anything else means the skb was consumed.
"""

MAX_INET_PROTOS = 256


class NetProtocol:
    """struct net_protocol."""

    __slots__ = ("handler", "err_handler", "no_policy", "icmp_strict_tag_validation")

    def __init__(self, handler, err_handler=None, no_policy: bool = True,
                 icmp_strict_tag_validation: bool = False):
        self.handler = handler
        self.err_handler = err_handler
        self.no_policy = no_policy
        self.icmp_strict_tag_validation = icmp_strict_tag_validation

    def __repr__(self):
        return f"<net_protocol {getattr(self.handler, '__name__', self.handler)}>"


inet_protos: list = [None] * MAX_INET_PROTOS


def inet_add_protocol(prot: NetProtocol, protocol: int) -> int:
    """Install ``prot`` for ``protocol`` if the slot is free: 0, or -1 if taken (cmpxchg)."""
    if inet_protos[protocol] is not None:
        return -1
    inet_protos[protocol] = prot
    return 0


def inet_del_protocol(prot: NetProtocol, protocol: int) -> int:
    """Remove ``prot`` if it is the one installed: 0, or -1."""
    if inet_protos[protocol] is not prot:
        return -1
    inet_protos[protocol] = None
    return 0
