"""kstack.wire — bytes <-> header values, one module per Linux uapi struct.

Models include/uapi/linux/{if_ether,if_arp,ip,icmp,udp,tcp}.h as dpkt-style classes on
precompiled `struct.Struct`s, with the smoltcp split of parse()/buffer_len()/emit().
No state, no I/O: nothing under kstack.wire imports time, random, os or socket.

Conventions: IPv4 addresses are host-order ints (0xC0A80001 == 192.168.0.1); MAC addresses
are 6-byte `bytes`; every parse() raises WireError (never IndexError/struct.error).
"""

from kstack.wire.errors import WireError

__all__ = ["WireError"]
