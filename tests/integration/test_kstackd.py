"""kstackd as a process: rundir rules, sessions, bad requests, SIGTERM."""
import os
import signal
import socket
import stat
import subprocess
import sys
import time

import msgpack
import pytest
import zmq

from tests.lib.daemon import ROOT, env_for, start_daemon, stop_daemon


def run_kstackd(rundir, timeout=10):
    return subprocess.run([sys.executable, "-m", "kstack.kstackd", "--rundir", str(rundir)],
                          env=env_for(rundir), capture_output=True, timeout=timeout)


def test_rundir_created_private(kstackd):
    st = os.stat(kstackd.rundir)
    assert stat.S_IMODE(st.st_mode) == 0o700
    for name in ("session", "syscall", "control"):
        p = os.path.join(kstackd.rundir, name)
        assert os.path.exists(p)


def test_refuses_group_writable_rundir(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    r = run_kstackd(d)
    assert r.returncode == 1
    assert b"writable by group or others" in r.stderr


def test_refuses_rundir_owned_by_other(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    os.chown(d, 12345, 12345)
    r = run_kstackd(d)
    assert r.returncode == 1
    assert b"owned by uid 12345" in r.stderr


def test_refuses_second_daemon(kstackd):
    r = run_kstackd(kstackd.rundir)
    assert r.returncode == 1
    assert b"already running" in r.stderr
    assert kstackd.alive()


def test_sigterm_cleans_up(tmp_path):
    d = start_daemon(tmp_path / "h")
    os.kill(d.proc.pid, signal.SIGTERM)
    assert d.proc.wait(10) == 0
    left = sorted(os.listdir(d.rundir))
    assert left == []
    stop_daemon(d)


def test_idle_daemon_uses_no_cpu(kstackd):
    import resource  # noqa: F401
    pid = kstackd.proc.pid

    def cpu():
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])     # utime + stime, clock ticks
    time.sleep(0.3)
    a = cpu()
    time.sleep(1.0)
    assert cpu() - a <= 2          # at most 20 ms of CPU in a second of idling


def _dealer(rundir):
    ctx = zmq.Context.instance()
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect("ipc://" + os.path.join(rundir, "syscall"))
    return d


def _recv(d, timeout=5):
    assert d.poll(timeout * 1000), "no reply"
    return msgpack.unpackb(d.recv(), raw=False)


def test_garbage_requests_get_errno_and_count(kstackd):
    d = _dealer(kstackd.rundir)
    cases = [
        b"\xff\xfe garbage",                               # not msgpack
        msgpack.packb({"a": 1}),                            # wrong shape
        msgpack.packb([1]),                                 # too short
        msgpack.packb([2, "no_such_call", 1, 2]),           # unknown call
        msgpack.packb([3, "socket", 2, 1, 0, 5]),           # no session attached
    ]
    for c in cases:
        d.send(c)
    replies = [_recv(d) for _ in cases]
    assert [r[1] < 0 for r in replies] == [True] * len(cases)
    assert replies[3] == [2, -38]                           # ENOSYS
    assert replies[4] == [3, -107]                          # ENOTCONN: attach first
    # a huge frame is refused by the transport (MAXMSGSIZE) without harm
    d.send(b"x" * (2 << 20))
    d.send(msgpack.packb([9, "ping"]))
    assert kstackd.alive()
    st = kstackd.stats()
    assert st["bad_requests"] >= 5
    d.close()


def test_wrong_types_with_a_session(kstackd):
    from libsock import _syscall
    s = _syscall.session()
    for args in (["bind", "x", "y", "z"], ["bind", 3, None, "port"], ["listen", 3, "many"],
                 ["setsockopt", 3, "a", 1, 1], ["connect", [], {}, 1],
                 ["getsockopt", 3, 1, 2, -5]):
        r = s.call(*args)
        assert r[0] < 0, args
    assert s.call("ping")[0] == 0
    assert kstackd.alive()


def test_session_reaped_when_client_dies(kstackd):
    code = ("from libsock import _syscall; s = _syscall.session(); s.call('ping'); "
            "import os; print(s.sid, flush=True); os.kill(os.getpid(), 9)")
    p = subprocess.run([sys.executable, "-c", code], env=env_for(kstackd.rundir),
                       capture_output=True, timeout=20)
    assert p.returncode == -9
    for _ in range(100):
        st = kstackd.stats()
        if st["sessions_open"] == 0:
            break
        time.sleep(0.02)
    assert st["sessions_open"] == 0
    assert st["sessions"] >= 1


