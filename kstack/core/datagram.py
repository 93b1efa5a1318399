"""net/core/datagram.c: receiving datagrams from a socket queue, and datagram_poll.

__skb_recv_datagram(sk, queue, flags, retry) returns the next skb (left on
the queue with MSG_PEEK), 0 when the receive side is shut down and the
queue is empty (a blocking reader sees EOF), -errno (a pending sk_err comes
first, as __skb_try_recv_datagram takes it before looking at the queue;
-EAGAIN when empty and not allowed to sleep), or a Blocked that calls
``retry`` when woken (the protocol's recvmsg again).
"""
from .errno import EAGAIN, ENOTCONN
from .skbuff import consume_skb
from .sock import (RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SOCK_SELECT_ERR_QUEUE, SOCK_SEQPACKET,
                   SOCK_STREAM, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_SENT, Msghdr,
                   memcpy_to_msg, sk_wait_event, sock_error, sock_flag, sock_rcvtimeo,
                   sock_writeable)
from .wait import (EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, EPOLLRDNORM,
                   EPOLLWRBAND, EPOLLWRNORM)

MSG_PEEK = 0x2
MSG_DONTWAIT = 0x40


def connection_based(sk) -> bool:
    return sk.sk_type == SOCK_SEQPACKET or sk.sk_type == SOCK_STREAM


def __skb_try_recv_datagram(sk, queue, flags: int):
    """The head skb (dequeued unless MSG_PEEK), or -errno: sk_err first, else -EAGAIN."""
    if sk.sk_err:
        return sock_error(sk)
    q = queue.q
    if not q:
        return -EAGAIN
    # __skb_try_recv_from_queue: peek, or __skb_unlink the head
    return q[0] if flags & MSG_PEEK else q.popleft()


def __skb_wait_for_more_packets(sk, queue, timeo, retry):
    """What a reader that found nothing gets: an error, EOF (0), or Blocked."""
    err = sock_error(sk)
    if err:
        return err
    if queue.q:
        return retry()
    if sk.sk_shutdown & RCV_SHUTDOWN:
        return 0
    if connection_based(sk) and sk.sk_state not in (TCP_ESTABLISHED, TCP_LISTEN):
        return -ENOTCONN
    return sk_wait_event(sk, EPOLLIN | EPOLLERR, retry, timeo, what="recv")


def __skb_recv_datagram(sk, queue, flags: int, retry):
    r = __skb_try_recv_datagram(sk, queue, flags)
    if type(r) is not int:
        return r
    timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT)
    if r != -EAGAIN or timeo == 0:
        return r
    return __skb_wait_for_more_packets(sk, queue, timeo, retry)


def skb_recv_datagram(sk, flags: int, retry):
    return __skb_recv_datagram(sk, sk.sk_receive_queue, flags, retry)


def skb_copy_datagram_msg(skb, offset: int, msg: Msghdr, size: int) -> int:
    """Copy size bytes of the skb's data, from offset, to the receiver."""
    start = skb.data + offset
    return memcpy_to_msg(msg, skb.head[start:start + size])


def skb_free_datagram(sk, skb) -> None:
    consume_skb(skb)


def datagram_poll(file, sock, pt=None) -> int:
    """The readiness of a datagram socket."""
    sk = sock.sk
    mask = 0
    if sk.sk_err or sk.sk_error_queue.q:
        mask |= EPOLLERR | (EPOLLPRI if sock_flag(sk, SOCK_SELECT_ERR_QUEUE) else 0)
    shutdown = sk.sk_shutdown
    if shutdown & RCV_SHUTDOWN:
        mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM
    if shutdown == SHUTDOWN_MASK:
        mask |= EPOLLHUP
    if sk.sk_receive_queue.q:
        mask |= EPOLLIN | EPOLLRDNORM
    if connection_based(sk):
        state = sk.sk_state
        if state == TCP_CLOSE:
            mask |= EPOLLHUP
        if state == TCP_SYN_SENT:
            return mask
    if sock_writeable(sk):
        mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND
    return mask


__all__ = ["connection_based", "__skb_try_recv_datagram", "__skb_recv_datagram",
           "skb_recv_datagram", "skb_copy_datagram_msg", "skb_free_datagram", "datagram_poll",
           "SEND_SHUTDOWN"]
