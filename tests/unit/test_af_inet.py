"""net/ipv4/af_inet.py and ip_sockglue.py: the PF_INET family's generic operations and
the SOL_IP options. Expected values are Linux 6.18's on this machine (probes udp1.py,
ip.py, raw.py: stdlib socket module in a fresh network namespace).
"""
import struct

import pytest

from kstack.core.errno import (EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL, ENOPROTOOPT,
                               ENOTCONN, EOPNOTSUPP)
from kstack.core.sock import (AF_INET, AF_UNSPEC, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, SOL_IP,
                              IP_PMTUDISC_WANT)
from kstack.fs.file import Cred
from kstack.net.ipv4 import af_inet
from kstack.net.ipv4.ip_sockglue import (IP_BIND_ADDRESS_NO_PORT, IP_CHECKSUM, IP_FREEBIND,
                                         IP_HDRINCL, IP_MINTTL, IP_MTU, IP_MTU_DISCOVER,
                                         IP_MULTICAST_LOOP, IP_MULTICAST_TTL, IP_NODEFRAG,
                                         IP_PKTINFO, IP_RECVERR, IP_RECVTOS, IP_RECVTTL, IP_TOS,
                                         IP_TRANSPARENT, IP_TTL)
from tests.lib.syscalls import World


def err(e) -> int:
    return e.value.errno


@pytest.fixture
def h():
    return World().host("h")


def test_inetsw_is_the_kernels_table():
    from kstack.init import start_kernel
    start_kernel()
    sw = af_inet.inetsw
    assert [(p.protocol, p.prot.name) for p in sw[SOCK_DGRAM]] == [(17, "UDP"), (1, "PING")]
    assert [(p.protocol, p.prot.name) for p in sw[SOCK_RAW]] == [(0, "RAW")]
    assert sw[SOCK_DGRAM][0].ops is af_inet.inet_dgram_ops
    assert sw[SOCK_DGRAM][1].ops is af_inet.inet_sockraw_ops
    assert sw[SOCK_RAW][0].flags & af_inet.INET_PROTOSW_REUSE
    if sw[SOCK_STREAM]:
        assert sw[SOCK_STREAM][0].ops is af_inet.inet_stream_ops
    from kstack.net.ipv4.protocol import inet_protos
    from kstack.net.ipv4 import udp
    assert inet_protos[17].handler is udp.udp_rcv and inet_protos[17].err_handler is udp.udp_err


def test_socket_initial_state(h):
    s = h.socket(AF_INET, SOCK_DGRAM)
    sk = h.sock(s)
    assert (sk.sk_family, sk.sk_type, sk.sk_protocol, sk.inet_num) == (AF_INET, SOCK_DGRAM, 17, 0)
    assert (sk.uc_ttl, sk.mc_ttl, sk.mc_loop, sk.pmtudisc) == (-1, 1, 1, IP_PMTUDISC_WANT)
    assert sk.sk_wq is sk.sk_socket.wq
    r = h.socket(AF_INET, SOCK_RAW, 255)
    sk = h.sock(r)
    assert sk.inet_num == 255 and sk.hdrincl == 1 and sk.sk_reuse == 1
    h.sysctl("net.ipv4.ip_no_pmtu_disc", 1)
    assert h.sock(h.socket()).pmtudisc == 0


# --- bind (udp1.py) ----------------------------------------------------------------------------
def test_bind_errnos(h):
    s = h.socket()
    with pytest.raises(OSError) as e:
        h.bind(s, ("1.2.3.4", 0))
    assert err(e) == EADDRNOTAVAIL
    h.bind(s, ("127.0.0.1", 5000))
    with pytest.raises(OSError) as e:
        h.bind(s, ("127.0.0.1", 5001))
    assert err(e) == EINVAL
    # Broadcast and multicast are bindable; the send address then comes from the device.
    b = h.socket()
    h.bind(b, ("255.255.255.255", 0))
    assert h.sock(b).inet_saddr == 0 and h.sock(b).inet_rcv_saddr == 0xFFFFFFFF
    m = h.socket()
    h.bind(m, ("224.0.0.1", 7000))
    assert h.getsockname(m) == ("224.0.0.1", 7000)
    # AF_UNSPEC is accepted only with INADDR_ANY.
    u = h.socket()
    h.bind(u, (AF_UNSPEC, "0.0.0.0", 0))
    with pytest.raises(OSError) as e:
        h.bind(h.socket(), (AF_UNSPEC, "127.0.0.1", 0))
    assert err(e) == EAFNOSUPPORT


def test_nonlocal_bind_by_sysctl_or_freebind(h):
    s = h.socket()
    h.setsockopt(s, SOL_IP, IP_FREEBIND, 1)
    h.bind(s, ("1.2.3.4", 0))
    t = h.socket()
    h.setsockopt(t, SOL_IP, IP_TRANSPARENT, 1)
    h.bind(t, ("1.2.3.5", 0))
    h.sysctl("net.ipv4.ip_nonlocal_bind", 1)
    h.bind(h.socket(), ("1.2.3.6", 0))


