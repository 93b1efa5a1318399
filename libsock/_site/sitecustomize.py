"""Loaded by Python at startup when `kstack exec` put this directory on PYTHONPATH:
install libsock before the program imports socket, select or selectors."""
import os

if os.environ.get("KSTACK_RUNDIR") and os.environ.get("KSTACK_PRELOAD", "1") != "0":
    import libsock.preload
    libsock.preload.install()