def test_daemon_not_running_names_rundir(tmp_path, monkeypatch):
    from libsock import _syscall
    monkeypatch.setenv("KSTACK_RUNDIR", str(tmp_path / "nobody"))
    old = _syscall._session
    _syscall._session = None
    try:
        t = time.monotonic()
        with pytest.raises(OSError) as ei:
            _syscall.session()
        assert time.monotonic() - t < 2
        assert str(tmp_path / "nobody") in str(ei.value)
    finally:
        _syscall._session = old


def test_capture_publishes_frames_only_while_subscribed(kstackd):
    import msgpack
    from libsock import socket as S
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect("ipc://" + os.path.join(kstackd.rundir, "capture"))
    sub.setsockopt(zmq.SUBSCRIBE, b"lo")
    for _ in range(100):
        if kstackd.stats()["capture_tap"]:
            break
        time.sleep(0.02)
    assert kstackd.stats()["capture_tap"]
    a = S.socket(S.AF_INET, S.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    a.sendto(b"captured payload", a.getsockname())
    a.settimeout(5)
    assert a.recv(100) == b"captured payload"
    assert sub.poll(5000)
    dev, meta, frame = sub.recv_multipart()
    ts, ifindex, pkt_type, length = msgpack.unpackb(meta)
    assert dev == b"lo" and ifindex == 1 and length == len(frame)
    assert frame[12:14] == b"\x08\x00" and frame.endswith(b"captured payload")
    sub.close()
    for _ in range(100):
        if not kstackd.stats()["capture_tap"]:
            break
        time.sleep(0.02)
    assert not kstackd.stats()["capture_tap"]
    a.close()


def test_sock_diag_lists_sockets_with_owners(kstackd):
    from libsock import socket as S
    a = S.socket(S.AF_INET, S.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    with kstackd.control() as c:
        rows = c.request("SOCK_DIAG", {})
    mine = [r for r in rows if r.get("sport") == port]
    assert len(mine) == 1
    r = mine[0]
    assert r["src"] == "127.0.0.1" and r["type"] == S.SOCK_DGRAM
    assert r["owners"] == [[os.getpid(), a.fileno()]]
    a.close()
    time.sleep(0.2)
    with kstackd.control() as c:
        rows = c.request("SOCK_DIAG", {})
    assert not [r for r in rows if r.get("sport") == port]


def test_config_file_applies_addresses_routes_sysctls(tmp_path):
    cfg = tmp_path / "host.toml"
    cfg.write_text(
        '[host]\nname = "alpha"\n'
        '[[address]]\ndev = "lo"\nlocal = "10.9.0.1/24"\n'
        '[sysctl]\n"net.core.somaxconn" = 1000\n')
    d = start_daemon(tmp_path / "cfg", extra=("--config", str(cfg)))
    try:
        with d.control() as c:
            links = c.request("RTM_GETADDR", {"dump": True})
            assert "10.9.0.1" in [a["local"] for l in links for a in l["addr_info"]]
            assert c.request("SYSCTL_GET", {"name": "net.core.somaxconn"}) == "1000"
    finally:
        stop_daemon(d)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[address]]\ndev = "nosuch0"\nlocal = "10.0.0.1/24"\n')
    r = subprocess.run(
        [sys.executable, "-m", "kstack.kstackd", "--rundir", str(tmp_path / "bad"),
         "--config", str(bad)], env=env_for(tmp_path / "bad"), capture_output=True, timeout=30)
    assert r.returncode == 1 and b"No such device" in r.stderr


def test_fuzzed_arguments_never_kill_the_daemon(kstackd):
    """Every call with junk arguments: an errno back, the daemon alive, no bug recorded."""
    import random
    from libsock import _syscall
    from libsock import socket as S
    s = _syscall.session()
    u = S.socket(S.AF_INET, S.SOCK_DGRAM)        # a real fd number to aim at
    fd = u.fileno()
    rng = random.Random(5)
    junk = [None, -1, 0, 1, fd, 2**31, 2**63 - 1, -2**63, 1.5, "", "x" * 300, b"\0" * 70,
            [], [1, 2], {"a": 1}, True, "127.0.0.1", 65536, -70000]
    calls = ["socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername",
             "setsockopt", "getsockopt", "shutdown", "geterr", "ioctl", "sendto", "recvfrom",
             "poll", "info", "wait", "identify", "ping"]
    for _ in range(600):
        name = rng.choice(calls)
        args = [rng.choice(junk) for _ in range(rng.randrange(0, 7))]
        if name == "wait":
            args = [fd, 1, 0]              # never sleep here
        r = s.call(name, *args)
        assert isinstance(r, list) and (not isinstance(r[0], int) or r[0] <= 2**31), (name, args)
    assert kstackd.alive()
    st = kstackd.stats()
    assert st["bugs"] == [], st["bugs"][:3]
    u.close()
