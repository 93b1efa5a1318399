"""Put libsock in place of socket, select and selectors for a whole program.

install() must run before the program imports them (``kstack exec`` runs it
first, then the program as __main__). Modules that already imported the
stdlib keep it; install() refuses if one of ``socket``'s users is loaded
already, unless force=True.
"""
import sys

_installed = False


def install(rundir: str | None = None, force: bool = False) -> None:
    global _installed
    if _installed:
        return
    import os
    if rundir:
        os.environ["KSTACK_RUNDIR"] = rundir
    from . import select as lselect
    from . import selectors as lselectors
    from . import socket as lsocket
    sys.modules["socket"] = lsocket
    sys.modules["select"] = lselect
    sys.modules["selectors"] = lselectors
    # Modules that did `import socket` at import time (before us) keep the
    # stdlib objects; rebind the common ones that are already loaded.
    for name in ("socketserver", "asyncio.base_events", "asyncio.selector_events",
                 "http.client", "http.server", "urllib.request", "ssl", "smtplib"):
        m = sys.modules.get(name)
        if m is not None:
            if hasattr(m, "socket") and getattr(m.socket, "__name__", "") == "socket":
                m.socket = lsocket
            if hasattr(m, "selectors"):
                m.selectors = lselectors
            if hasattr(m, "select") and getattr(m.select, "__name__", "") == "select":
                m.select = lselect
    _installed = True
