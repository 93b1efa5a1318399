"""The packetdrill interpreter core (tools/packetdrill/runner.py) against a scripted fake stack.

FakeStack is a few lines of TCP-shaped behaviour on a fake clock: it answers a SYN to
8080 with a SYN-ACK (its own ISN 1000000 and TS val 5555), completes accept() on the
third ACK, and sends write() data as MSS segments. The tests check the interpreter's
reading of the language (README "The script language"): time model and tolerance, ISN
and TS ecr translation, GSO aggregation, blocking calls, shell commands, nstat, code
blocks, and that mismatches are reported with the line, the expected and the actual.
"""

import struct
import textwrap

import pytest

from tools.packetdrill.parser import parse_script
from tools.packetdrill.runner import (TH_ACK, TH_PSH, TH_RST, TH_SYN, Backend, CallHandle, Config, Nstat,
                                     Runner, build_icmp_frag_needed, build_tcp_packet, bre_to_re, ip_aton,
                                     parse_ipv4_packet, parse_tcp_info, script_config)
from tools.packetdrill import cli

LOCAL, REMOTE = ip_aton("192.168.0.1"), ip_aton("192.0.2.1")
ISN = 1_000_000


class FakeStack(Backend):
    """A scripted stand-in for a TCP stack: enough to exercise the interpreter."""

    name = "fake"

    def __init__(self, synack_delay=0.0, data_seg=1000, psh_last=True, tsval=5555, inject_cost=0.0,
                 accept_blocks=True, info=None):
        self.t = 0.0
        self.out = []            # (time, bytes) scheduled outbound
        self.injected = []       # (time, LivePacket)
        self.synack_delay = synack_delay
        self.data_seg = data_seg
        self.psh_last = psh_last
        self.tsval = tsval
        self.inject_cost = inject_cost
        self.peer = None
        self.snd_nxt = ISN + 1
        self.rcv_nxt = 0
        self.accept_h = None
        self.established = False
        self.sysctls = {"net.ipv4.tcp_rmem": "4096 131072 6291456"}
        self.mib = {"TcpExtFoo": 0, "TcpInSegs": 0}
        self.next_fd = 3
        self.info = info or {"tcpi_snd_cwnd": 10, "tcpi_advmss": 1460}
        self.qdisc = None

    # backend interface
    def setup(self, config):
        self.cfg = config

    def start_clock(self):
        self.t = 0.0

    def now(self):
        return self.t

    def _due(self, until):
        return [o for o in self.out if o[0] <= until]

    def advance(self, t, stop):
        if self.accept_h is not None and self.accept_h.done:
            return
        if t > self.t:
            self.t = t

    def next_outbound(self, deadline, stop):
        if not self.out:
            if deadline is not None and deadline > self.t:
                self.t = deadline
            return None
        self.out.sort(key=lambda o: o[0])
        t, raw = self.out[0]
        if deadline is not None and t > deadline:
            self.t = deadline
            return None
        self.out.pop(0)
        self.t = max(self.t, t)
        return parse_ipv4_packet(raw, t)

    def emit(self, delay, flags, seq, ack, payload=0, opts=None):
        raw = build_tcp_packet(LOCAL, REMOTE, 8080, self.peer, seq, ack, flags, 1050,
                               opts if opts is not None else [("nop", None), ("nop", None),
                                                               ("TS", (self.tsval, self.last_ts))], payload)
        self.out.append((self.t + delay, raw))

    def inject(self, packet, gso_size=0):
        p = parse_ipv4_packet(packet, self.t)
        self.injected.append((self.t, p))
        self.mib["TcpInSegs"] += 1
        ts = dict(p.options).get("TS")
        self.last_ts = ts[0] if ts else 0
        if p.flags & TH_SYN:
            self.peer = p.sport
            self.rcv_nxt = p.seq + 1
            self.emit(self.synack_delay, TH_SYN | TH_ACK, ISN, self.rcv_nxt,
                      opts=[("mss", 1460), ("sackOK", None), ("TS", (self.tsval, self.last_ts)), ("nop", None),
                            ("wscale", 8)])
        elif p.flags & TH_ACK and not self.established and p.ack == ISN + 1:
            self.established = True
            self.mib["TcpExtFoo"] += 2
            if self.accept_h is not None and not self.accept_h.done:
                self.accept_h.finish((self._newfd(), ("192.0.2.1", self.peer)), self.t)
        self.t += self.inject_cost      # the packet's processing takes time

    def _newfd(self):
        fd = self.next_fd
        self.next_fd += 1
        return fd

    def call(self, name, *args, background=False):
        h = CallHandle(name)
        if name == "socket":
            h.finish(self._newfd(), self.t)
        elif name in ("setsockopt", "bind", "listen", "close", "shutdown"):
            h.finish(0, self.t)
        elif name == "accept":
            if self.established or not self.accept_blocks_now():
                h.finish((self._newfd(), ("192.0.2.1", self.peer)), self.t)
            else:
                self.accept_h = h
        elif name == "write":
            n = args[1]
            off = 0
            while off < n:
                k = min(self.data_seg, n - off)
                last = off + k >= n
                self.emit(0, TH_ACK | (TH_PSH if last and self.psh_last else 0), self.snd_nxt, self.rcv_nxt, k)
                self.snd_nxt += k
                off += k
            h.finish(n, self.t)
        elif name == "getsockopt":
            h.finish((0, struct.pack("i", 1100)), self.t)
        else:
            from tools.packetdrill.runner import Unsupported
            h.finish(Unsupported(f"system call {name}() on fake"), self.t)
        return h

    def accept_blocks_now(self):
        return True

    def wait_call(self, h, limit, stop):
        if not h.done and limit > self.t:
            self.t = limit

    def tcp_info(self, fd):
        return dict(self.info)

    def sysctl_get(self, name):
        return self.sysctls.get(name)

    def sysctl_set(self, name, value):
        if name == "net.ipv4.tcp_fack":
            return -2
        self.sysctls[name] = " ".join(str(value).split())
        return 0

    def mib_snapshot(self):
        return dict(self.mib)

    def set_qdisc(self, dev, kind, args):
        self.qdisc = (dev, kind)
        return ""


