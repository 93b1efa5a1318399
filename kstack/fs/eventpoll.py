"""fs/eventpoll.c: epoll over kstack files.

epoll_create1(files, flags) -> epfd; epoll_ctl(files, epfd, op, fd, events,
data=None) with EPOLL_CTL_ADD/MOD/DEL and EPOLLET/EPOLLONESHOT; ep_poll(files,
epfd, maxevents, timeout_ms) -> [(data, revents)] (``data`` defaults to the
fd, which is what Python's select.epoll reports), or a Blocked when nothing is
ready and the timeout (ms, negative = forever) allows sleeping.

As in the kernel, each watched file gets a wait-queue entry
(ep_poll_callback) that puts its item on the ready list when the file's wait
queue is woken with an interesting key; ep_send_events re-polls each ready
item, reports it, and keeps level-triggered items on the list (edge-triggered
ones leave it until the next wakeup; one-shot ones are disarmed).
"""
from ..core.errno import EBADF, EEXIST, EINTR, EINVAL, ENOENT, EPERM
from ..core.wait import (ALL_EVENTS, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDNORM,
                         EPOLLWRNORM, Blocked,
                         WaitQueueEntry, WaitQueueHead, add_wait_queue, remove_wait_queue,
                         wake_up)
from .file import O_CLOEXEC, File, FileOperations, alloc_fd, fd_install
from .select import file_wait_queue, vfs_poll

EPOLL_CTL_ADD = 1
EPOLL_CTL_DEL = 2
EPOLL_CTL_MOD = 3
EPOLLEXCLUSIVE = 1 << 28
EPOLLWAKEUP = 1 << 29
EPOLLONESHOT = 1 << 30
EPOLLET = 1 << 31
EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
EPOLL_CLOEXEC = O_CLOEXEC
EP_MAX_EVENTS = 0x7FFFFFFF // 12


class EpItem:
    __slots__ = ("ep", "file", "fd", "events", "data", "ready", "wait", "wq")

    def __init__(self, ep, file, fd, events, data):
        self.ep = ep
        self.file = file
        self.fd = fd
        self.events = events
        self.data = data
        self.ready = False
        self.wait = None
        self.wq = None


class EventPoll:
    """struct eventpoll."""

    def __init__(self):
        self.rbr: dict = {}          # (file id, fd) -> EpItem
        self.rdllist: list = []      # ready items, in order
        self.wq = WaitQueueHead()    # ep_poll sleepers
        self.poll_wait = WaitQueueHead()   # poll()/epoll of this epoll fd
        self.file = None


def ep_eventpoll_release(file: File):
    ep_free(file.private_data)
    return 0


def ep_eventpoll_poll(file: File, pt=None) -> int:
    ep = file.private_data
    for epi in list(ep.rdllist):
        if vfs_poll(epi.file) & epi.events:
            return EPOLLIN | EPOLLRDNORM
    return 0


eventpoll_fops = FileOperations("eventpoll", release=ep_eventpoll_release, poll=ep_eventpoll_poll)


def ep_free(ep: EventPoll) -> None:
    for epi in list(ep.rbr.values()):
        ep_remove(ep, epi)


def ep_poll_callback(entry, key) -> None:
    epi = entry.private
    if not epi.events & ~EP_PRIVATE_BITS:
        return                      # EPOLLONESHOT disarmed
    if key != ALL_EVENTS and key and not key & epi.events:
        return
    ep = epi.ep
    if not epi.ready:
        epi.ready = True
        ep.rdllist.append(epi)
    if ep.wq.entries:
        wake_up(ep.wq)
    if ep.poll_wait.entries:
        wake_up(ep.poll_wait, EPOLLIN)


def ep_remove(ep: EventPoll, epi: EpItem) -> None:
    if epi.wait is not None and epi.wq is not None:
        remove_wait_queue(epi.wq, epi.wait)
    epi.wait = None
    if epi.ready:
        epi.ready = False
        try:
            ep.rdllist.remove(epi)
        except ValueError:
            pass
    ep.rbr.pop((id(epi.file), epi.fd), None)
    lst = epi.file.f_ep
    if lst and epi in lst:
        lst.remove(epi)


def eventpoll_release(file: File) -> None:
    """The last reference to a watched file went: drop it from every epoll set."""
    for epi in list(file.f_ep or ()):
        ep_remove(epi.ep, epi)
    file.f_ep = None


def epoll_create1(files, flags: int = 0) -> int:
    if flags & ~EPOLL_CLOEXEC:
        return -EINVAL
    fd = alloc_fd(files, 0)
    if fd < 0:
        return fd
    ep = EventPoll()
    f = File(eventpoll_fops, ep, 2, files.cred)
    ep.file = f
    return fd_install(files, fd, f, flags & O_CLOEXEC)


def epoll_create(files, size: int) -> int:
    if size <= 0:
        return -EINVAL
    return epoll_create1(files, 0)


