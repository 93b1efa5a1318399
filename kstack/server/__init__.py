"""The daemon's I/O side: syscall and control servers, sockfs data pump, sessions.

Everything here does I/O (ZeroMQ, AF_UNIX fds, epoll); the stack it drives
under kstack/core, kstack/net and kstack/fs stays sans-I/O.
"""
