"""Unmodified programs on kstack, each started with `kstack exec` (tools/exec.py)."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.lib.daemon import ROOT

sys.path.insert(0, str(ROOT))
from tools.exec import build_env  # noqa: E402


def kexec(rundir, args, **kw):
    """Popen a command the way `kstack exec -- CMD` runs it."""
    return subprocess.Popen(args, env=build_env(rundir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


def krun(rundir, code, timeout=60):
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=build_env(rundir),
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def kill(p):
    if p.poll() is None:
        p.kill()
    out, err = p.communicate(timeout=10)
    return out.decode(), err.decode()


def free_port(rundir):
    out = krun(rundir, """
        import socket
        s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])""")
    return int(out)


WAIT_PORT = """
import socket, time, sys
port = {port}
for _ in range(400):
    try:
        c = socket.create_connection(('127.0.0.1', port), timeout=5)
        c.close(); break
    except ConnectionRefusedError:
        time.sleep(0.025)
else:
    sys.exit('server never came up')
"""


def test_exec_installs_libsock(kstackd):
    out = krun(kstackd.rundir, """
        import socket, select, selectors
        print(socket.__name__, select.__name__, selectors.__name__)""")
    assert out.split() == ["libsock.socket", "libsock.select", "libsock.selectors"]


def test_exec_tool_refuses_missing_daemon(tmp_path):
    p = subprocess.run([sys.executable, "-m", "tools.exec", "-n", str(tmp_path / "none"), "--",
                        "true"], cwd=ROOT, capture_output=True)
    assert p.returncode == 1
    assert str(tmp_path / "none") in p.stderr.decode()


def test_http_server_and_urllib(kstackd, tmp_path):
    (tmp_path / "hello.txt").write_text("hello from kstack\n")
    port = free_port(kstackd.rundir)
    srv = kexec(kstackd.rundir, [sys.executable, "-m", "http.server", str(port),
                                 "--bind", "127.0.0.1", "--directory", str(tmp_path)])
    try:
        out = krun(kstackd.rundir, WAIT_PORT.format(port=port) + f"""
import urllib.request
for _ in range(3):
    with urllib.request.urlopen('http://127.0.0.1:{port}/hello.txt', timeout=10) as r:
        print(r.status, r.read().decode().strip())
""")
        assert out.splitlines() == ["200 hello from kstack"] * 3
    finally:
        _, err = kill(srv)
    assert '"GET /hello.txt HTTP/1.1" 200' in err


ASYNCIO_SERVER = """
import asyncio, sys
async def handle(r, w):
    while data := await r.read(65536):
        w.write(data)
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', {port})
    print('up', flush=True)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
"""

ASYNCIO_CLIENT = """
import asyncio
async def one(i):
    r, w = await asyncio.open_connection('127.0.0.1', {port})
    msg = (b'%d ' % i) * 1000
    w.write(msg)
    await w.drain()
    got = await r.readexactly(len(msg))
    w.close()
    await w.wait_closed()
    return got == msg
async def main():
    ok = await asyncio.gather(*(one(i) for i in range(20)))
    print(sum(ok))
