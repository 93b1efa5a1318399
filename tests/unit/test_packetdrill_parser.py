"""Tests for tools/packetdrill/parser.py (the packetdrill script parser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.packetdrill.parser import (
    BinOr,
    Call,
    CodeEvent,
    CommandEvent,
    EllipsisArg,
    IcmpPacket,
    Int,
    List,
    Null,
    PacketEvent,
    ParseError,
    String,
    Struct,
    Symbol,
    SyscallEvent,
    TimeSpec,
    UdpPacket,
    format_event,
    format_tcp_packet,
    parse_file,
    parse_script,
    tokenize,
)

# The repo lives at <root>/main (or any clone dir); the shared data sits beside it.
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "packetdrill"
PKT_FILES = sorted(SHARED.rglob("*.pkt")) if SHARED.is_dir() else []

needs_shared = pytest.mark.skipif(not PKT_FILES, reason=f"packetdrill reference scripts not found at {SHARED}")


def pkt(rel: str):
    return parse_file(SHARED / rel)


def kinds(tokens):
    return [(t.kind, t.value) for t in tokens]


# ---------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------


class TestLexer:
    def test_numbers(self):
        toks = tokenize("0 1000 0x2 0XfF .1 0.200 -1 -0.5 -.5 +.1")
        assert kinds(toks) == [
            ("INT", 0),
            ("INT", 1000),
            ("INT", 2),
            ("INT", 255),
            ("FLOAT", ".1"),
            ("FLOAT", "0.200"),
            ("INT", -1),
            ("FLOAT", "-0.5"),
            ("FLOAT", "-.5"),
            ("PUNCT", "+"),
            ("FLOAT", ".1"),
        ]

    def test_ellipsis_is_one_token_even_between_numbers(self):
        assert kinds(tokenize("+0...0.200")) == [("PUNCT", "+"), ("INT", 0), ("ELLIPSIS", "..."), ("FLOAT", "0.200")]
        assert kinds(tokenize(".1...0.2")) == [("FLOAT", ".1"), ("ELLIPSIS", "..."), ("FLOAT", "0.2")]
        assert kinds(tokenize("<...>")) == [("PUNCT", "<"), ("ELLIPSIS", "..."), ("PUNCT", ">")]

    def test_words_and_digit_leading_words(self):
        toks = tokenize("SOCK_STREAM sackOK 3021b9d889017eeb _x")
        assert kinds(toks) == [("WORD", "SOCK_STREAM"), ("WORD", "sackOK"), ("WORD", "3021b9d889017eeb"), ("WORD", "_x")]

    def test_seq_range(self):
        assert kinds(tokenize("1:1001(1000)")) == [
            ("INT", 1),
            ("PUNCT", ":"),
            ("INT", 1001),
            ("PUNCT", "("),
            ("INT", 1000),
            ("PUNCT", ")"),
        ]

    def test_comments(self):
        text = "a // line comment ` not a command\n/* block\n comment */ b /**/c"
        assert kinds(tokenize(text)) == [("WORD", "a"), ("WORD", "b"), ("WORD", "c")]

    def test_unterminated_block_comment(self):
        with pytest.raises(ParseError, match=r"<string>:1:3: unterminated /\* comment"):
            tokenize("a /* never closed")

    def test_backtick_spans_lines_and_keeps_raw_text(self):
        text = "`a \\\n  b // not a comment`  x"
        toks = tokenize(text)
        assert kinds(toks) == [("BACKTICK", "a \\\n  b // not a comment"), ("WORD", "x")]
        assert (toks[1].line, toks[1].col) == (2, 24)

    def test_backtick_escaped_backtick(self):
        assert kinds(tokenize(r"`echo \` hi`")) == [("BACKTICK", r"echo \` hi")]

    def test_unterminated_backtick(self):
        with pytest.raises(ParseError) as ei:
            tokenize("x\n  `echo hi\n")
        assert (ei.value.line, ei.value.col) == (2, 3)
        assert "unterminated backtick" in str(ei.value)

    def test_strings(self):
        assert kinds(tokenize('"abc" "a\\"b"')) == [("STRING", "abc"), ("STRING", 'a\\"b')]
        with pytest.raises(ParseError, match="unterminated string"):
            tokenize('"abc')

    def test_code_block_raw(self):
        toks = tokenize("%{\nassert x == 1 // 2\n}% y")
        assert kinds(toks) == [("CODE", "\nassert x == 1 // 2\n"), ("WORD", "y")]
        with pytest.raises(ParseError, match="unterminated %"):
            tokenize("%{ assert 1")

    def test_option_tokens(self):
        toks = tokenize('--tolerance_usecs=10000\n--ip_version=ipv4 --strict_segments --x="a b"')
        assert kinds(toks) == [
            ("OPTION", ("tolerance_usecs", "10000")),
            ("OPTION", ("ip_version", "ipv4")),
            ("OPTION", ("strict_segments", None)),
            ("OPTION", ("x", "a b")),
        ]

    def test_minus_alone_is_punct(self):
        assert kinds(tokenize("< - 0")) == [("PUNCT", "<"), ("PUNCT", "-"), ("INT", 0)]

    def test_positions(self):
        toks = tokenize("a\n\tbb  c")
        assert [(t.line, t.col) for t in toks] == [(1, 1), (2, 2), (2, 6)]

    def test_defines_substitute_words_not_keywords(self):
        toks = tokenize("FOO ack BAR", defines={"FOO": "O_RDWR|O_NONBLOCK", "ack": "x", "BAR": '"s"'})
        assert kinds(toks) == [
            ("WORD", "O_RDWR"),
            ("PUNCT", "|"),
            ("WORD", "O_NONBLOCK"),
            ("WORD", "ack"),
            ("STRING", "s"),
        ]


# ---------------------------------------------------------------------------
# All reference scripts
# ---------------------------------------------------------------------------


@needs_shared
def test_all_51_reference_scripts_are_present():
    assert len(PKT_FILES) == 51


@needs_shared
@pytest.mark.parametrize("path", PKT_FILES, ids=lambda p: str(p.relative_to(SHARED)))
def test_parse_reference_script(path):
    script = parse_file(path)
    assert script.events, "every script has events"
    first = script.events[0]
    assert first.time.kind in ("absolute", "relative") and first.time.usecs == 0
    lines = [ev.line for ev in script.events]
    assert lines == sorted(lines)
    for ev in script.events:
        assert ev.source.strip(), ev
        if isinstance(ev.action, PacketEvent):
            a = ev.action
            assert a.end == a.seq + a.length
            if a.inbound:
                assert a.win is not None
    # Dumping and re-parsing gives the same events.
    again = parse_script(script.dump(), "dump")
    assert [(e.time, e.action) for e in again.events] == [(e.time, e.action) for e in script.events]
    assert [format_event(e) for e in again.events] == [format_event(e) for e in script.events]
    assert again.options == script.options
    assert again.init_command == script.init_command or (
        again.init_command.command == script.init_command.command
    )
    assert (again.cleanup_command is None) == (script.cleanup_command is None)


# ---------------------------------------------------------------------------
# Reference scripts in detail
# ---------------------------------------------------------------------------


@needs_shared
def test_close_on_syn_sent_exact_events():
    s = pkt("google/tcp/close/close-on-syn-sent.pkt")
    assert s.options == {}
    assert s.init_command.command == "../common/defaults.sh"
    assert s.init_command.line == 4
    assert s.cleanup_command is None
    rel0 = TimeSpec("relative", 0)
    got = [(ev.line, ev.time, ev.action) for ev in s.events]
    assert got == [
        (6, TimeSpec("absolute", 0), SyscallEvent("socket", [EllipsisArg(), Symbol("SOCK_STREAM"), Symbol("IPPROTO_TCP")], 3)),
        (7, rel0, SyscallEvent("fcntl", [Int(3), Symbol("F_SETFL"), BinOr([Symbol("O_RDWR"), Symbol("O_NONBLOCK")])], 0)),
        (
            9,
            rel0,
            SyscallEvent("connect", [Int(3), EllipsisArg(), EllipsisArg()], -1, "EINPROGRESS", "Operation now in progress"),
        ),
        (10, rel0, PacketEvent(">", "S", 0, 0, 0, None, None, "any")),
        (14, rel0, SyscallEvent("close", [Int(3)], 0)),
        (
            19,
            TimeSpec("relative", 100_000),
            PacketEvent("<", "S.", 0, 0, 0, 1, 32000, [("mss", 1460), ("nop", None), ("wscale", 7)]),
        ),
        (20, rel0, PacketEvent(">", "R", 1, 1, 0)),
    ]
    assert [format_event(e) for e in s.events] == [
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
        "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
        "+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
        "+0 > S 0:0(0) <...>",
        "+0 close(3) = 0",
        "+0.1 < S. 0:0(0) ack 1 win 32000 <mss 1460,nop,wscale 7>",
        "+0 > R 1:1(0)",
    ]
    assert s.events[3].action.flag_set == frozenset("S")
    assert s.events[5].time.value == pytest.approx(0.1)


@needs_shared
def test_sendmsg_msghdr():
    s = pkt("google/tcp/nagle/sendmsg_msg_more.pkt")
    ev = next(e for e in s.events if isinstance(e.action, SyscallEvent) and e.action.result == 495)
    call = ev.action
    assert call.name == "sendmsg" and ev.line == 27
    fd, msg, flags = call.args
    assert fd == Int(4) and flags == Symbol("MSG_MORE")
    assert isinstance(msg, Struct)
    assert list(msg.fields) == ["msg_name", "msg_iov", "msg_flags"]
    assert msg["msg_name"] == EllipsisArg()
    assert msg.field_args == {"msg_name": EllipsisArg(), "msg_iov": Int(3)}
    assert msg["msg_iov"] == List(
        [
            Struct(items=[EllipsisArg(), Int(100)]),
            Struct(items=[EllipsisArg(), Int(200)]),
            Struct(items=[EllipsisArg(), Int(195)]),
        ]
    )
    assert msg["msg_flags"] == Int(0)
    assert format_event(ev) == (
        "+0.01 sendmsg(4, {msg_name(...)=..., msg_iov(3)=[{..., 100}, {..., 200}, {..., 195}], "
        "msg_flags=0}, MSG_MORE) = 495"
    )
    win = next(e for e in s.events if e.time.is_window)
    assert win.time == TimeSpec("relative", 210_000, "relative", 215_000)
    assert win.time.end == pytest.approx(0.215)


@needs_shared
def test_icmp_line():
    s = pkt("linux-selftests/tcp_advmss_pmtu_ipv4.pkt")
    assert s.options == {"ip_version": "ipv4"} and s.ip_version == "ipv4"
    assert s.init_command.command == "./defaults.sh\nethtool -K tun0 tso off\n"
    ev = next(e for e in s.events if isinstance(e.action, IcmpPacket))
    assert ev.line == 30
    assert ev.action == IcmpPacket(
        "<", "unreachable", "frag_needed", mtu=1200, echoed_protocol="tcp", echoed_seq=1, echoed_end=1461, echoed_len=1460
    )
    assert format_event(ev) == "+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]"
    assert ev.kind == "icmp"


@needs_shared
def test_code_blocks():
    s = pkt("google/tcp/cubic/cubic-rto-ss-ca-cwnd-bump.pkt")
    codes = [e for e in s.events if isinstance(e.action, CodeEvent)]
    assert codes[0].action.code == "assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd"
    multi = codes[1]
    assert multi.line == 42
    assert multi.action.text == (
        "\nassert tcpi_snd_cwnd == 2, tcpi_snd_cwnd\nassert tcpi_snd_ssthresh == 7, tcpi_snd_ssthresh\n"
    )
    assert multi.action.code.splitlines() == [
        "assert tcpi_snd_cwnd == 2, tcpi_snd_cwnd",
        "assert tcpi_snd_ssthresh == 7, tcpi_snd_ssthresh",
    ]
    compile(multi.action.code, "<tcpinfo>", "exec")
    neg = pkt("linux-selftests/tcp_rcv_neg_window.pkt")
    code = next(e.action for e in neg.events if isinstance(e.action, CodeEvent))
    assert code.code == "assert tcpi_bytes_received == 20000, tcpi_bytes_received;"


@needs_shared
def test_blocking_calls():
    s = pkt("google/tcp/blocking/blocking-read.pkt")
    blocking = [e for e in s.events if e.is_blocking]
    assert [(e.line, format_event(e)) for e in blocking] == [
        (17, "+0...0.1 read(4, ..., 2000) = 2000"),
        (21, "+0.1...0.2 read(4, ..., 2000) = 2000"),
        (27, "+0...0 read(4, ..., 1000) = 1000"),
        (28, "+0...0 read(4, ..., 1000) = 1000"),
    ]
    t = blocking[0].time
    assert (t.kind, t.usecs, t.block_end_kind, t.block_end_usecs) == ("relative", 0, "relative", 100_000)
    assert t.block_end == pytest.approx(0.1)
    assert s.options == {"tolerance_usecs": "10000"} and s.option_int("tolerance_usecs") == 10000
    # absolute blocking connect in the legacy scripts
    legacy = pkt("google/packetdrill/tests/linux/mss/mss-getsockopt-tcp_maxseg-client-ts.pkt")
    conn = next(e for e in legacy.events if e.is_blocking)
    assert conn.time == TimeSpec("absolute", 100_000, block_end_kind="absolute", block_end_usecs=200_000)
    poll = next(e for e in pkt("google/tcp/notsent_lowat/notsent-lowat-default.pkt").events if e.kind == "syscall" and e.action.name == "poll")
    assert poll.action.args == [
        List([Struct({"fd": Int(4), "events": Symbol("POLLOUT"), "revents": Symbol("POLLOUT")})]),
        Int(1),
        Int(1000),
    ]
    assert poll.time.block_end_usecs == 20_000


@needs_shared
def test_star_and_window_times():
    s = pkt("linux-selftests/tcp_disorder_fin_in_FIN_WAIT.pkt")
    stars = [e for e in s.events if e.time.kind == "any"]
    assert len(stars) == 3
    assert all(isinstance(e.action, PacketEvent) and e.action.outbound for e in stars)
    assert format_event(stars[0]) == "* > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>"
    assert stars[0].time.value is None
    u = pkt("google/tcp/user_timeout/user_timeout.pkt")
    windows = [e.time for e in u.events if e.time.is_window]
    assert [(w.usecs, w.end_usecs) for w in windows] == [(300_000, 400_000), (300_000, 400_000), (600_000, 800_000)]
    c = pkt("linux-selftests/tcp_close_no_rst.pkt")
    w = next(e for e in c.events if e.time.is_window)
    assert format_event(w) == "+0~+0.04 > . 1:1(0) ack 1002"
    assert c.options == {"mss": "1000"}


@needs_shared
def test_misc_reference_constructs():
    http = pkt("google/packetdrill/tests/linux/connect/http-get-nonblocking-ts.pkt")
    fcntl = http.events[1].action
    assert (fcntl.result, fcntl.result_hex, fcntl.note) == (2, True, "flags O_RDWR")
    assert format_event(http.events[1]) == "0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)"
    assert http.events[4].action.options == [("mss", 1460), ("sackOK", None), ("TS", (100, 0)), ("nop", None), ("wscale", 6)]
    gso = http.events[7].action
    assert gso.args == [Int(3), Symbol("SOL_SOCKET"), Symbol("SO_ERROR"), List([Int(0)]), List([Int(4)])]

    linger = pkt("google/packetdrill/tests/linux/close/close-so-linger-onoff-1-linger-0-rst.pkt")
    so = next(e.action for e in linger.events if e.kind == "syscall" and Symbol("SO_LINGER") in e.action.args)
    assert so.args[3] == Struct({"onoff": Int(1), "linger": Int(0)})

    dsack = pkt("linux-selftests/tcp_dsack_mult.pkt")
    sacks = [
        e.action.options
        for e in dsack.events
        if e.kind == "packet" and e.action.outbound and any(o[0] == "sack" for o in e.action.options or [])
    ]
    assert len(sacks) == 7
    assert sacks[0] == [("nop", None), ("nop", None), ("sack", [(1001, 2001)])]
    assert sacks[3] == [("nop", None), ("nop", None), ("sack", [(7001, 8001), (4001, 5001), (1001, 3001)])]

    noflags = pkt("google/tcp/validate/validate-established-no-flags.pkt")
    p = next(e.action for e in noflags.events if e.kind == "packet" and e.action.flags == "-")
    assert (p.flag_set, p.ack, p.win, p.options) == (frozenset(), None, 20000, None)

    big = pkt("linux-selftests/tcp_rcv_big_endseq.pkt")
    cmds = [e for e in big.events if isinstance(e.action, CommandEvent)]
    assert [(e.time.kind, e.action.command) for e in cmds] == [
        ("absolute", "nstat -n"),
        ("relative", 'nstat | grep TcpExtBeyondWindow | grep -q " 3 "'),
    ]
    assert big.events[0].action == CommandEvent("nstat -n")

    bw = pkt("google/tcp/blocking/blocking-write.pkt")
    assert bw.init_command.command == "../common/defaults.sh\n ../common/set_sysctls.py /proc/sys/net/ipv4/tcp_min_tso_segs=10\n"
    assert bw.cleanup_command.command == "/tmp/sysctl_restore_${PPID}.sh"
    assert bw.cleanup_command.line == 34

    inq = pkt("google/tcp/ioctl/ioctl-siocinq-fin.pkt")
    assert any(e.kind == "packet" and e.action.flags == "FP." for e in inq.events)
    assert any(e.kind == "syscall" and e.action.name == "ioctl" and e.action.args == [Int(4), Symbol("SIOCINQ"), List([Int(1000)])] for e in inq.events)


# ---------------------------------------------------------------------------
# Synthetic scripts
# ---------------------------------------------------------------------------


def test_minimal_script_layout():
    s = parse_script(
        "--tolerance_usecs=14000\n--mss=1000\n`init`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n`cleanup`\n",
        "t.pkt",
    )
    assert s.filename == "t.pkt"
    assert s.options == {"tolerance_usecs": "14000", "mss": "1000"}
    assert list(s.options) == ["tolerance_usecs", "mss"]
    assert s.init_command.command == "init" and s.cleanup_command.command == "cleanup"
    assert len(s.events) == 1
    assert parse_script("").events == []


def test_statement_spanning_lines_and_note_without_space():
    s = parse_script("0 fcntl(3,\n  F_GETFL)\n = 0x2(flags  O_RDWR)   // trailing comment\n+0 close(3) = 0")
    a = s.events[0].action
    assert (a.name, a.result, a.note) == ("fcntl", 2, "flags O_RDWR")
    assert s.events[1].line == 4
    assert s.events[0].source == "0 fcntl(3,\n  F_GETFL)\n = 0x2(flags  O_RDWR)"


def test_errno_without_note_and_symbol_args():
    s = parse_script('0 foo(NULL, "ab" "cd", "x"..., htons(8080), [], {}, 1|0x4, -3) = -1 ENOENT')
    a = s.events[0].action
    assert a.errno == "ENOENT" and a.note is None
    assert a.args == [
        Null(),
        String("abcd"),
        String("x", prefix=True),
        Call("htons", [Int(8080)]),
        List([]),
        Struct(),
        BinOr([Int(1), Int(4, hex=True)]),
        Int(-3),
    ]
    assert format_event(s.events[0]) == '0 foo(NULL, "abcd", "x"..., htons(8080), [], {}, 1|0x4, -3) = -1 ENOENT'


def test_absolute_window_and_options_everything():
    s = parse_script(
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
        "0.1~0.2 > [ect0] SEWA. 0:0(0) ack 5 win 7 urg 0 <eol,md5 0011,FO abcd,FOEXP,sack 1:2 3:4>\n"
        "0.3 < udp (100)\n"
    )
    ev = s.events[1]
    assert ev.time == TimeSpec("absolute", 100_000, "absolute", 200_000)
    p = ev.action
    assert p.ip_info == {"ecn": "ect0"} and p.urg == 0
    assert p.options == [("eol", None), ("md5", "0011"), ("FO", "abcd"), ("FOEXP", ""), ("sack", [(1, 2), (3, 4)])]
    assert format_event(ev) == "0.1~0.2 > [ect0] SEWA. 0:0(0) ack 5 win 7 urg 0 <eol,md5 0011,FO abcd,FOEXP,sack 1:2 3:4>"
    assert s.events[2].action == UdpPacket("<", 100)


def test_defines_from_caller_and_script():
    text = "--define=LEVEL=SOL_TCP\n0 setsockopt(3, LEVEL, OPT, [1], 4) = 0\n"
    s = parse_script(text, defines={"OPT": "TCP_NODELAY"})
    assert s.events[0].action.args[1:3] == [Symbol("SOL_TCP"), Symbol("TCP_NODELAY")]
    assert s.defines == {"OPT": "TCP_NODELAY", "LEVEL": "SOL_TCP"}
    # the caller's -D wins over the script's --define
    s2 = parse_script(text, defines={"LEVEL": "SOL_SOCKET"})
    assert s2.events[0].action.args[1] == Symbol("SOL_SOCKET")
    s3 = parse_script("0 f(N) = 0", defines={"N": "5"})
    assert s3.events[0].action.args == [Int(5)]


def test_format_tcp_packet():
    opts = [("mss", 1460), ("sackOK", None), ("TS", (100, 200)), ("nop", None), ("wscale", 8)]
    assert (
        format_tcp_packet(">", "S.", 0, 0, 0, 1, 65535, opts)
        == "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 200,nop,wscale 8>"
    )
    assert format_tcp_packet(">", {".", "P", "F"}, 1, 11, 10, 1, None, None) == "> FP. 1:11(10) ack 1"
    assert format_tcp_packet("<", set(), 0, 0, 0, None, 0, []) == "< - 0:0(0) win 0"
    assert format_tcp_packet(">", "S", 0, 0, 0, options="any") == "> S 0:0(0) <...>"
    assert format_tcp_packet(">", ".", 1, 1, 0, 1, options=[("sack", [(1, 2), (5, 9)])]) == "> . 1:1(0) ack 1 <sack 1:2 5:9>"


@given(
    flags=st.sets(st.sampled_from("FSRP.UEWA")),
    seq=st.integers(0, 2**31),
    length=st.integers(0, 65535),
    ack=st.none() | st.integers(0, 2**32 - 1),
    win=st.integers(0, 65535),
    usecs=st.integers(0, 10**8),
    rel=st.booleans(),
    opts=st.none()
    | st.just("any")
    | st.lists(
        st.one_of(
            st.tuples(st.just("mss"), st.integers(0, 65535)),
            st.tuples(st.just("wscale"), st.integers(0, 14)),
            st.tuples(st.sampled_from(["nop", "eol", "sackOK"]), st.none()),
            st.tuples(st.just("TS"), st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))),
            st.tuples(st.just("sack"), st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=4)),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_format_parse_roundtrip(flags, seq, length, ack, win, usecs, rel, opts):
    line = format_tcp_packet(">", flags, seq, seq + length, length, ack, win, opts)
    time = ("+" if rel else "") + ("0" if usecs == 0 else f"{usecs // 10**6}.{usecs % 10**6:06d}")
    s = parse_script(f"0 f() = 0\n{time} {line}\n")
    ev = s.events[1]
    assert ev.time.usecs == usecs and ev.time.kind == ("relative" if rel else "absolute")
    p = ev.action
    assert (p.flag_set, p.seq, p.end, p.length, p.ack, p.win, p.options) == (
        frozenset(flags),
        seq,
        seq + length,
        length,
        ack,
        win,
        opts,
    )
    assert format_event(ev).split(" ", 1)[1] == line


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def bad(text: str, match: str, line: int | None = None):
    with pytest.raises(ParseError, match=match) as ei:
        parse_script(text, "bad.pkt")
    assert str(ei.value).startswith("bad.pkt:")
    if line is not None:
        assert ei.value.line == line, str(ei.value)
    return ei.value


def test_error_bad_end():
    err = bad("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < P. 1:1000(1000) ack 1 win 257\n", "inconsistent TCP sequence", 2)
    assert err.col == 9
    assert str(err).startswith("bad.pkt:2:9: ")
    bad("0 < icmp unreachable frag_needed mtu 1200 [1:1460(1460)]", "inconsistent quoted TCP sequence", 1)


def test_error_unterminated_backtick():
    bad("`../common/defaults.sh\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", "unterminated backtick", 1)


def test_error_unterminated_code():
    bad("0 %{ assert 1\n", "unterminated %", 1)


@pytest.mark.parametrize(
    "text,match,line",
    [
        ("0 > Q. 0:0(0)", "invalid TCP flag 'Q'", 1),
        ("0 > S-. 0:0(0)", "cannot be combined", 1),
        ("0 > SS 0:0(0)", "duplicate TCP flag", 1),
        ("0 < S 0:0(0) <mss 1000>", r"window \(win N\) must be specified", 1),
        ("0 < S 0:0(0) win 5 <...>", "only be used with outbound", 1),
        ("0 > S 0:0(0) <mss 70000>", "mss value 70000 out of range", 1),
        ("0 > S 0:0(0) <foo 1>", "unknown TCP option 'foo'", 1),
        ("0 > S 0:0(0) <mss 1 nop>", "expected ',' or '>'", 1),
        ("0 > S 0:0(0) ack 1 ack 2", "duplicate 'ack'", 1),
        ("* close(3) = 0", "'\\*' can only be used with outbound packets", 1),
        ("0 f() = 0\n+1~+2 < . 1:1(0) win 1", r"range \(a~b\) can only be used with outbound", 2),
        ("0 f() = 0\n+2~+1 > . 1:1(0)", "time range is backwards", 2),
        ("0 f() = 0\n+1~2 > . 1:1(0)", "both ends of a time range", 2),
        ("0 f() = 0\n+0...0.1 > . 1:1(0)", r"blocking end time \(...END\) can only be used with system calls", 2),
        ("0.2...0.1 f() = 0", "blocking end time is before", 1),
        ("0 f() = 0\n+0...+0.1 g() = 0", "without '\\+'", 2),
        ("0.1 f() = 0", "first event must be at time 0", 1),
        ("0 f() = 0\n0.2 g() = 0\n0.1 h() = 0", "time goes backwards", 3),
        ("0 f() = 0\n-1 g() = 0", "negative time", 2),
        ("0 f() = 0\n; g() = 0", "expected an event time", 2),
        ("0 f() = 0\n+-1 g() = 0", "negative time", 2),
        ("0 f() = 0\n+0x10 g() = 0", "expected a time in seconds", 2),
        ("0 f(1, 2 = 0", "expected ',' or '\\)'", 1),
        ("0 f(1) 0", "expected '= RESULT'", 1),
        ("0 f(1) = ENOENT", "expected an integer result", 1),
        ("0 f(1.5) = 0", "floating point", 1),
        ("0 f({a=1, 2}) = 0", "cannot mix", 1),
        ("0 f({a=1, a=2}) = 0", "duplicate field 'a'", 1),
        ("0 f() = 0 (unclosed note\n", "unterminated note", 1),
        ("0 f() = 0\n--mss=1000\n", "must come before", 2),
        ("`a`\n`b`\n0 f() = 0", "only one init command", 2),
        ("0 f() = 0\n`cleanup`\n+0 g() = 0", "nothing may follow the cleanup command", 3),
        ("0 f() = 0\n+0 ; ", "expected a packet", 2),
        ("0 f() = 0\n+0", "expected a packet", 2),
        ("0 close", "expected '\\(' after syscall name", 1),
        ("0 > . 1:1(0) win 70000", "TCP window 70000 out of range", 1),
        ("0 > . 1:1(0", "expected '\\)'", 1),
        ("0 < icmp 5", "expected an ICMP type name", 1),
        ("0 < [bogus] S 0:0(0) win 1", "unknown IP info 'bogus'", 1),
    ],
)
def test_errors(text, match, line):
    bad(text, match, line)


def test_parse_error_attributes():
    with pytest.raises(ParseError) as ei:
        parse_script("0 f() = 0\n  +0 > X 0:0(0)", "x.pkt")
    e = ei.value
    assert (e.filename, e.line, e.col) == ("x.pkt", 2, 8)
    assert e.message.startswith("invalid TCP flag")
    assert str(e) == f"x.pkt:2:8: {e.message}"


def test_parse_file_reports_path(tmp_path):
    p = tmp_path / "bad.pkt"
    p.write_text("0 > S 0:5(0)\n")
    with pytest.raises(ParseError) as ei:
        parse_file(p)
    assert str(ei.value).startswith(f"{p}:1:7: ")