PASSIVE = """\
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 300 ecr 100,nop,wscale 8>
+.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 200 ecr 300>
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 3000) = 3000
+0 > P. 1:3001(3000) ack 1 <nop,nop,TS val 300 ecr 200>
"""


def run(text, backend=None, **flags):
    script = parse_script(textwrap.dedent(text), "/tmp/t.pkt")
    cfg = script_config(script, Config(), flags)
    b = backend or FakeStack()
    return Runner(script, b, cfg).run(), b


def test_passive_open_passes_and_translates_isn_and_ts_ecr():
    res, b = run(PASSIVE)
    assert res.status == "pass", res.summary() + res.details()
    # the third ACK acked the stack's real ISN and echoed the TS val it really sent
    t, ack = b.injected[1]
    assert ack.ack == ISN + 1
    assert dict(ack.options)["TS"] == (200, 5555)
    # a fresh remote ephemeral port, and the bind port
    assert ack.dport == 8080 and 32768 <= ack.sport < 61000
    assert t == pytest.approx(0.1)


def test_psh_mismatch_reports_line_expected_and_actual():
    res, _ = run(PASSIVE, FakeStack(psh_last=False))
    assert res.status == "fail"
    assert res.line == 10
    assert "tcp_psh" in res.message
    assert res.expected.startswith("+0 > P. 1:3001(3000)")
    assert res.actual.startswith("> . 1:3001(3000) ack 1 win 1050")


def test_gso_aggregation_and_strict_segments():
    res, _ = run(PASSIVE, FakeStack(data_seg=1000))
    assert res.status == "pass"
    res, _ = run(PASSIVE, FakeStack(data_seg=1000), strict_segments=None)
    assert res.status == "fail"
    assert "expected 3000 bytes vs actual 1000 bytes" in res.message


def test_unequal_fragments_are_not_aggregated():
    b = FakeStack(data_seg=2000)       # 2000 + 1000: fine (only the last may be short)
    res, _ = run(PASSIVE, b)
    assert res.status == "pass"
    text = PASSIVE.replace("write(4, ..., 3000) = 3000", "write(4, ..., 1000) = 1000\n+0 write(4, ..., 2000) = 2000")
    res, _ = run(text.replace("1:3001(3000)", "1:3001(3000)"), FakeStack(data_seg=1000))
    assert res.status == "pass"      # 1000 (P) + 1000 + 1000 (P): equal sizes aggregate


