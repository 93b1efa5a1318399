"""The wire protocol between libsock and kstackd (shared by both sides).

Syscall channel (ZeroMQ DEALER -> ROUTER at ipc://RUNDIR/syscall): a request
is one msgpack frame ``[seq, call, *args]``, optional payload frames follow;
the reply is ``[seq, result, *extra]`` where result >= 0 or -errno.

Session channel (AF_UNIX SOCK_SEQPACKET at RUNDIR/session): one connection
per client process. The daemon greets with msgpack ``{"sid", "token"}``; the
client passes fds to the daemon with SCM_RIGHTS, each message's data being the
tag (the client's fd number, 4 bytes), optionally followed by msgpack
``[family, type, proto]``: socket(2) itself, done by the daemon when it reads
the message (no ZeroMQ round trip; a failure is returned by the next call
naming the fd). Its hang-up is the process's death.

Datagram sockets (UDP, raw) move each datagram through their SEQPACKET fd
with an 8-byte header ``DGRAM_HDR``: IPv4 address, port, flags
(bit 0: an address is given; client -> daemon only).
"""
import struct

SYSCALL_EP = "syscall"
CONTROL_EP = "control"
CAPTURE_EP = "capture"
SESSION_SOCK = "session"
PIDFILE = "kstackd.pid"

DGRAM_HDR = struct.Struct("!IHH")     # addr (host order int), port, flags
DGRAM_HLEN = DGRAM_HDR.size
DGRAM_F_ADDR = 1
TAG = struct.Struct("!i")

# SO_SNDBUF of the daemon's end of a socket pair (what the daemon writes, the
# client reads; and both ends of a datagram pair): small, since what sits in
# the fd unread is not counted in the receive window TCP advertises.
PAIR_SNDBUF = 65536
# SO_SNDBUF of the client's end of a stream pair (what the client writes and the
# daemon takes with tcp_sendmsg): larger, so that the daemon takes it in big
# pieces (one tcp_sendmsg per 256 KiB builds full 64 KiB segments; 64 KiB reads
# made twice as many segments, each costing a full trip through the stack).
CLIENT_SNDBUF = 262144
TX_CHUNK = 262144         # the most the daemon reads from a client's stream fd at once

# Calls that get no reply (notifications).
NOREPLY = frozenset(("attach", "close", "adopt", "cancel"))

MAX_REQUEST = 1 << 20     # bytes in one request frame; larger is EMSGSIZE
