"""init/main.c: start_kernel and the initcalls, then one Net per host.

start_kernel() runs each subsystem's init once per process (inet_init
registers the protocol tables and pernet operations, as the kernel's
fs_initcall does); net_create() is copy_net_ns(): a new namespace with
loopback and every pernet subsystem set up.
"""
from .core.net_namespace import Net, PernetOperations, register_pernet_subsys

_booted = False


def start_kernel() -> None:
    global _booted
    if _booted:
        return
    _booted = True
    from .drivers.net import loopback
    register_pernet_subsys(PernetOperations("loopback", loopback.loopback_net_init))
    try:
        from .net.ipv4 import af_inet
    except ImportError:  # during bring-up of the tree
        return
    af_inet.inet_init()


def net_create(clock=None, seed: int = 0, name: str = "host") -> Net:
    start_kernel()
    return Net(clock=clock, seed=seed, name=name)