asyncio.run(main())
"""


def test_asyncio_echo(kstackd):
    port = free_port(kstackd.rundir)
    srv = kexec(kstackd.rundir, [sys.executable, "-c", ASYNCIO_SERVER.format(port=port)])
    try:
        assert srv.stdout.readline() == b"up\n"
        out = krun(kstackd.rundir, ASYNCIO_CLIENT.format(port=port))
        assert out.strip() == "20"
    finally:
        kill(srv)


SOCKETSERVER = """
import socketserver, sys, os
class H(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        self.wfile.write(b'%d:' % os.getpid() + line.upper())
cls = getattr(socketserver, sys.argv[1])
cls.allow_reuse_address = True
with cls(('127.0.0.1', int(sys.argv[2])), H) as srv:
    print('up', os.getpid(), flush=True)
    srv.serve_forever()
"""

SS_CLIENT = """
import socket
pids = set()
for i in range(10):
    with socket.create_connection(('127.0.0.1', {port}), timeout=10) as c:
        c.sendall(b'hello %d\\n' % i)
        f = c.makefile('rb')
        line = f.readline()
        pid, rest = line.split(b':', 1)
        assert rest == b'HELLO %d\\n' % i, line
        pids.add(int(pid))
print(len(pids))
"""


@pytest.mark.parametrize("server", ["ThreadingTCPServer", "ForkingTCPServer"])
def test_socketserver(kstackd, server):
    port = free_port(kstackd.rundir)
    srv = kexec(kstackd.rundir, [sys.executable, "-c", SOCKETSERVER, server, str(port)])
    try:
        up = srv.stdout.readline().split()
        assert up[0] == b"up"
        out = krun(kstackd.rundir, SS_CLIENT.format(port=port))
        npids = int(out)
        # threads answer from the server's pid; forked children from their own
        assert npids == (1 if server == "ThreadingTCPServer" else 10)
    finally:
        kill(srv)


UDP_SERVER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
for _ in range(100):
    data, addr = s.recvfrom(2048)
    s.sendto(data[::-1], addr)
"""

UDP_CLIENT = """
import socket
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(10)
ok = 0
for i in range(100):
    msg = b'datagram %d' % i
    c.sendto(msg, ('127.0.0.1', {port}))
    data, addr = c.recvfrom(2048)
    ok += data == msg[::-1] and addr == ('127.0.0.1', {port})
print(ok)
"""


def test_udp_exchange(kstackd):
    srv = kexec(kstackd.rundir, [sys.executable, "-c", UDP_SERVER])
    try:
        port = int(srv.stdout.readline())
        out = krun(kstackd.rundir, UDP_CLIENT.format(port=port))
        assert out.strip() == "100"
    finally:
        kill(srv)


SELECTORS_SERVER = """
import selectors, socket
sel = selectors.DefaultSelector()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', 0))
ls.listen(1024)
ls.setblocking(False)
sel.register(ls, selectors.EVENT_READ)
print(ls.getsockname()[1], flush=True)
while True:
    for key, ev in sel.select():
        if key.fileobj is ls:
            while True:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
        else:
            c = key.fileobj
            data = c.recv(4096)
            if data:
                c.send(data)
            else:
                sel.unregister(c)
                c.close()
"""

THOUSAND_CLIENTS = """
import selectors, socket, time
N = 1000
sel = selectors.DefaultSelector()
socks = []
t = time.monotonic()
for i in range(N):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(('127.0.0.1', {port}))
    socks.append(c)
    sel.register(c, selectors.EVENT_WRITE, i)
pending = set(range(N))
sent = set()
got = {{}}
deadline = time.monotonic() + 60
while len(got) < N and time.monotonic() < deadline:
    for key, ev in sel.select(5):
        i = key.data
        c = key.fileobj
        if ev & selectors.EVENT_WRITE and i not in sent:
            c.send(b'conn %d' % i)
            sent.add(i)
            sel.modify(c, selectors.EVENT_READ, i)
        elif ev & selectors.EVENT_READ:
            got[i] = c.recv(100)
            sel.unregister(c)
ok = sum(got.get(i) == b'conn %d' % i for i in range(N))
for c in socks:
    c.close()
print(ok, round(time.monotonic() - t, 2))
"""


def test_thousand_concurrent_connections(kstackd):
    srv = kexec(kstackd.rundir, [sys.executable, "-c", SELECTORS_SERVER])
    try:
        port = int(srv.stdout.readline())
        out = krun(kstackd.rundir, THOUSAND_CLIENTS.format(port=port), timeout=120)
        assert out.split()[0] == "1000", out
    finally:
        kill(srv)


HTTPS_SERVER = """
import http.server, ssl, sys, functools
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[3])
srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""

HTTPS_CLIENT = """
import socket, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
with urllib.request.urlopen('https://localhost:%s/hello.txt' % sys.argv[2], context=ctx, timeout=10) as r:
    print(r.status, r.read().decode().strip(), ssl.SSLSocket.__mro__[1].__module__)
"""


def test_https_server_and_client(kstackd, tmp_path):
    data = Path(__file__).resolve().parent / "data"
    (tmp_path / "hello.txt").write_text("hello over tls\n")
    srv = kexec(kstackd.rundir, [sys.executable, "-c", HTTPS_SERVER, str(data / "cert.pem"),
                                 str(data / "key.pem"), str(tmp_path)])
    try:
        port = int(srv.stdout.readline())
        p = subprocess.run([sys.executable, "-c", HTTPS_CLIENT, str(data / "cert.pem"), str(port)],
                           env=build_env(kstackd.rundir), capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
        assert p.stdout.decode().split() == ["200", "hello", "over", "tls", "libsock.socket"]
    finally:
        kill(srv)


def test_kstack_exec_runs_a_program(kstackd):
    p = subprocess.run([sys.executable, "-m", "tools.exec", "-n", kstackd.rundir, "--",
                        sys.executable, "-c",
                        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                        "s.bind(('127.0.0.1', 0)); print(type(s).__module__)"],
                       cwd=ROOT, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().strip() == "libsock.socket"