def test_privileged_ports_need_cap_net_bind_service(h):
    p = h.process(cred=Cred(uid=1000, gid=1000, cap_net_bind_service=False))
    s = p.socket()
    with pytest.raises(OSError) as e:
        p.bind(s, ("127.0.0.1", 80))
    assert err(e) == EACCES
    p.bind(s, ("127.0.0.1", 1024))
    h.sysctl("net.ipv4.ip_unprivileged_port_start", 80)
    p.bind(p.socket(), ("127.0.0.1", 80))
    h.bind(h.socket(), ("127.0.0.1", 79))        # root may


def test_bind_address_no_port_defers_the_port(h):
    s = h.socket()
    h.setsockopt(s, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    h.bind(s, ("127.0.0.1", 0))
    assert h.getsockname(s) == ("127.0.0.1", 0)
    h.connect(s, ("127.0.0.1", 9))
    name = h.getsockname(s)
    assert name[0] == "127.0.0.1" and name[1] != 0


# --- getname / shutdown / connect ---------------------------------------------------------------------
def test_getname_and_connect(h):
    s = h.socket()
    h.connect(s, ("127.0.0.1", 9))
    assert h.getpeername(s) == ("127.0.0.1", 9)
    assert h.getsockname(s)[0] == "127.0.0.1"
    with pytest.raises(OSError) as e:
        h.connect(s, (10, "127.0.0.1", 9))
    assert err(e) == EAFNOSUPPORT
    r = h.socket(AF_INET, SOCK_RAW, 1)
    assert h.getsockname(r) == ("0.0.0.0", 1)        # a raw socket's "port" is its protocol
    with pytest.raises(OSError) as e:
        h.getpeername(r)
    assert err(e) == ENOTCONN


def test_shutdown_how_is_checked_first(h):
    s = h.socket()
    for how in (3, -1, 100):
        with pytest.raises(OSError) as e:
            h.shutdown(s, how)
        assert err(e) == EINVAL


def test_stream_connect_state_machine_without_tcp(h):
    """The generic part of inet_stream_connect, with a stand-in protocol that only
    records what it was asked (the TCP engineer's tcp_v4_connect plugs in here)."""
    from kstack.core.sock import InetSock, Proto, TCP_ESTABLISHED, TCP_SYN_SENT
    from kstack.core.wait import Blocked
    from kstack.net.socket import SS_CONNECTED, SS_CONNECTING, Socket
    from kstack.core.errno import EALREADY, EINPROGRESS, EISCONN
    calls = []

    def connect(sk, uaddr):
        calls.append(uaddr)
        sk.sk_state = TCP_SYN_SENT
        return 0

    prot = Proto(name="FAKE", connect=connect, disconnect=lambda sk, f: 0)
    sock = Socket()
    sock.type = SOCK_STREAM
    sk = InetSock(h.net, AF_INET, prot)
    from kstack.core.sock import sock_init_data
    sock_init_data(sock, sk)
    from kstack.core.sock import SockaddrIn
    addr = SockaddrIn(AF_INET, 0x7F000001, 80)
    assert af_inet.inet_stream_connect(sock, addr, 0o4000) == -EINPROGRESS
    assert sock.state == SS_CONNECTING and len(calls) == 1
    assert af_inet.inet_stream_connect(sock, addr, 0o4000) == -EALREADY
    b = af_inet.inet_stream_connect(sock, addr, 0)
    assert type(b) is Blocked
    sk.sk_state = TCP_ESTABLISHED
    sk.sk_state_change(sk)
    assert b.retry() == 0 and sock.state == SS_CONNECTED
    assert af_inet.inet_stream_connect(sock, addr, 0) == -EISCONN
    # A connect that ends in CLOSE reports sk_err (ECONNREFUSED after a RST).
    sock2 = Socket()
    sock2.type = SOCK_STREAM
    sk2 = InetSock(h.net, AF_INET, prot)
    sock_init_data(sock2, sk2)
    b = af_inet.inet_stream_connect(sock2, addr, 0)
    from kstack.core.sock import TCP_CLOSE
    sk2.sk_state = TCP_CLOSE
    sk2.sk_err = 111
    assert b.retry() == -111
    # Timing out a blocking connect leaves it in progress (EINPROGRESS), as Linux.
    sock3 = Socket()
    sock3.type = SOCK_STREAM
    sk3 = InetSock(h.net, AF_INET, prot)
    sock_init_data(sock3, sk3)
    sk3.sk_sndtimeo = 1.0
    b = af_inet.inet_stream_connect(sock3, addr, 0)
    assert b.timeo == 1.0 and b.on_timeout() == -EINPROGRESS


# --- SOL_IP options (ip.py) ------------------------------------------------------------------------------
VALUES = (0, 1, 5, 255, 256, -1, -2, b"\x07", b"\x07\x00", b"\x07\x00\x00\x00\x00", b"")
E = "E"
# option: (default, [result after setting each of VALUES: the value read back, or E(errno)])
IP_TABLE = {
    IP_TTL: (64, [E, 1, 5, 255, E, 64, E, 7, 7, 7, E]),
    IP_TOS: (0, [0, 1, 5, 255, 0, 255, 254, 7, 7, 7, 0]),
    IP_RECVERR: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
    IP_MTU_DISCOVER: (1, [0, 1, 5, E, E, E, E, E, E, E, 0]),
    IP_PKTINFO: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
    IP_MULTICAST_TTL: (1, [0, 1, 5, 255, E, 1, E, 7, 7, 7, E]),
    IP_MULTICAST_LOOP: (1, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, E]),
    IP_BIND_ADDRESS_NO_PORT: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
    IP_FREEBIND: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, E]),
    IP_TRANSPARENT: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, E]),
    IP_RECVTOS: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
    IP_RECVTTL: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
    IP_MINTTL: (0, [0, 1, 5, 255, E, E, E, 7, 7, 7, E]),
    IP_CHECKSUM: (0, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]),
}