def epoll_ctl(files, epfd: int, op: int, fd: int, events: int = 0, data=None) -> int:
    epf = files.fdt.get(epfd)
    if epf is None:
        return -EBADF
    tf = files.fdt.get(fd)
    if tf is None:
        return -EBADF
    if tf.f_op.poll is None:
        return -EPERM
    if epf.f_op is not eventpoll_fops or epf is tf:
        return -EINVAL
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD):
        return -EINVAL
    if events & EPOLLEXCLUSIVE:
        if op == EPOLL_CTL_MOD:
            return -EINVAL
        if op == EPOLL_CTL_ADD and (tf.f_op is eventpoll_fops
                                    or events & ~(EPOLLEXCLUSIVE | EPOLLIN | EPOLLOUT | EPOLLERR
                                                  | EPOLLHUP | EPOLLWAKEUP | EPOLLET
                                                  | EPOLLRDNORM | EPOLLWRNORM)):
            return -EINVAL
    ep = epf.private_data
    key = (id(tf), fd)
    epi = ep.rbr.get(key)
    if op in (EPOLL_CTL_ADD, EPOLL_CTL_MOD):
        events |= EPOLLERR | EPOLLHUP
    events &= 0xFFFFFFFF
    if op == EPOLL_CTL_ADD:
        if epi is not None:
            return -EEXIST
        return ep_insert(ep, tf, fd, events, fd if data is None else data)
    if epi is None:
        return -ENOENT
    if op == EPOLL_CTL_DEL:
        ep_remove(ep, epi)
        return 0
    if epi.events & EPOLLEXCLUSIVE:
        return -EINVAL
    epi.events = events
    if data is not None:
        epi.data = data
    if vfs_poll(tf) & events and not epi.ready:
        epi.ready = True
        ep.rdllist.append(epi)
        if ep.wq.entries:
            wake_up(ep.wq)
    return 0


def ep_insert(ep: EventPoll, file: File, fd: int, events: int, data) -> int:
    epi = EpItem(ep, file, fd, events, data)
    wq = file_wait_queue(file)
    if wq is not None:
        e = WaitQueueEntry(ep_poll_callback, epi, ALL_EVENTS)
        add_wait_queue(wq, e)
        epi.wait = e
        epi.wq = wq
    ep.rbr[(id(file), fd)] = epi
    if file.f_ep is None:
        file.f_ep = []
    file.f_ep.append(epi)
    if vfs_poll(file) & events:
        epi.ready = True
        ep.rdllist.append(epi)
        if ep.wq.entries:
            wake_up(ep.wq)
        if ep.poll_wait.entries:
            wake_up(ep.poll_wait, EPOLLIN)
    return 0


def ep_send_events(ep: EventPoll, maxevents: int) -> list:
    """Report up to maxevents ready items, re-polling each; level-triggered items stay ready,
    edge-triggered ones wait for the next wakeup, one-shot ones are disarmed."""
    out = []
    txlist, ep.rdllist = ep.rdllist, []
    relist = []
    n = 0
    for epi in txlist:
        if len(out) >= maxevents:
            break
        n += 1
        epi.ready = False
        revents = vfs_poll(epi.file) & epi.events
        if not revents:
            continue
        out.append((epi.data, revents))
        if epi.events & EPOLLONESHOT:
            epi.events &= EP_PRIVATE_BITS
        elif not epi.events & EPOLLET:
            relist.append(epi)
    for epi in relist:
        epi.ready = True
    # Items not reached go back to the front; level-triggered ones to the back.
    ep.rdllist = txlist[n:] + ep.rdllist + relist
    return out


def ep_poll(files, epfd: int, maxevents: int, timeout: int = -1):
    """epoll_wait(2): [(data, revents)], or Blocked (timeout ms; negative = forever)."""
    if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
        return -EINVAL
    f = files.fdt.get(epfd)
    if f is None:
        return -EBADF
    if f.f_op is not eventpoll_fops:
        return -EINVAL
    ep = f.private_data
    clock = files.net.clock if files.net is not None else None
    timeo = None if timeout is None or timeout < 0 else timeout / 1000.0
    deadline = None if timeo is None or clock is None else clock.now() + timeo
    return _ep_poll_once(ep, maxevents, timeo, deadline, clock)


def _ep_poll_once(ep, maxevents, timeo, deadline, clock):
    if ep.rdllist:
        out = ep_send_events(ep, maxevents)
        if out:
            return out
    if timeo == 0:
        return []

    def retry():
        left = None if deadline is None else deadline - clock.now()
        if left is not None and left <= 0:
            return ep_send_events(ep, maxevents) if ep.rdllist else []
        return _ep_poll_once(ep, maxevents, left, deadline, clock)

    def on_timeout():
        return ep_send_events(ep, maxevents) if ep.rdllist else []

    return Blocked(ep.wq, ALL_EVENTS, retry, timeo, on_timeout, lambda: -EINTR, "epoll_wait")


epoll_wait = ep_poll
