"""include/net/tcp_states.h — the TCP states with Linux's numbers, their TCPF_ masks,
the names ss(8) prints, and the one transition table tcp_set_state() checks
(RFC 9293 §3.3.2, figure 5, plus Linux's extras).

Rule (STYLE.md, h11's "Rule 1"): only tcp_set_state() in tcp.py writes sk.sk_state for a
full socket, and every write is checked against TCP_TRANSITIONS. A transition not in the
table is a bug in kstack: it is recorded in net.bugs and the write still happens (Linux
would not check at all), so a test that asserts net.bugs == [] catches it.

Linux's extras over RFC 9293's diagram:
- CLOSE -> LISTEN / SYN_SENT (listen(), connect()); LISTEN -> CLOSE (close of a listener).
- SYN_SENT -> SYN_RECV on a simultaneous open (tcp_rcv_synsent_state_process).
- A passive child is born in SYN_RECV (inet_csk_clone_lock) and moves to ESTABLISHED
  in tcp_rcv_state_process; SYN_RECV -> FIN_WAIT1 when it is closed before that.
- TIME_WAIT is not a state of the full socket: tcp_time_wait() hands the connection to
  an inet_timewait_sock (tw_substate TIME_WAIT or FIN_WAIT2) and the full socket goes to
  CLOSE (tcp_done). So FIN_WAIT1/FIN_WAIT2/CLOSING -> CLOSE are the "to TIME_WAIT" arcs.
- Any state may go to CLOSE (RST, abort, timeout, tcp_disconnect).
- NEW_SYN_RECV is the state of a request sock (a SYN-queue minisock), never of a full one.
"""

TCP_ESTABLISHED = 1
TCP_SYN_SENT = 2
TCP_SYN_RECV = 3
TCP_FIN_WAIT1 = 4
TCP_FIN_WAIT2 = 5
TCP_TIME_WAIT = 6
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
TCP_LAST_ACK = 9
TCP_LISTEN = 10
TCP_CLOSING = 11
TCP_NEW_SYN_RECV = 12
TCP_BOUND_INACTIVE = 13   # only seen by inet_diag (bound, not listening/connected)
TCP_MAX_STATES = 14

TCPF_ESTABLISHED = 1 << TCP_ESTABLISHED
TCPF_SYN_SENT = 1 << TCP_SYN_SENT
TCPF_SYN_RECV = 1 << TCP_SYN_RECV
TCPF_FIN_WAIT1 = 1 << TCP_FIN_WAIT1
TCPF_FIN_WAIT2 = 1 << TCP_FIN_WAIT2
TCPF_TIME_WAIT = 1 << TCP_TIME_WAIT
TCPF_CLOSE = 1 << TCP_CLOSE
TCPF_CLOSE_WAIT = 1 << TCP_CLOSE_WAIT
TCPF_LAST_ACK = 1 << TCP_LAST_ACK
TCPF_LISTEN = 1 << TCP_LISTEN
TCPF_CLOSING = 1 << TCP_CLOSING
TCPF_NEW_SYN_RECV = 1 << TCP_NEW_SYN_RECV

# include/net/tcp_states.h TCP_STATE_MASK etc.
TCP_STATE_MASK = 0xF
TCP_ACTION_FIN = 1 << TCP_CLOSE

# Names as ss(8) prints them (misc/ss.c sstate_name).
TCP_STATE_NAMES = {
    TCP_ESTABLISHED: "ESTAB",
    TCP_SYN_SENT: "SYN-SENT",
    TCP_SYN_RECV: "SYN-RECV",
    TCP_FIN_WAIT1: "FIN-WAIT-1",
    TCP_FIN_WAIT2: "FIN-WAIT-2",
    TCP_TIME_WAIT: "TIME-WAIT",
    TCP_CLOSE: "UNCONN",
    TCP_CLOSE_WAIT: "CLOSE-WAIT",
    TCP_LAST_ACK: "LAST-ACK",
    TCP_LISTEN: "LISTEN",
    TCP_CLOSING: "CLOSING",
    TCP_NEW_SYN_RECV: "NEW-SYN-RECV",
    TCP_BOUND_INACTIVE: "BOUND-INACTIVE",
}

# The kernel's own names (trace events, /proc/net/tcp st column is the number in hex).
TCP_STATE_KERNEL_NAMES = {
    TCP_ESTABLISHED: "TCP_ESTABLISHED", TCP_SYN_SENT: "TCP_SYN_SENT", TCP_SYN_RECV: "TCP_SYN_RECV",
    TCP_FIN_WAIT1: "TCP_FIN_WAIT1", TCP_FIN_WAIT2: "TCP_FIN_WAIT2", TCP_TIME_WAIT: "TCP_TIME_WAIT",
    TCP_CLOSE: "TCP_CLOSE", TCP_CLOSE_WAIT: "TCP_CLOSE_WAIT", TCP_LAST_ACK: "TCP_LAST_ACK",
    TCP_LISTEN: "TCP_LISTEN", TCP_CLOSING: "TCP_CLOSING", TCP_NEW_SYN_RECV: "TCP_NEW_SYN_RECV",
    TCP_BOUND_INACTIVE: "TCP_BOUND_INACTIVE",
}

# The one transition table: state -> the states tcp_set_state() may move a full socket to.
TCP_TRANSITIONS = {
    TCP_CLOSE: {TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT},
    TCP_LISTEN: {TCP_CLOSE},
    TCP_SYN_SENT: {TCP_ESTABLISHED, TCP_SYN_RECV, TCP_CLOSE},
    TCP_SYN_RECV: {TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_CLOSE},
    TCP_ESTABLISHED: {TCP_FIN_WAIT1, TCP_CLOSE_WAIT, TCP_CLOSE},
    TCP_FIN_WAIT1: {TCP_FIN_WAIT2, TCP_CLOSING, TCP_CLOSE},
    TCP_FIN_WAIT2: {TCP_CLOSE},
    TCP_CLOSING: {TCP_CLOSE},
    TCP_CLOSE_WAIT: {TCP_LAST_ACK, TCP_CLOSE},
    TCP_LAST_ACK: {TCP_CLOSE},
}

# tcp.c new_state[]: what close() moves each state to, with TCP_ACTION_FIN when a FIN
# must be sent (tcp_close_state).
TCP_CLOSE_NEXT_STATE = {
    0: TCP_CLOSE,
    TCP_ESTABLISHED: TCP_FIN_WAIT1 | TCP_ACTION_FIN,
    TCP_SYN_SENT: TCP_CLOSE,
    TCP_SYN_RECV: TCP_FIN_WAIT1 | TCP_ACTION_FIN,
    TCP_FIN_WAIT1: TCP_FIN_WAIT1,
    TCP_FIN_WAIT2: TCP_FIN_WAIT2,
    TCP_TIME_WAIT: TCP_CLOSE,
    TCP_CLOSE: TCP_CLOSE,
    TCP_CLOSE_WAIT: TCP_LAST_ACK | TCP_ACTION_FIN,
    TCP_LAST_ACK: TCP_LAST_ACK,
    TCP_LISTEN: TCP_CLOSE,
    TCP_CLOSING: TCP_CLOSING,
    TCP_NEW_SYN_RECV: TCP_CLOSE,
}


def tcp_transition_ok(old: int, new: int) -> bool:
    return new in TCP_TRANSITIONS.get(old, ())


def tcp_state_name(state: int) -> str:
    return TCP_STATE_NAMES.get(state, f"UNKNOWN-{state}")