@pytest.mark.parametrize("opt", sorted(IP_TABLE))
def test_ip_options_like_linux(h, opt):
    default, results = IP_TABLE[opt]
    s = h.socket()
    assert h.getsockopt(s, SOL_IP, opt) == default
    assert h.getsockopt(s, SOL_IP, opt, 1) == bytes((default,))
    assert h.getsockopt(s, SOL_IP, opt, 2) == bytes((default,))     # one byte when it fits
    assert h.getsockopt(s, SOL_IP, opt, 8) == struct.pack("i", default)
    last = default
    for v, want in zip(VALUES, results):
        if want == E:
            with pytest.raises(OSError) as e:
                h.setsockopt(s, SOL_IP, opt, v)
            assert err(e) == EINVAL
        else:
            h.setsockopt(s, SOL_IP, opt, v)
            last = want
        assert h.getsockopt(s, SOL_IP, opt) == last, (v, want)


def test_ip_options_refused_or_unknown(h):
    s = h.socket()
    for opt in (IP_HDRINCL, IP_NODEFRAG):           # raw sockets only
        with pytest.raises(OSError) as e:
            h.setsockopt(s, SOL_IP, opt, 1)
        assert err(e) == ENOPROTOOPT
        assert h.getsockopt(s, SOL_IP, opt) == 0
    with pytest.raises(OSError) as e:
        h.getsockopt(s, SOL_IP, IP_MTU)
    assert err(e) == ENOTCONN
    with pytest.raises(OSError) as e:
        h.setsockopt(s, SOL_IP, IP_MTU, 1)
    assert err(e) == ENOPROTOOPT
    for opt, set_err, get_err in ((5, EINVAL, None), (9, ENOPROTOOPT, ENOPROTOOPT),
                                  (16, EOPNOTSUPP, ENOPROTOOPT), (17, EINVAL, ENOPROTOOPT),
                                  (30, ENOPROTOOPT, ENOPROTOOPT), (100, ENOPROTOOPT, ENOPROTOOPT),
                                  (200, EOPNOTSUPP, EOPNOTSUPP), (211, EOPNOTSUPP, EOPNOTSUPP)):
        with pytest.raises(OSError) as e:
            h.setsockopt(s, SOL_IP, opt, 1)
        assert err(e) == set_err, opt
        if get_err is None:
            assert h.getsockopt(s, SOL_IP, opt) == 0
        else:
            with pytest.raises(OSError) as e:
                h.getsockopt(s, SOL_IP, opt)
            assert err(e) == get_err, opt
    h.setsockopt(s, SOL_IP, 20, 1)                   # IP_RECVORIGDSTADDR
    assert h.getsockopt(s, SOL_IP, 20) == 1


def test_ip_mtu_of_a_connected_socket(h):
    s = h.socket()
    h.connect(s, ("127.0.0.1", 9))
    assert h.getsockopt(s, SOL_IP, IP_MTU) == 65535      # lo, capped at IP_MAX_MTU (Linux: 65535)


def test_raw_ip_hdrincl_option(h):
    r = h.socket(AF_INET, SOCK_RAW, 1)
    assert h.getsockopt(r, SOL_IP, IP_HDRINCL) == 0
    h.setsockopt(r, SOL_IP, IP_HDRINCL, 1)
    assert h.getsockopt(r, SOL_IP, IP_HDRINCL) == 1
    assert h.getsockopt(h.socket(AF_INET, SOCK_RAW, 255), SOL_IP, IP_HDRINCL) == 1
