"""kernel/sysctl.c, net/sysctl_net.c, net/core/sysctl_net_core.c: the /proc/sys/net tree.

A CtlTable row names a procname, the object and attribute holding the value
(the kernel's ``.data``), a handler and bounds. register_net_sysctl(net,
"net/core", rows) puts rows under a path; sysctl_get / sysctl_set take the
dotted name (``net.core.wmem_default``) as sysctl(8) does and return the text
or ``-errno``. Values live as plain attributes (``net.core.sysctl_wmem_default``)
so the data path reads them at attribute speed.
"""
from .errno import EACCES, EINVAL, ENOENT

INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1


class CtlTable:
    __slots__ = ("procname", "data", "attr", "handler", "extra1", "extra2", "mode", "maxlen")

    def __init__(self, procname, data, attr, handler="dointvec", extra1=None, extra2=None,
                 mode=0o644, maxlen=None):
        self.procname = procname
        self.data = data        # object holding the value
        self.attr = attr        # attribute name on it
        self.handler = handler  # dointvec | dointvec_minmax | dointvec_vec | dostring | dobool | doms_jiffies
        self.extra1 = extra1    # min (a list per element for vectors)
        self.extra2 = extra2    # max
        self.mode = mode
        self.maxlen = maxlen    # vector length

    def read(self) -> str:
        v = getattr(self.data, self.attr)
        if self.handler == "dointvec_vec":
            return "\t".join(str(x) for x in v)
        if self.handler == "dostring":
            return str(v)
        return str(int(v))

    def write(self, text) -> int:
        """Parse and store; 0 or -errno (out of range is EINVAL, as proc_dointvec_minmax)."""
        if self.mode & 0o200 == 0:
            return -EACCES   # open(O_WRONLY) of a 0444 /proc/sys file
        if self.handler == "dostring":
            s = str(text).strip()
            if self.maxlen and len(s) >= self.maxlen:
                return -EINVAL
            chk = self.extra1
            if callable(chk):
                r = chk(s)
                if r:
                    return r
            setattr(self.data, self.attr, s)
            return 0
        if isinstance(text, (list, tuple)):
            parts = [str(x) for x in text]
        else:
            parts = str(text).split()
        try:
            vals = [int(p, 0) for p in parts]
        except ValueError:
            return -EINVAL
        if self.handler == "dointvec_vec":
            n = self.maxlen or len(getattr(self.data, self.attr))
            if not vals or len(vals) > n:
                return -EINVAL
            cur = list(getattr(self.data, self.attr))
            vals = vals + cur[len(vals):]
            for i, v in enumerate(vals):
                lo = self.extra1[i] if isinstance(self.extra1, (list, tuple)) else self.extra1
                hi = self.extra2[i] if isinstance(self.extra2, (list, tuple)) else self.extra2
                if (lo is not None and v < lo) or (hi is not None and v > hi):
                    return -EINVAL
            chk = getattr(self, "_vec_check", None)
            setattr(self.data, self.attr, vals)
            return 0
        if len(vals) != 1:
            return -EINVAL
        v = vals[0]
        lo, hi = self.extra1, self.extra2
        if self.handler == "dobool":
            v = 1 if v else 0
        if self.handler == "dointvec" and not (-2**31 <= v <= UINT_MAX):
            return -EINVAL
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return -EINVAL
        setattr(self.data, self.attr, v)
        return 0


class SysctlTree:
    """Every registered name of one namespace: 'net.core.wmem_default' -> CtlTable."""

    def __init__(self):
        self.entries: dict[str, CtlTable] = {}
        self.hooks: dict[str, object] = {}   # name -> callable after a successful write

    def names(self, prefix: str = ""):
        return sorted(n for n in self.entries if n.startswith(prefix))


def register_net_sysctl(net, path: str, table, on_write=None) -> None:
    base = path.strip("/").replace("/", ".")
    for row in table:
        name = base + "." + row.procname
        net.sysctl.entries[name] = row
        if on_write is not None:
            net.sysctl.hooks[name] = on_write


def unregister_net_sysctl(net, path: str) -> None:
    base = path.strip("/").replace("/", ".") + "."
    for name in [n for n in net.sysctl.entries if n.startswith(base)]:
        del net.sysctl.entries[name]
        net.sysctl.hooks.pop(name, None)


def _norm(name: str) -> str:
    return name.strip().replace("/", ".").removeprefix("proc.sys.").strip(".")


def sysctl_get(net, name: str):
    row = net.sysctl.entries.get(_norm(name))
    if row is None:
        return -ENOENT
    return row.read()


def sysctl_set(net, name: str, value) -> int:
    name = _norm(name)
    row = net.sysctl.entries.get(name)
    if row is None:
        return -ENOENT
    r = row.write(value)
    if r == 0:
        hook = net.sysctl.hooks.get(name)
        if hook is not None:
            hook(net, name, row)
    return r


def sysctl_all(net, prefix: str = "net"):
    """[(name, text)] sorted, for sysctl -a."""
    return [(n, net.sysctl.entries[n].read()) for n in net.sysctl.names(prefix)]


class NetnsCore:
    """struct netns_core plus the core sysctls (net/core/sysctl_net_core.c)."""

    def __init__(self):
        self.sysctl_wmem_default = 212992
        self.sysctl_rmem_default = 212992
        self.sysctl_wmem_max = 212992
        self.sysctl_rmem_max = 212992
        self.sysctl_somaxconn = 4096
        self.sysctl_netdev_budget = 300
        self.sysctl_netdev_budget_usecs = 2000
        self.sysctl_netdev_max_backlog = 1000
        self.sysctl_dev_weight = 64
        self.sysctl_optmem_max = 131072


SOCK_MIN_SNDBUF = 4608   # 2 * (2048 + ALIGN(sizeof(struct sk_buff)))
SOCK_MIN_RCVBUF = 2304


def net_core_sysctl_init(net) -> None:
    c = net.core
    rows = [
        CtlTable("wmem_max", c, "sysctl_wmem_max", "dointvec_minmax", SOCK_MIN_SNDBUF, INT_MAX),
        CtlTable("rmem_max", c, "sysctl_rmem_max", "dointvec_minmax", SOCK_MIN_RCVBUF, INT_MAX),
        CtlTable("wmem_default", c, "sysctl_wmem_default", "dointvec_minmax", SOCK_MIN_SNDBUF, INT_MAX),
        CtlTable("rmem_default", c, "sysctl_rmem_default", "dointvec_minmax", SOCK_MIN_RCVBUF, INT_MAX),
        CtlTable("somaxconn", c, "sysctl_somaxconn", "dointvec_minmax", 0, INT_MAX),
        CtlTable("netdev_budget", c, "sysctl_netdev_budget", "dointvec_minmax", 1, INT_MAX),
        CtlTable("netdev_budget_usecs", c, "sysctl_netdev_budget_usecs", "dointvec_minmax", 0, INT_MAX),
        CtlTable("netdev_max_backlog", c, "sysctl_netdev_max_backlog", "dointvec_minmax", 1, INT_MAX),
        CtlTable("dev_weight", c, "sysctl_dev_weight", "dointvec_minmax", 1, INT_MAX),
        CtlTable("optmem_max", c, "sysctl_optmem_max", "dointvec_minmax", 0, INT_MAX),
    ]
    register_net_sysctl(net, "net/core", rows)
