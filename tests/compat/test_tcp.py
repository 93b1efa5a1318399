"""TCP through the socket API: the same body on Linux and on kstack."""
import errno
import threading
import time

import pytest

LO = "127.0.0.1"


def listener(S, backlog=16):
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.bind((LO, 0))
    ls.listen(backlog)
    return ls


def pair(S):
    ls = listener(S)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.settimeout(5)
    c.connect(ls.getsockname())
    s, addr = ls.accept()
    s.settimeout(5)
    ls.close()
    return c, s


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        d = sock.recv(n - len(buf))
        if not d:
            break
        buf += d
    return bytes(buf)


def test_echo_and_names(net):
    S = net.socket
    ls = listener(S)
    host, port = ls.getsockname()
    assert host == LO and port > 0
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect((LO, port))
    s, addr = ls.accept()
    assert addr == c.getsockname()
    assert c.getpeername() == (LO, port)
    assert s.getsockname() == (LO, port)
    assert s.getpeername() == c.getsockname()
    c.sendall(b"hello")
    assert recv_exact(s, 5) == b"hello"
    s.sendall(b"world!")
    assert recv_exact(c, 6) == b"world!"
    c.close()
    assert s.recv(10) == b""
    s.close()
    ls.close()


def test_family_type_proto(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    assert c.family == S.AF_INET
    assert c.type == S.SOCK_STREAM
    assert c.getsockopt(S.SOL_SOCKET, S.SO_TYPE) == S.SOCK_STREAM
    assert c.getsockopt(S.SOL_SOCKET, S.SO_ERROR) == 0
    c.close()


def test_connection_refused(net):
    S = net.socket
    ls = listener(S)
    port = ls.getsockname()[1]
    ls.close()
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    with pytest.raises(ConnectionRefusedError) as ei:
        c.connect((LO, port))
    assert ei.value.errno == errno.ECONNREFUSED
    assert c.connect_ex((LO, port)) in (errno.ECONNREFUSED, errno.ECONNABORTED)
    c.close()


def test_eaddrinuse(net):
    S = net.socket
    ls = listener(S)
    b = S.socket(S.AF_INET, S.SOCK_STREAM)
    with pytest.raises(OSError) as ei:
        b.bind(ls.getsockname())
    assert ei.value.errno == errno.EADDRINUSE
    b.close()
    ls.close()


def test_eisconn(net):
    S = net.socket
    ls = listener(S)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(ls.getsockname())
    with pytest.raises(OSError) as ei:
        c.connect(ls.getsockname())
    assert ei.value.errno == errno.EISCONN
    c.close()
    ls.close()


def test_enotconn(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    with pytest.raises(OSError) as ei:
        c.getpeername()
    assert ei.value.errno == errno.ENOTCONN
    with pytest.raises(OSError) as ei:
        c.recv(1)
    assert ei.value.errno == errno.ENOTCONN
    with pytest.raises(OSError) as ei:
        c.shutdown(S.SHUT_RDWR)
    assert ei.value.errno == errno.ENOTCONN
    c.close()


def test_send_unconnected_is_epipe(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    with pytest.raises(OSError) as ei:
        c.send(b"x")
    assert ei.value.errno == errno.EPIPE
    c.close()


def test_accept_without_listen_einval(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.bind((LO, 0))
    with pytest.raises(OSError) as ei:
        c.accept()
    assert ei.value.errno == errno.EINVAL
    c.close()


def test_listen_twice_then_accept(net):
    S = net.socket
    ls = listener(S)
    ls.listen(5)                       # a second listen just changes the backlog
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(ls.getsockname())
    s, _ = ls.accept()
    s.close()
    c.close()
    ls.close()


def test_nonblocking_eagain(net):
    S = net.socket
    ls = listener(S)
    ls.setblocking(False)
    with pytest.raises(BlockingIOError) as ei:
        ls.accept()
    assert ei.value.errno == errno.EAGAIN
    c, s = pair(S)
    s.setblocking(False)
    assert s.getblocking() is False
    with pytest.raises(BlockingIOError):
        s.recv(10)
    c.close()
    s.close()
    ls.close()


def test_nonblocking_connect_einprogress(net):
    S = net.socket
    sel = net.select
    ls = listener(S)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.setblocking(False)
    with pytest.raises(BlockingIOError) as ei:
        c.connect(ls.getsockname())
    assert ei.value.errno == errno.EINPROGRESS
    _, w, _ = sel.select([], [c], [], 5)
    assert w == [c]
    assert c.getsockopt(S.SOL_SOCKET, S.SO_ERROR) == 0
    s, _ = ls.accept()
    c.send(b"x")
    s.settimeout(5)
    assert s.recv(1) == b"x"
    for x in (c, s, ls):
        x.close()


def test_nonblocking_connect_refused(net):
    S = net.socket
    sel = net.select
    ls = listener(S)
    port = ls.getsockname()[1]
    ls.close()
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.setblocking(False)
    r = c.connect_ex((LO, port))
    assert r in (errno.EINPROGRESS, errno.ECONNREFUSED)
    if r == errno.EINPROGRESS:
        _, w, _ = sel.select([], [c], [], 5)
        assert w == [c]
        assert c.getsockopt(S.SOL_SOCKET, S.SO_ERROR) == errno.ECONNREFUSED
    c.close()


def test_timeouts(net):
    S = net.socket
    ls = listener(S)
    ls.settimeout(0.2)
    assert ls.gettimeout() == 0.2
    t = time.monotonic()
    with pytest.raises(S.timeout):
        ls.accept()
    assert 0.15 < time.monotonic() - t < 3
    c, s = pair(S)
    s.settimeout(0.2)
    with pytest.raises(TimeoutError):
        s.recv(1)
    assert S.timeout is TimeoutError
    for x in (c, s, ls):
        x.close()


def test_shutdown_wr_half_close(net):
    S = net.socket
    c, s = pair(S)
    c.sendall(b"request")
    c.shutdown(S.SHUT_WR)
    assert recv_exact(s, 7) == b"request"
    assert s.recv(10) == b""
    s.sendall(b"response")
    s.close()
    assert recv_exact(c, 8) == b"response"
    assert c.recv(10) == b""
    with pytest.raises(BrokenPipeError):
        c.send(b"more")
    c.close()


def test_peer_close_then_send_epipe_or_reset(net):
    S = net.socket
    c, s = pair(S)
    s.close()
    assert c.recv(10) == b""
    c.send(b"x")                      # accepted locally; the peer answers RST
    time.sleep(0.2)
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(10):
            c.send(b"y")
            time.sleep(0.05)
    c.close()


def test_close_with_unread_data_resets(net):
    S = net.socket
    c, s = pair(S)
    c.sendall(b"unread")
    time.sleep(0.2)
    s.close()                          # unread data: RST, not FIN
    time.sleep(0.2)
    with pytest.raises(ConnectionResetError):
        c.recv(10)
    c.close()


def test_reuseaddr_after_close(net):
    S = net.socket
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)      # its children inherit it
    ls.bind((LO, 0))
    ls.listen(1)
    port = ls.getsockname()[1]
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect((LO, port))
    s, _ = ls.accept()
    ls.close()
    b0 = S.socket(S.AF_INET, S.SOCK_STREAM)
    with pytest.raises(OSError) as ei:             # without SO_REUSEADDR: in use
        b0.bind((LO, port))
    assert ei.value.errno == errno.EADDRINUSE
    b0.close()
    s.close()                          # the server side closes first: TIME_WAIT on it
    c.recv(1)
    c.close()
    time.sleep(0.1)
    b = S.socket(S.AF_INET, S.SOCK_STREAM)
    b.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
    assert b.getsockopt(S.SOL_SOCKET, S.SO_REUSEADDR) == 1
    b.bind((LO, port))
    b.listen(1)
    b.close()


def test_buffers_doubled(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 65536)
    assert c.getsockopt(S.SOL_SOCKET, S.SO_RCVBUF) == 131072
    c.setsockopt(S.SOL_SOCKET, S.SO_SNDBUF, 32768)
    assert c.getsockopt(S.SOL_SOCKET, S.SO_SNDBUF) == 65536
    c.setsockopt(S.SOL_SOCKET, S.SO_SNDBUF, 1)
    assert c.getsockopt(S.SOL_SOCKET, S.SO_SNDBUF) == 4608
    c.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 1)
    assert c.getsockopt(S.SOL_SOCKET, S.SO_RCVBUF) == 2304
    c.close()


def test_tcp_nodelay_and_keepalive(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    assert c.getsockopt(S.IPPROTO_TCP, S.TCP_NODELAY) == 0
    c.setsockopt(S.IPPROTO_TCP, S.TCP_NODELAY, 1)
    assert c.getsockopt(S.IPPROTO_TCP, S.TCP_NODELAY) == 1
    c.setsockopt(S.SOL_SOCKET, S.SO_KEEPALIVE, 1)
    assert c.getsockopt(S.SOL_SOCKET, S.SO_KEEPALIVE) == 1
    c.close()


def test_select_poll_epoll_readiness(net):
    S = net.socket
    sel = net.select
    ls = listener(S)
    r, _, _ = sel.select([ls], [], [], 0)
    assert r == []
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(ls.getsockname())
    r, _, _ = sel.select([ls], [], [], 5)
    assert r == [ls]                   # a listener is readable with a connection pending
    s, _ = ls.accept()
    r, w, _ = sel.select([s], [s], [], 0)
    assert r == [] and w == [s]
    c.sendall(b"ping")
    p = sel.poll()
    p.register(s, sel.POLLIN)
    ev = p.poll(5000)
    assert ev and ev[0][0] == s.fileno() and ev[0][1] & sel.POLLIN
    ep = sel.epoll()
    ep.register(s.fileno(), sel.EPOLLIN)
    ev = ep.poll(5)
    assert ev and ev[0][1] & sel.EPOLLIN
    assert s.recv(4) == b"ping"
    assert ep.poll(0) == []
    c.close()
    ev = ep.poll(5)
    assert ev and ev[0][1] & sel.EPOLLIN     # EOF is readable
    ep.close()
    for x in (s, ls):
        x.close()


def test_selectors_accept_and_read(net):
    S = net.socket
    ls = listener(S)
    ls.setblocking(False)
    sel = net.selectors.DefaultSelector()
    sel.register(ls, net.selectors.EVENT_READ)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(ls.getsockname())
    ev = sel.select(5)
    assert [k.fileobj for k, _ in ev] == [ls]
    s, _ = ls.accept()
    sel.register(s, net.selectors.EVENT_READ)
    c.sendall(b"abc")
    ev = sel.select(5)
    assert any(k.fileobj is s for k, _ in ev)
    sel.close()
    for x in (c, s, ls):
        x.close()


def test_makefile(net):
    S = net.socket
    c, s = pair(S)
    wf = c.makefile("w", encoding="utf-8")
    rf = s.makefile("r", encoding="utf-8")
    wf.write("line one\nline two\n")
    wf.flush()
    assert rf.readline() == "line one\n"
    assert rf.readline() == "line two\n"
    wf.close()
    c.close()
    assert rf.readline() == ""
    rf.close()
    s.close()


def test_sendall_1mb(net):
    S = net.socket
    c, s = pair(S)
    data = bytes(range(256)) * 4096
    t = threading.Thread(target=c.sendall, args=(data,))
    t.start()
    got = recv_exact(s, len(data))
    t.join()
    assert got == data
    c.close()
    s.close()


def test_create_connection_and_server(net):
    S = net.socket
    srv = S.create_server((LO, 0))
    port = srv.getsockname()[1]
    c = S.create_connection(("localhost", port), timeout=5)
    s, _ = srv.accept()
    c.sendall(b"x")
    assert s.recv(1) == b"x"
    for x in (c, s, srv):
        x.close()


def test_recv_into_and_recvfrom(net):
    S = net.socket
    c, s = pair(S)
    c.sendall(b"0123456789")
    buf = bytearray(4)
    assert s.recv_into(buf) == 4 and bytes(buf) == b"0123"
    data, addr = s.recvfrom(3)
    assert data == b"456" and addr is None
    buf = bytearray(10)
    n, addr = s.recvfrom_into(buf)
    assert buf[:n] == b"789"[:n]
    c.close()
    s.close()


def test_dup_and_detach(net):
    S = net.socket
    c, s = pair(S)
    d = c.dup()
    c.close()
    d.sendall(b"dup")
    assert recv_exact(s, 3) == b"dup"
    assert d.getpeername() == s.getsockname()
    fd = d.detach()
    e = S.socket(S.AF_INET, S.SOCK_STREAM, 0, fileno=fd)
    e.sendall(b"again")
    assert recv_exact(s, 5) == b"again"
    e.close()
    assert s.recv(1) == b""
    s.close()


def test_fromfd(net):
    S = net.socket
    c, s = pair(S)
    f = S.fromfd(c.fileno(), S.AF_INET, S.SOCK_STREAM)
    f.sendall(b"ff")
    assert recv_exact(s, 2) == b"ff"
    assert f.getsockname() == c.getsockname()
    f.close()
    c.close()
    s.close()


def test_getaddrinfo_numeric_and_localhost(net):
    S = net.socket
    ai = S.getaddrinfo("127.0.0.1", 80, S.AF_INET, S.SOCK_STREAM)
    assert ai[0][4] == ("127.0.0.1", 80)
    ai = S.getaddrinfo("localhost", "80", S.AF_INET, S.SOCK_STREAM)
    assert ("127.0.0.1", 80) in [a[4] for a in ai]
    assert S.gethostbyname("localhost") == "127.0.0.1"
    assert S.gethostbyname("10.1.2.3") == "10.1.2.3"


def test_bad_address_types(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    with pytest.raises(TypeError):
        c.bind("127.0.0.1")
    with pytest.raises(OverflowError):
        c.bind((LO, 70000))
    c.close()


def test_closed_socket_ebadf(net):
    S = net.socket
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.close()
    assert c.fileno() == -1
    with pytest.raises(OSError) as ei:
        c.getsockname()
    assert ei.value.errno == errno.EBADF


def test_sendfile(net, tmp_path):
    S = net.socket
    f = tmp_path / "blob"
    blob = bytes(range(256)) * 2000
    f.write_bytes(blob)
    c, s = pair(S)
    with open(f, "rb") as fh:
        t = threading.Thread(target=lambda: c.sendfile(fh))
        t.start()
        got = recv_exact(s, len(blob))
        t.join()
    assert got == blob
    c.close()
    s.close()


def test_ssl_over_connected_sockets(net):
    import ssl
    from pathlib import Path
    data = Path(__file__).resolve().parents[1] / "integration" / "data"
    S = net.socket
    c, s = pair(S)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(data / "cert.pem", data / "key.pem")
    cctx = ssl.create_default_context(cafile=str(data / "cert.pem"))
    out = {}

    def server():
        ss = sctx.wrap_socket(s, server_side=True)
        out["req"] = ss.recv(100)
        ss.sendall(b"secret response")
        ss.close()
    t = threading.Thread(target=server)
    t.start()
    cs = cctx.wrap_socket(c, server_hostname="localhost")
    cs.sendall(b"secret request")
    assert cs.recv(100) == b"secret response"
    t.join(10)
    assert out["req"] == b"secret request"
    assert cs.version().startswith("TLS")
    cs.close()


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="raw sockets need root")
def test_raw_icmp_echo(net):
    import struct
    S = net.socket
    r = S.socket(S.AF_INET, S.SOCK_RAW, S.IPPROTO_ICMP)
    r.settimeout(5)
    ident = 0x4B53

    def csum(b):
        if len(b) % 2:
            b += b"\0"
        s = sum(struct.unpack(f"!{len(b) // 2}H", b))
        s = (s >> 16) + (s & 0xFFFF)
        s += s >> 16
        return ~s & 0xFFFF
    body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"kstack ping"
    pkt = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    r.sendto(pkt, ("127.0.0.1", 0))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        data, addr = r.recvfrom(2048)
        ihl = (data[0] & 0x0F) * 4
        typ, code, _, rid, seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if typ == 0 and rid == ident:
            assert addr[0] == "127.0.0.1" and data[ihl + 8:] == b"kstack ping"
            break
    else:
        pytest.fail("no echo reply")
    r.close()


def test_pending_connect_is_not_writable(net):
    """A SYN dropped by a listener whose accept queue is full: the connect stays
    pending, select() does not call the socket writable until the handshake
    completes (after accept() makes room and the SYN is retransmitted).
    On kstack the fd itself is writable at once; libsock's select asks the daemon."""
    import select as std_select
    S = net.socket
    sel = net.select
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.bind((LO, 0))
    ls.listen(1)
    socks = []
    pending = None
    for _ in range(6):
        c = S.socket(S.AF_INET, S.SOCK_STREAM)
        c.setblocking(False)
        assert c.connect_ex(ls.getsockname()) in (0, errno.EINPROGRESS)
        socks.append(c)
        if sel.select([], [c], [], 0.3)[1] == []:
            pending = c
            break
    assert pending is not None, "the accept queue never filled"
    if net.kind == "kstack":
        assert std_select.select([], [pending], [], 0)[1] == [pending]   # the fd alone
    ls.setblocking(False)
    for _ in range(len(socks) - 1):
        ls.accept()[0].close()
    assert sel.select([], [pending], [], 5)[1] == [pending]
    assert pending.getsockopt(S.SOL_SOCKET, S.SO_ERROR) == 0
    for c in socks:
        c.close()
    ls.close()


def test_listen_backlog_zero_accepts_one(net):
    S = net.socket
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.bind((LO, 0))
    ls.listen(0)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.settimeout(2)
    c.connect(ls.getsockname())
    s, _ = ls.accept()
    for x in (c, s, ls):
        x.close()


def test_connect_timeout(net):
    """A connect() whose SYN is dropped (full accept queue) times out as socket.timeout."""
    S = net.socket
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.bind((LO, 0))
    ls.listen(1)
    fillers = []
    timed_out = False
    for _ in range(6):
        c = S.socket(S.AF_INET, S.SOCK_STREAM)
        c.settimeout(0.4)
        fillers.append(c)
        t = time.monotonic()
        try:
            c.connect(ls.getsockname())
        except S.timeout:
            assert 0.3 < time.monotonic() - t < 3
            timed_out = True
            break
    assert timed_out
    for c in fillers:
        c.close()
    ls.close()
