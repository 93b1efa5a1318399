"""libsock against a kstackd: data ordering, fork, isolation and faults."""
import errno
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.lib.daemon import ROOT, env_for

LO = "127.0.0.1"
MB10 = 10 * 1024 * 1024


@pytest.fixture
def S(kstackd):
    from libsock import socket as lsocket
    return lsocket


def listener(S):
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.bind((LO, 0))
    ls.listen(8)
    ls.settimeout(30)
    return ls


def drain(sock):
    h = hashlib.sha256()
    n = 0
    while True:
        d = sock.recv(262144)
        if not d:
            return n, h.hexdigest()
        h.update(d)
        n += len(d)


@pytest.mark.parametrize("how", ["shutdown", "close"])
def test_10mb_then_fin_delivers_every_byte(S, how):
    """sendall then shutdown(SHUT_WR)/close: every byte arrives before EOF (twice)."""
    payload = os.urandom(1 << 20) * 10
    want = hashlib.sha256(payload).hexdigest()
    for _ in range(2):
        ls = listener(S)
        c = S.socket(S.AF_INET, S.SOCK_STREAM)
        c.connect(ls.getsockname())
        s, _ = ls.accept()
        result = {}
        t = threading.Thread(target=lambda: result.update(r=drain(s)))
        t.start()
        c.sendall(payload)
        if how == "shutdown":
            c.shutdown(S.SHUT_WR)
        c.close()
        t.join(60)
        assert result["r"] == (MB10, want)
        s.close()
        ls.close()


def test_fork_shares_socket(S):
    ls = listener(S)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(ls.getsockname())
    s, _ = ls.accept()
    pid = os.fork()
    if pid == 0:
        try:
            # the child's own session; the socket is adopted on first use
            s.sendall(b"from child %d" % os.getpid())
            s.getpeername()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    c.settimeout(5)
    assert c.recv(100) == b"from child %d" % pid
    # the parent's copy still works: the child's exit closed only its copy
    s.sendall(b"parent")
    assert c.recv(100) == b"parent"
    s.close()
    assert c.recv(10) == b""
    c.close()
    ls.close()


