"""net/core/stream.c — generic stream socket helpers used by TCP.

The waits of the kernel file (sk_stream_wait_connect, sk_stream_wait_memory,
sk_stream_wait_close) are not blocking loops here: TCP's sendmsg/close return a
core.wait.Blocked built with sock.sk_wait_event, and the condition is re-checked when the
waiter is retried. What stays is the wake-up policy and queue cleanup.
"""
from .errno import EPIPE
from .skbuff import skb_queue_purge
from .wait import EPOLLOUT, EPOLLWRBAND, EPOLLWRNORM, wake_up


def sk_stream_write_space(sk) -> None:
    """Wake writers when the send buffer has room again: free space at least a third of the
    buffer (wspace >= queued/2) and the unsent bytes under TCP_NOTSENT_LOWAT."""
    from kstack.net.ipv4.tcp import __sk_stream_is_writeable
    sock = sk.sk_socket
    if sock is None:
        return
    if __sk_stream_is_writeable(sk, 1):
        sk.sk_socket_nospace = False
        wq = sk.sk_wq
        if wq is not None and wq.entries:
            wake_up(wq, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)


def sk_stream_kill_queues(sk) -> None:
    """Drop whatever is still queued on a dying stream socket."""
    skb_queue_purge(sk.sk_receive_queue)
    skb_queue_purge(sk.sk_write_queue)
    sk.sk_wmem_queued = 0


def sk_stream_error(sk, flags: int, err: int) -> int:
    """EPIPE becomes the pending socket error if there is one (SIGPIPE is the caller's)."""
    if err == -EPIPE:
        e = sk.sk_err
        if e:
            sk.sk_err = 0
            return -e
    return err