def test_packet_late_beyond_tolerance_is_a_timing_error():
    res, _ = run(PASSIVE, FakeStack(synack_delay=0.030))
    assert res.status == "fail" and res.line == 6
    assert "timing error: expected outbound packet at 0.000000 sec but happened at 0.030000 sec" in res.message
    res, _ = run(PASSIVE, FakeStack(synack_delay=0.0035))
    assert res.status == "pass"
    # a window, and the 12.5 % dynamic tolerance of a long gap
    res, _ = run(PASSIVE.replace("+0 > S.", "+.02~+.04 > S."), FakeStack(synack_delay=0.030))
    assert res.status == "pass"
    res, _ = run(PASSIVE.replace("+0 > S.", "+1 > S."), FakeStack(synack_delay=1.1))
    assert res.status == "pass"
    res, _ = run(PASSIVE.replace("+0 > S.", "+1 > S."), FakeStack(synack_delay=1.2))
    assert res.status == "fail" and "tolerance 0.125000 sec" in res.message
    res, _ = run(PASSIVE.replace("+0 > S.", "* > S."), FakeStack(synack_delay=7.0))
    assert res.status == "pass"


def test_early_packet_fails():
    res, _ = run(PASSIVE.replace("+0 > S.", "+.05 > S."))
    assert res.status == "fail" and "happened at 0.000000 sec" in res.message


def test_missing_packet_times_out():
    text = PASSIVE + "+0 > F. 3001:3001(0) ack 1\n"
    res, _ = run(text)
    assert res.status == "fail" and res.line == 11
    assert res.message == "timed out waiting for packet"


def test_option_checks():
    res, _ = run(PASSIVE.replace("nop,wscale 8>", "nop,wscale 7>"))
    assert res.status == "fail" and res.message == "bad value outbound TCP option 3"
    # header length is checked before the options themselves (verify_tcp before the options)
    res, _ = run(PASSIVE.replace("<mss 1460,sackOK,TS val 300 ecr 100,nop,wscale 8>", "<mss 1460,nop,wscale 8>"))
    assert res.status == "fail" and res.message.startswith("live packet field tcp_data_offset: expected: 7")
    res, _ = run(PASSIVE.replace("<mss 1460,sackOK,TS val 300 ecr 100,nop,wscale 8>",
                                 "<sackOK,mss 1460,TS val 300 ecr 100,nop,wscale 8>"))
    assert res.status == "fail" and res.message == "bad outbound TCP options"
    res, _ = run(PASSIVE.replace("<nop,nop,TS val 300 ecr 200>", "<...>"))
    assert res.status == "pass"
    # <...> checks nothing and so learns no TS val: a later ecr of it cannot be mapped
    res, _ = run(PASSIVE.replace("<mss 1460,sackOK,TS val 300 ecr 100,nop,wscale 8>", "<...>"))
    assert res.status == "fail" and "unable to infer live TS ecr" in res.message
    # TS val is compared only with --tcp_ts_tick_usecs
    res, _ = run(PASSIVE.replace("TS val 300 ecr 100", "TS val 9 ecr 1").replace("ecr 300", "ecr 9"))
    assert res.status == "pass"


def test_inbound_ts_ecr_must_name_an_outbound_ts_val():
    res, _ = run(PASSIVE.replace("TS val 200 ecr 300>", "TS val 200 ecr 301>"))
    assert res.status == "fail" and res.line == 7
    assert "unable to infer live TS ecr for script TS ecr 301" in res.message


def test_blocking_accept_returns_at_its_end_time():
    text = PASSIVE.replace("+.1 < . 1:1(0)", "+.1 < . 1:1(0)").replace("+0 accept(3, ..., ...) = 4\n", "")
    text = text.replace("+0 listen(3, 1) = 0\n", "+0 listen(3, 1) = 0\n+0...0.1 accept(3, ..., ...) = 4\n")
    res, b = run(text)
    assert res.status == "pass", res.message
    res, _ = run(text.replace("+0...0.1 accept", "+0...0.3 accept"))
    assert res.status == "fail" and "system call return" in res.message


def test_two_inbound_packets_are_anchored_to_the_scheduled_time():
    text = PASSIVE.replace("+.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 200 ecr 300>",
                           "+0 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 200 ecr 300>\n"
                           "+.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 200 ecr 300>")
    text = text.replace("+0 < S", "0.5 < S").replace("+0 > S.", "0.5 > S.")
    text = text.replace("+0 listen(3, 1) = 0", "0 listen(3, 1) = 0")
    b = FakeStack(inject_cost=0.010)
    res, b = run(text, b)
    times = [t for t, _ in b.injected]
    # after an outbound line the base is "now" (0.5 + the SYN's 10 ms of processing); the
    # second ACK is 0.1 after the first one's *scheduled* time, not after its processing
    assert times[1] == pytest.approx(0.51)
    assert times[2] == pytest.approx(0.61)


