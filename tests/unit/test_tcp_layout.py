"""How the TCP modules are put together, not what they do on the wire: any of them may be
imported first (calls up the import order go through tcp.LateModule), and a TCP socket keeps
its fields in __slots__ (no per-socket __dict__), with no queue storage for what it does not
use (accept queue unless listening, SACK blocks until it sends one, rtx queue as a list).
"""
import subprocess
import sys
from pathlib import Path

from kstack.core.sock import AF_INET, SOCK_STREAM
from kstack.world import World

ROOT = Path(__file__).resolve().parents[2]
TCP_MODULES = ["tcp", "tcp_input", "tcp_output", "tcp_ipv4", "tcp_timer", "tcp_minisocks",
               "tcp_cong", "tcp_cubic", "tcp_recovery", "inet_hashtables",
               "inet_connection_sock", "inet_timewait_sock"]


def test_each_tcp_module_can_be_imported_first():
    code = ("import sys, importlib\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module('kstack.net.ipv4.' + name)\n")
    # the modules in the middle of the import order (the ends import nothing of TCP, or
    # everything): a fresh interpreter each, as the first TCP import decides the order
    for first in ("tcp", "tcp_recovery", "tcp_output", "tcp_minisocks", "tcp_input",
                  "inet_connection_sock", "inet_hashtables"):
        rest = [m for m in TCP_MODULES if m != first]
        r = subprocess.run([sys.executable, "-c", code, first, *rest], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"importing {first} first: {r.stderr[-2000:]}"


def test_late_module_binds_the_real_module():
    from kstack.net.ipv4 import tcp, tcp_output
    assert tcp.tcp_output.tcp_send_ack is tcp_output.tcp_send_ack
    assert tcp.tcp_output is tcp_output        # the stand-in replaced itself


def _connected_pair():
    w = World()
    h = w.host("h")
    srv = h.process()
    ls = srv.socket(AF_INET, SOCK_STREAM)
    srv.bind(ls, ("127.0.0.1", 7000))
    srv.listen(ls)
    c = h.socket(AF_INET, SOCK_STREAM)
    h.connect(c, ("127.0.0.1", 7000))
    s, _ = srv.accept(ls)
    h.send(c, b"ping")
    assert srv.recv(s, 10) == b"ping"
    srv.send(s, b"pong")
    assert h.recv(c, 10) == b"pong"
    w.run_for(1.0)
    return w, h, srv, ls, c, s


def test_tcp_sock_fields_are_slots():
    w, h, srv, ls, c, s = _connected_pair()
    for sk in (h.sock(c), srv.sock(s), srv.sock(ls)):
        assert vars(sk) == {}, (f"fields outside __slots__: {sorted(vars(sk))}; name them in "
                                "inet_connection_sock._SOCK_FIELDS / _INET_SOCK_FIELDS (set in "
                                "core/sock.py) or TcpSock.__slots__")
    assert h.net.bugs == []


def test_idle_connection_has_no_unused_queue_storage():
    w, h, srv, ls, c, s = _connected_pair()
    for sk in (h.sock(c), srv.sock(s)):
        assert sk.icsk_accept_queue.rskq_accept == ()       # not a listener
        assert sk.selective_acks == () and sk.duplicate_sack == ()
        assert type(sk.tcp_rtx_queue.q) is list and not sk.tcp_rtx_queue
    assert len(srv.sock(ls).icsk_accept_queue.rskq_accept) == 0   # a real (empty) queue


def test_defer_accept_set_before_listen_survives_listen():
    """TCP_DEFER_ACCEPT before listen() is kept (reqsk_queue_alloc keeps rskq_defer_accept)."""
    from kstack.world import World
    TCP_DEFER_ACCEPT = 9
    w = World()
    h = w.host("h")
    s = h.socket(2, 1, 0)
    h.setsockopt(s, 6, TCP_DEFER_ACCEPT, 5)
    before = h.getsockopt(s, 6, TCP_DEFER_ACCEPT)
    h.bind(s, ("127.0.0.1", 8080))
    h.listen(s, 8)
    assert before == 7   # Linux: 5 s -> 3 SYN-ACK retransmits -> 1+2+4 s
    assert h.getsockopt(s, 6, TCP_DEFER_ACCEPT) == 7
