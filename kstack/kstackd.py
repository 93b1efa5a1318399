"""kstackd: one process is one host; its single-threaded loop plays the CPU.

    kstackd --rundir DIR [--config FILE] [--seed N]

The loop (ARCHITECTURE.md "Inside kstackd"): epoll waits on the syscall and
control ROUTERs (their ZMQ_FD), the session listener and connections, the
sockets' data fds (kstack/server/sockfs.py) and, later, NIC doorbells, with a
timeout until ``net.next_event()``; then a bounded batch of syscalls, the
data pump, ``do_softirq`` (net_rx_action, net_tx_action), expired timers, the
calls that woke, and the replies. Idle, it sleeps in epoll_wait.

The run directory is created mode 0700; a directory that another user owns or
that group/others can write is refused. SIGTERM/SIGINT stop the loop, and the
endpoints are removed.
"""
import argparse
import gc
import os
import select
import signal
import socket
import stat
import sys

from .server.clock import MonotonicClock
from .server.proto import PIDFILE, SESSION_SOCK, SYSCALL_EP, CONTROL_EP, CAPTURE_EP


class RundirError(Exception):
    pass


def prepare_rundir(path: str) -> str:
    """Create DIR 0700, or check an existing one is ours and private."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise RundirError(f"{path}: not a directory")
    if st.st_uid != os.geteuid():
        raise RundirError(f"{path}: owned by uid {st.st_uid}, not by us (uid {os.geteuid()})")
    if st.st_mode & 0o022:
        raise RundirError(f"{path}: writable by group or others (mode {stat.S_IMODE(st.st_mode):o})")
    # Another live daemon here?
    sp = os.path.join(path, SESSION_SOCK)
    if os.path.exists(sp):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(sp)
        except OSError:
            pass      # stale: nobody listens
        else:
            raise RundirError(f"{path}: a kstackd is already running there")
        finally:
            s.close()
    for name in (SESSION_SOCK, SYSCALL_EP, CONTROL_EP, CAPTURE_EP):
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            pass
    return path


class Kstackd:
    """The host: one Net, the servers, the epoll set and the loop."""

    SYSCALL_BATCH = 256

    def __init__(self, rundir: str, config: dict | None = None, seed: int | None = None,
                 name: str | None = None):
        import zmq

        from .init import net_create
        from .server.control import ControlServer
        from .server.session import SessionServer
        from .server.sockfs import SockFS
        from .server.syscall import SyscallServer

        self.rundir = rundir
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little")
        self.net = net_create(clock=MonotonicClock(), seed=seed,
                              name=name or os.path.basename(rundir.rstrip("/")) or "host")
        self.clock = self.net.clock
        self.stats = {"bad_requests": 0, "syscalls": 0, "sessions": 0, "loops": 0}
        self.ctx = zmq.Context()
        self.epoll = select.epoll()
        self.handlers = {}          # fd -> callable(events)
        self.stopping = False
        self.ready = []             # callables to run after the next softirq round
        self.sockfs = SockFS(self)
        self.sockfs.files()         # import the socket layer now, not in the first call
        self.sessions = SessionServer(self)
        self.syscalls = SyscallServer(self)
        self.control = ControlServer(self)
        from .server.capture import CaptureServer
        self.capture = CaptureServer(self)
        # self-pipe: a signal wakes epoll_wait
        self._sig_r, self._sig_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.register(self._sig_r, select.EPOLLIN, self._on_signal_pipe)
        if config:
            from .server.config import apply_config
            apply_config(self, config)
        with open(os.path.join(rundir, PIDFILE), "w") as f:
            f.write(f"{os.getpid()}\n")

    # -- epoll registry ---------------------------------------------------------
    def register(self, fd: int, events: int, handler) -> None:
        self.handlers[fd] = handler
        self.epoll.register(fd, events)

    def modify(self, fd: int, events: int) -> None:
        self.epoll.modify(fd, events)

    def unregister(self, fd: int) -> None:
        if self.handlers.pop(fd, None) is not None:
            try:
                self.epoll.unregister(fd)
            except (OSError, ValueError):
                pass

    def _on_signal_pipe(self, events: int) -> None:
        try:
            while os.read(self._sig_r, 512):
                pass
        except BlockingIOError:
            pass

    # -- the loop ---------------------------------------------------------------
    def stop(self, *_):
        self.stopping = True

    def run(self) -> None:
        """One epoll set holds every fd: the sockets' data fds, the session
        connections, the signal pipe and the three ROUTER/XPUB sockets' ZMQ_FDs,
        so a wake-up costs one epoll_wait however many sockets there are."""
        import zmq
        net = self.net
        clock = self.clock
        epoll_poll = self.epoll.poll
        handlers = self.handlers
        syscalls = self.syscalls
        control = self.control
        capture = self.capture
        sockfs = self.sockfs
        by_dfd = sockfs.by_dfd
        on_fd = sockfs.on_fd
        softnet = net.softnet_data
        stats = self.stats
        EVENTS, POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)     # ints: no IntFlag arithmetic
        servers = (syscalls, control, capture)
        for srv in servers:
            # ZMQ_FD says "look at ZMQ_EVENTS": the server's process() does.
            self.register(srv.sock.getsockopt(zmq.FD), select.EPOLLIN,
                          lambda ev, srv=srv: setattr(srv, "more", True))
        while not self.stopping:
            # How long may we sleep? Not at all if work is queued.
            if syscalls.more or control.more or capture.more or self.ready \
                    or sockfs.dirty or softnet.pending:
                timeout = 0
            elif capture.pt is not None and capture.sock.getsockopt(EVENTS) & POLLIN:
                # Sending may take an incoming message's edge off a ZMQ_FD, so
                # after sends ask ZMQ_EVENTS (flush_replies does for the syscall
                # socket, control.process for its own; captured frames here).
                capture.more = True
                timeout = 0
            else:
                nxt = net.next_event()
                timeout = -1 if nxt is None else max(0.0, nxt - clock.now())
            try:
                events = epoll_poll(timeout)
            except InterruptedError:
                continue
            stats["loops"] += 1
            for fd, ev in events:
                sf = by_dfd.get(fd)
                try:
                    if sf is not None:
                        on_fd(sf, ev)
                    else:
                        h = handlers.get(fd)
                        if h is not None:
                            h(ev)
                except Exception as e:
                    self.oops(e, "event")
            try:
                if capture.more:
                    capture.process()
                syscalls.process(self.SYSCALL_BATCH)
                control.process(64)
            except Exception as e:
                self.oops(e, "syscalls")
            self.tick()

    def oops(self, e: BaseException, where: str) -> None:
        """A bug (in the stack or here): record it, say it, keep serving."""
        import traceback
        self.net.bug(e, where)
        self.stats["bugs"] = self.stats.get("bugs", 0) + 1
        traceback.print_exc(limit=10, file=sys.stderr)

    def tick(self) -> None:
        """Softirqs, timers, data pump and woken calls until quiet; then the replies."""
        net = self.net
        softnet = net.softnet_data
        sockfs = self.sockfs
        for _ in range(64):
            try:
                net.do_softirq()
                if net.run_timers():
                    net.do_softirq()
            except Exception as e:
                self.oops(e, "softirq")
            # Parked calls first: a blocking connect takes its own sk_err
            # (ECONNREFUSED) before the data pump would.
            if self.ready:
                ready, self.ready = self.ready, []
                for fn in ready:
                    try:
                        fn()
                    except Exception as e:
                        self.oops(e, "retry")
            if sockfs.dirty:
                sockfs.flush()
            # What the pump and the calls did (an ACK sent, a socket woken) goes
            # round again at once, not after the next epoll_wait.
            if not (softnet.pending or self.ready or sockfs.dirty):
                break
        self.syscalls.flush_replies()

    def close(self) -> None:
        self.syscalls.close()
        self.control.close()
        self.capture.close()
        self.sessions.close()
        self.sockfs.close()
        self.ctx.term()
        for name in (SESSION_SOCK, SYSCALL_EP, CONTROL_EP, CAPTURE_EP, PIDFILE):
            try:
                os.unlink(os.path.join(self.rundir, name))
            except FileNotFoundError:
                pass


def load_config(path: str) -> dict:
    import tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="kstackd", description="kstack host daemon")
    ap.add_argument("--rundir", required=True, help="run directory (created 0700)")
    ap.add_argument("--config", help="TOML file: interfaces, addresses, routes, sysctls")
    ap.add_argument("--seed", type=int, help="RNG seed (ISNs, ports); random by default")
    ap.add_argument("--name", help="host name (default: the rundir's name)")
    args = ap.parse_args(argv)
    try:
        rundir = prepare_rundir(args.rundir)
        config = load_config(args.config) if args.config else None
    except (RundirError, OSError, ValueError) as e:
        print(f"kstackd: {e}", file=sys.stderr)
        return 1
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:     # two fds per socket, a thousand connections and more
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
    d = None
    try:
        d = Kstackd(rundir, config, args.seed, args.name)
        signal.set_wakeup_fd(d._sig_w)
        signal.signal(signal.SIGTERM, d.stop)
        signal.signal(signal.SIGINT, d.stop)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        # What start-up made (modules, protocol tables) lives as long as we do: keep
        # it out of every later garbage collection, so a full one stays short.
        gc.collect()
        gc.freeze()
        print(f"kstackd: {d.net.name} ready in {rundir} (pid {os.getpid()})", file=sys.stderr, flush=True)
        prof_out = os.environ.get("KSTACKD_PROFILE")
        if prof_out:
            # cProfile of the whole loop, written when the daemon stops (pstats format)
            import cProfile
            prof = cProfile.Profile()
            try:
                prof.runcall(d.run)
            finally:
                prof.dump_stats(prof_out)
        else:
            d.run()
    except Exception as e:  # startup failure (bad config...)
        if d is None:
            print(f"kstackd: {e}", file=sys.stderr)
            return 1
        raise
    finally:
        if d is not None:
            d.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
