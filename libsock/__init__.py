"""libsock: the stdlib's socket, select and selectors modules, on kstack.

    from libsock import socket          # as you would `import socket`
    import libsock.preload; libsock.preload.install()   # or swap them for a whole program

The daemon is found through KSTACK_RUNDIR (or the default rundir); see
docs/libsock.md for what the socket's fd shows to code that reads it directly.
"""