def test_isolation_other_session_cannot_use_fd(S, kstackd):
    from libsock import _syscall
    mine = S.socket(S.AF_INET, S.SOCK_STREAM)
    mine.bind((LO, 0))
    fd = mine.fileno()
    code = textwrap.dedent(f"""
        from libsock import _syscall
        s = _syscall.session()
        print(s.call('getsockname', {fd})[0], s.call('bind', {fd}, '127.0.0.1', 0)[0],
              s.call('listen', {fd}, 5)[0])
    """)
    p = subprocess.run([sys.executable, "-c", code], env=env_for(kstackd.rundir),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [b"-9", b"-9", b"-9"]        # EBADF, EBADF, EBADF
    assert mine.getsockname()[0] == LO
    mine.close()


def test_kill9_mid_transfer_peer_sees_end(S, kstackd):
    ls = listener(S)
    port = ls.getsockname()[1]
    code = textwrap.dedent(f"""
        from libsock import socket
        c = socket.create_connection(('127.0.0.1', {port}))
        print('connected', flush=True)
        while True:
            c.sendall(b'x' * 65536)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], env=env_for(kstackd.rundir),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    s, _ = ls.accept()
    assert p.stdout.readline() == b"connected\n"
    s.settimeout(10)
    assert len(s.recv(65536)) > 0
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    p.stderr.close()
    t = time.monotonic()
    ended = None
    while time.monotonic() - t < 10:
        try:
            if not s.recv(1 << 20):
                ended = "eof"
                break
        except ConnectionResetError:
            ended = "reset"
            break
    assert ended in ("eof", "reset")
    s.close()
    ls.close()


def test_ctrl_c_interrupts_blocking_accept_socket_stays_usable(S, kstackd):
    ls = listener(S)
    port = ls.getsockname()[1]
    code = textwrap.dedent("""
        import os, signal, threading, time
        from libsock import socket
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(4)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            ls.accept()
        except KeyboardInterrupt:
            print('interrupted', flush=True)
        c = socket.create_connection(ls.getsockname())
        s, _ = ls.accept()
        c.sendall(b'ok')
        print(s.recv(2).decode(), flush=True)
    """)
    p = subprocess.run([sys.executable, "-c", code], env=env_for(kstackd.rundir),
                       capture_output=True, timeout=30)
    assert p.stdout.split() == [b"interrupted", b"ok"], p.stderr
    ls.close()


def test_ctrl_c_interrupts_parked_call(S, kstackd):
    """A call parked in the daemon (a poll on the socket) is cancelled by Ctrl-C."""
    code = textwrap.dedent("""
        import os, signal, threading
        from libsock import socket, _syscall
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(4)
        sess = _syscall.session()
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            ls._call('wait', 1, None)        # sleeps in the daemon until readable
        except KeyboardInterrupt:
            print('interrupted', flush=True)
        print(ls.getsockname()[0], flush=True)
    """)
    p = subprocess.run([sys.executable, "-c", code], env=env_for(kstackd.rundir),
                       capture_output=True, timeout=30)
    assert p.stdout.split() == [b"interrupted", b"127.0.0.1"], p.stderr
    assert kstackd.stats()["parked"] == 0


def _killed_while_blocked(kstackd, call: str, within: float):
    """A client blocked in ``ls.<call>`` sees ENETDOWN within ``within`` seconds of the
    daemon's SIGKILL."""
    code = textwrap.dedent("""
        import time
        from libsock import socket
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(4)
        print('blocking', flush=True)
        t = time.monotonic()
        try:
            ls.%s
        except OSError as e:
            print('error', e.errno, round(time.monotonic() - t, 1), flush=True)
    """) % call
    p = subprocess.Popen([sys.executable, "-c", code], env=env_for(kstackd.rundir),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"blocking\n"
    time.sleep(0.3)
    os.kill(kstackd.proc.pid, signal.SIGKILL)
    out, err = p.communicate(timeout=10)
    words = out.split()
    assert words[:2] == [b"error", str(errno.ENETDOWN).encode()], (out, err)
    assert float(words[2]) < within


def test_daemon_killed_under_blocked_client(kstackd):
    _killed_while_blocked(kstackd, "accept()", 5)


def test_threads_share_pooled_channels(S):
    """Threads that come and go (ThreadingTCPServer) do not each keep a DEALER."""
    from libsock import _syscall
    a = S.socket(S.AF_INET, S.SOCK_DGRAM)
    a.bind((LO, 0))
    a.getsockname()
    before = len(os.listdir("/proc/self/fd"))
    names = []
    for _ in range(5):
        ts = [threading.Thread(target=lambda: names.append(a.getsockname())) for _ in range(10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert len(names) == 50 and len(set(names)) == 1
    assert len(_syscall.session().free) <= 11
    assert len(os.listdir("/proc/self/fd")) - before <= 30
    a.close()


def test_fd_passed_to_another_process_is_identified(S, kstackd):
    """SCM_RIGHTS to a process that never saw the socket: fromfd asks the daemon
    (identify), which knows it by the inode of the fd it is sent."""
    import socket as std_socket
    ls = listener(S)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.connect(ls.getsockname())
    s, _ = ls.accept()
    a, b = std_socket.socketpair()
    code = textwrap.dedent("""
        import socket as std, sys
        from libsock import socket
        b = std.socket(fileno=int(sys.argv[1]))
        msg, fds, _, _ = std.recv_fds(b, 10, 1)
        t = socket.fromfd(fds[0], socket.AF_INET, socket.SOCK_STREAM)
        print(t.getpeername()[1], t.type == socket.SOCK_STREAM, flush=True)
        t.sendall(b'from another process')
    """)
    p = subprocess.Popen([sys.executable, "-c", code, str(b.fileno())], pass_fds=[b.fileno()],
                         env=env_for(kstackd.rundir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    std_socket.send_fds(a, [b"x"], [c.fileno()])
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    port, is_stream = out.split()
    assert int(port) == ls.getsockname()[1] and is_stream == b"True"
    s.settimeout(5)
    assert s.recv(100) == b"from another process"
    for x in (a, b, c, s, ls):
        x.close()


def test_daemon_killed_under_a_parked_call(kstackd):
    _killed_while_blocked(kstackd, "_call('wait', 1, None)", 3)     # parked in the daemon


def test_small_buffers_bound_what_the_fd_holds(S):
    """With small SO_SNDBUF/SO_RCVBUF the pair's own buffers shrink too, so a
    sender that nobody reads blocks after about what Linux would let through."""
    import socket as std_socket
    ls = listener(S)
    ls.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 4096)
    c = S.socket(S.AF_INET, S.SOCK_STREAM)
    c.setsockopt(S.SOL_SOCKET, S.SO_SNDBUF, 4096)
    c.connect(ls.getsockname())
    s, _ = ls.accept()
    s.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 4096)
    c.setblocking(False)
    sent = 0
    for _ in range(20):
        try:
            while True:
                sent += c.send(b"x" * 1024)
        except BlockingIOError:
            time.sleep(0.05)
    # kernel pair buffers (<= 2 x 4608 x 2) + kstack's 8 KiB buffers + one segment
    assert sent < 100 * 1024, sent      # Linux: ~13 KiB; kstack ~40 KiB
    got = 0
    s.settimeout(5)
    while got < sent:
        got += len(s.recv(65536))
    assert got == sent
    for x in (c, s, ls):
        x.close()