def test_unsupported_feature_is_named():
    res, _ = run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 epoll_create(1) = 4\n")
    assert res.status == "unsupported" and res.message == "system call epoll_create()" and res.line == 2
    res, _ = run("0 `ip link set tun0 mtu 1400`\n")
    assert res.status == "unsupported" and "ip link set tun0 mtu 1400" in res.message
    from tools.packetdrill.runner import Unsupported
    with pytest.raises(Unsupported, match="IPv4 only"):
        script_config(parse_script("--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"), Config(), {})


def test_syscall_result_and_errno_checks():
    res, _ = run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = -1 EADDRINUSE\n")
    assert res.status == "fail" and res.message.startswith("Expected result -1 but got 0")
    res, _ = run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                 "+0 getsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0\n")
    assert res.status == "pass"
    res, _ = run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                 "+0 getsockopt(3, SOL_TCP, TCP_MAXSEG, [536], [4]) = 0\n")
    assert res.status == "fail" and "expected: 536 actual: 1100" in res.message
    res, _ = run("0 close(7) = 0\n")
    assert res.status == "fail" and "unable to find fd with script fd 7" in res.message


def test_defaults_sh_set_sysctls_and_restore():
    text = ("`../common/defaults.sh\n../common/set_sysctls.py /proc/sys/net/ipv4/tcp_min_tso_segs=10 \\\n"
            "   /proc/sys/net/ipv4/tcp_wmem=\"4096 50000 4194304\"`\n"
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
            "`/tmp/sysctl_restore_${PPID}.sh`\n")
    b = FakeStack()
    res, b = run(text, b)
    assert res.status == "pass", res.message
    assert b.sysctls["net.ipv4.tcp_rmem"] == "4096 540000 15728640"      # from defaults.json
    assert b.sysctls["net.ipv4.tcp_congestion_control"] == "cubic"
    assert b.qdisc == ("tun0", "pfifo")
    # restored by the cleanup command (tcp_min_tso_segs had no value before: left alone)
    assert b.sysctls["net.ipv4.tcp_wmem"] == "4096 262144 4194304"
    assert any("tcp_fack" in n for n in res.notes)


def test_nstat_counts_since_the_last_reset():
    n = Nstat()
    out, rc = n.run(["nstat", "-n"], {"TcpExtFoo": 5, "TcpInSegs": 1})
    assert out == "" and rc == 0
    out, rc = n.run(["nstat"], {"TcpExtFoo": 8, "TcpInSegs": 1})
    assert out.splitlines() == ["#kernel", "TcpExtFoo                       3                  0.0"]
    out, _ = n.run(["nstat", "-az", "TcpIn*"], {"TcpExtFoo": 8, "TcpInSegs": 1})
    assert out.splitlines()[1].split() == ["TcpInSegs", "1", "0.0"]
    text = ("0 `nstat -n`\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
            + "\n".join(PASSIVE.splitlines()[1:]) + "\n"
            "+0 `nstat | grep TcpExtFoo | grep -q \" 2 \"`\n"
            "+0 `nstat | grep -q \"TcpExtFoo *2\"`\n")
    res, _ = run(text)
    assert res.status == "fail" and res.line == 13     # the second nstat sees no change since the first
    res, _ = run(text.replace('+0 `nstat | grep -q "TcpExtFoo *2"`', '+0 `nstat | grep -vq "TcpExtFoo"`'))
    assert res.status == "pass", res.message


def test_grep_basic_regex():
    assert bre_to_re("a\\(b\\)*c") == "a(b)*c"
    assert bre_to_re("x+y?") == "x\\+y\\?"


def test_code_blocks_run_after_the_script_with_tcp_info():
    text = PASSIVE + "+0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%\n"
    res, _ = run(text)
    assert res.status == "pass"
    res, _ = run(text, FakeStack(info={"tcpi_snd_cwnd": 4}))
    assert res.status == "fail" and res.line == 11 and "assertion failed" in res.message
    assert res.actual == "tcpi_snd_cwnd=4"
    res, _ = run(PASSIVE + "+0 %{ assert tcpi_ca_state == TCP_CA_Open }%\n", FakeStack(info={"tcpi_ca_state": 0}))
    assert res.status == "pass"


