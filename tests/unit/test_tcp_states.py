"""tcp_states.py: Linux's state numbers, ss names, and the one transition table that
tcp_set_state() checks (RFC 9293 §3.3.2 figure 5 plus Linux's extras)."""
from kstack.net.ipv4 import tcp_states as S
from kstack.net.ipv4.tcp import TcpSock, tcp_set_state
from tests.lib.factory import TcpTestbed


def test_linux_numbers():
    """include/net/tcp_states.h values (ss and /proc/net/tcp print them)."""
    assert (S.TCP_ESTABLISHED, S.TCP_SYN_SENT, S.TCP_SYN_RECV, S.TCP_FIN_WAIT1, S.TCP_FIN_WAIT2,
            S.TCP_TIME_WAIT, S.TCP_CLOSE, S.TCP_CLOSE_WAIT, S.TCP_LAST_ACK, S.TCP_LISTEN,
            S.TCP_CLOSING, S.TCP_NEW_SYN_RECV) == tuple(range(1, 13))
    assert S.TCPF_LISTEN == 1 << 10
    assert S.tcp_state_name(S.TCP_ESTABLISHED) == "ESTAB"
    assert S.tcp_state_name(S.TCP_TIME_WAIT) == "TIME-WAIT"
    assert S.tcp_state_name(S.TCP_SYN_RECV) == "SYN-RECV"


def test_rfc9293_arcs_are_in_the_table():
    """RFC 9293 §3.3.2: every arc of figure 5 (TIME-WAIT through the minisock: -> CLOSE)."""
    ok = S.tcp_transition_ok
    assert ok(S.TCP_CLOSE, S.TCP_LISTEN) and ok(S.TCP_CLOSE, S.TCP_SYN_SENT)
    assert ok(S.TCP_SYN_SENT, S.TCP_ESTABLISHED) and ok(S.TCP_SYN_SENT, S.TCP_SYN_RECV)
    assert ok(S.TCP_SYN_RECV, S.TCP_ESTABLISHED) and ok(S.TCP_SYN_RECV, S.TCP_FIN_WAIT1)
    assert ok(S.TCP_ESTABLISHED, S.TCP_FIN_WAIT1) and ok(S.TCP_ESTABLISHED, S.TCP_CLOSE_WAIT)
    assert ok(S.TCP_FIN_WAIT1, S.TCP_FIN_WAIT2) and ok(S.TCP_FIN_WAIT1, S.TCP_CLOSING)
    assert ok(S.TCP_CLOSE_WAIT, S.TCP_LAST_ACK) and ok(S.TCP_LAST_ACK, S.TCP_CLOSE)
    assert not ok(S.TCP_LISTEN, S.TCP_ESTABLISHED)
    assert not ok(S.TCP_CLOSE, S.TCP_ESTABLISHED)
    assert not ok(S.TCP_FIN_WAIT2, S.TCP_ESTABLISHED)


def test_bad_transition_is_recorded_not_raised():
    """A transition outside the table is a kstack bug: net.bugs gets it, nothing raises."""
    bed = TcpTestbed()
    fd = bed.socket()
    sk = bed.sock(fd)
    tcp_set_state(sk, S.TCP_ESTABLISHED)
    assert sk.sk_state == S.TCP_ESTABLISHED
    assert bed.net.bugs and "TCP_CLOSE -> TCP_ESTABLISHED" in bed.net.bugs[0][1]
    assert bed.net.mib.Tcp["CurrEstab"] == 1