def test_packets_build_and_parse_with_checksums():
    raw = build_tcp_packet(REMOTE, LOCAL, 40000, 8080, 7, 9, TH_SYN, 1000,
                           [("mss", 1460), ("sackOK", None), ("TS", (1, 2)), ("nop", None), ("wscale", 7)], 10)
    p = parse_ipv4_packet(raw, 1.5)
    assert p.ip_csum_ok and p.tcp_csum_ok
    assert (p.sport, p.dport, p.seq, p.ack, p.flags, p.win) == (40000, 8080, 7, 9, TH_SYN, 1000)
    assert p.options[2] == ("TS", (1, 2)) and p.payload == bytes(10) and p.doff == 10
    bad = bytearray(raw)
    bad[-1] ^= 1
    assert not parse_ipv4_packet(bytes(bad)).tcp_csum_ok
    icmp = parse_ipv4_packet(build_icmp_frag_needed(REMOTE, LOCAL, 1200, raw[:40]))
    assert (icmp.icmp_type, icmp.icmp_code) == (3, 4) and icmp.ip_csum_ok
    assert icmp.payload[:20] == raw[:20]


def test_tcp_info_layout():
    buf = struct.pack("=8B", 1, 3, 0, 0, 0, 7, 0x87, 0) + struct.pack("=4I", 200000, 40000, 1448, 536)
    info = parse_tcp_info(buf + bytes(200))
    assert info["tcpi_state"] == 1 and info["tcpi_ca_state"] == 3
    assert info["tcpi_snd_wscale"] == 7 and info["tcpi_rcv_wscale"] == 8
    assert info["tcpi_rto"] == 200000 and info["tcpi_snd_mss"] == 1448


def test_cli_flags_override_option_lines(tmp_path, capsys):
    opts, base, overrides, files = cli.parse_args(["--tolerance_usecs=14000", "-v", "-D", "X=1", "a.pkt"])
    assert files == ["a.pkt"] and overrides["tolerance_usecs"] == "14000" and base.defines == {"X": "1"}
    script = parse_script("--tolerance_usecs=10000\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert script_config(script, base, overrides).tolerance_usecs == 14000
    assert cli.main(["--bogus_flag=1", "x.pkt"]) == 2


def test_end_of_script_resets_the_connection():
    res, b = run(PASSIVE)
    rst = b.injected[-1][1]
    # run_packet.c reset_connection(): after our last injected segment, acking what it acked
    assert rst.flags == TH_RST | TH_ACK and rst.seq == 1 and rst.ack == ISN + 1


# --------------------------------------------------------------------------
# the kstack backend's tun0 (tools/packetdrill/kstack_backend.py)
# --------------------------------------------------------------------------


def _kstack_backend():
    from tools.packetdrill.kstack_backend import KstackBackend
    from tools.packetdrill.runner import Unsupported
    b = KstackBackend()
    try:
        b.setup(Config())
    except Unsupported as u:
        pytest.skip(str(u))
    b.start_clock()
    return b


def test_kstack_tun0_is_an_l3_device_without_arp():
    from kstack.core.netdevice import ARPHRD_NONE, IFF_NOARP, IFF_POINTOPOINT, IFF_UP
    b = _kstack_backend()
    dev = b.net.dev_by_name["tun0"]
    assert dev.type == ARPHRD_NONE and dev.hard_header_len == 0 and dev.header_ops is None
    assert dev.flags & (IFF_NOARP | IFF_POINTOPOINT | IFF_UP) == IFF_NOARP | IFF_POINTOPOINT | IFF_UP
    assert dev.mtu == 1500


def test_kstack_tun0_carries_bare_ipv4_both_ways_on_the_fake_clock():
    """An echo request from 192.0.2.1 (routed via the 192.168.0.1 gateway, no ARP on tun0)
    is answered at the same fake time with a bare IPv4 packet."""
    from kstack.wire.checksum import inet_csum, ip_fast_csum
    b = _kstack_backend()
    body = bytearray(b"\x08\x00\x00\x00\x12\x34\x00\x01packetdrill")
    body[2:4] = inet_csum(bytes(body)).to_bytes(2, "big")
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(body), 1, 0, 64, 1, 0, REMOTE, LOCAL))
    ip[10:12] = ip_fast_csum(bytes(ip)).to_bytes(2, "big")
    b.advance(5.0, lambda: False)
    b.inject(bytes(ip + body))
    p = b.next_outbound(6.0, lambda: False)
    assert p is not None and p.time == 5.0
    assert (p.saddr, p.daddr, p.proto, p.icmp_type, p.icmp_code) == (LOCAL, REMOTE, 1, 0, 0)
    assert p.ip_csum_ok and p.payload == b"packetdrill"
    assert b.next_outbound(7.0, lambda: False) is None and b.now() == 7.0
    assert b.net.bugs == [] and not b.notes
