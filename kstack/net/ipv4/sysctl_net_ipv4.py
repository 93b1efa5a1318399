"""net/ipv4/sysctl_net_ipv4.c, include/net/netns/ipv4.h: struct netns_ipv4 and net.ipv4.*.

``NetnsIpv4`` is ``net.ipv4``: every per-Net IPv4 sysctl as a ``sysctl_*`` attribute
(kernel names), plus per-Net protocol state other modules hang on it (routing adds
``fib_*`` and ``arp_tbl``, ip_fragment its ``fqdir``, icmp its global token bucket).
It is a plain object on purpose: other subsystems add attributes to it in their own
pernet inits.

Ordering. The PernetOperations here is inserted at the FRONT of ``pernet_list`` when
this module is imported (not appended), so ``net.ipv4`` exists before any other
subsystem's pernet init runs, whatever the import order (routing's devinet/fib inits
and the TCP engineer's tcp_sk_init rely on it). Importing this module is enough.

Defaults are the kernel's, checked against this machine's /proc/sys/net/ipv4 (Linux
6.18): they agree everywhere, including ping_group_range = "1 0" (the kernel default:
nobody may open unprivileged ICMP sockets; distributions often widen it to
"0 2147483647" from userspace — write that to enable ping sockets for all groups).
icmp_msgs_per_sec/icmp_msgs_burst are 1000/50 as on this machine; kernels after 6.18
raised both defaults to 10000. Bounds were checked by writing to a fresh network
namespace on this machine (out-of-range writes get EINVAL).

tcp_* rows are not here: the TCP code registers them from its own pernet init
(the kernel's tcp_sk_init style) on this same object.
"""
from ...core.errno import EINVAL
from ...core.net_namespace import PernetOperations, pernet_list
from ...core.sysctl import INT_MAX, CtlTable, register_net_sysctl
from .inetpeer import HZ, InetPeerBase

LONG_MAX = 2**63 - 1
GID_T_MAX = 0xFFFFFFFE         # (gid_t)~0U - 1: the largest valid gid
IP_FRAG_TIME = 30               # seconds (include/net/ip.h: 30 * HZ)


class NetnsIpv4:
    """struct netns_ipv4."""

    def __init__(self):
        # --- IP ---------------------------------------------------------------
        self.sysctl_ip_forward = 0                 # IPV4_DEVCONF_ALL(FORWARDING); routing owns the write hook
        self.sysctl_ip_default_ttl = 64            # IPDEFTTL
        self.sysctl_ip_local_port_range = [32768, 60999]
        self.sysctl_local_reserved_ports = frozenset()
        self.sysctl_local_reserved_ports_text = ""
        self.sysctl_ip_prot_sock = 1024            # ip_unprivileged_port_start
        self.sysctl_ip_nonlocal_bind = 0
        self.sysctl_ip_no_pmtu_disc = 0
        self.sysctl_ip_dynaddr = 0
        self.sysctl_ip_fwd_use_pmtu = 0            # ip_forward_use_pmtu
        self.sysctl_ip_fwd_update_priority = 1     # ip_forward_update_priority
        self.sysctl_ip_early_demux = 1
        self.sysctl_udp_early_demux = 1
        self.sysctl_fwmark_reflect = 0
        self.sysctl_ip_autobind_reuse = 0
        # --- ICMP (icmp_sk_init) -------------------------------------------------
        self.sysctl_icmp_echo_ignore_all = 0
        self.sysctl_icmp_echo_enable_probe = 0
        self.sysctl_icmp_echo_ignore_broadcasts = 1
        self.sysctl_icmp_ignore_bogus_error_responses = 1
        self.sysctl_icmp_errors_use_inbound_ifaddr = 0
        self.sysctl_icmp_ratelimit = 1 * HZ        # milliseconds (HZ = 1000)
        self.sysctl_icmp_ratemask = 0x1818         # 6168: unreach, quench, time exceeded, param prob
        self.sysctl_icmp_msgs_per_sec = 1000
        self.sysctl_icmp_msgs_burst = 50
        self.icmp_global_credit = 0
        self.icmp_global_stamp = 0                 # set by icmp's pernet init
        # --- fragments (ipv4_frags_init_net) --------------------------------------
        self.sysctl_ipfrag_high_thresh = 4 * 1024 * 1024
        self.sysctl_ipfrag_low_thresh = 3 * 1024 * 1024   # obsolete since Linux 4.17, kept as a row
        self.sysctl_ipfrag_time = IP_FRAG_TIME     # seconds
        self.sysctl_ipfrag_max_dist = 64
        self.fqdir = None                          # ip_fragment.Fqdir
        # --- ping sockets, UDP -------------------------------------------------------
        self.sysctl_ping_group_range = [1, 0]      # kernel default (and this machine's)
        self.sysctl_udp_rmem_min = 4096            # PAGE_SIZE
        self.sysctl_udp_wmem_min = 4096
        # --- route.* (route.c's netns table; the routing code reads these) ----------
        self.ip_rt_mtu_expires = 10 * 60           # seconds
        self.ip_rt_min_pmtu = 512 + 20 + 20        # 552
        self.ip_rt_min_advmss = 256
        # --- shared state -----------------------------------------------------------
        self.peers = InetPeerBase()
        self.ip_id_key = 0                         # __ip_select_ident's key (0: not drawn yet)
        self.ip_idents = None
        self.ip_tstamps = None

    def __repr__(self):
        return "<netns_ipv4>"


def inet_get_local_port_range(net):
    """(low, high) of net.ipv4.ip_local_port_range."""
    r = net.ipv4.sysctl_ip_local_port_range
    return r[0], r[1]


def inet_is_local_reserved_port(net, port: int) -> bool:
    return port in net.ipv4.sysctl_local_reserved_ports


def inet_get_ping_group_range(net):
    r = net.ipv4.sysctl_ping_group_range
    return r[0], r[1]


class CheckedCtlTable(CtlTable):
    """A row whose handler also checks the new value against others (the kernel's
    custom proc handlers). ``check(new_value) -> 0 | -errno | ("set", value)`` runs
    after the generic parse and bounds; on error the old value is restored."""

    def __init__(self, *args, check=None, **kw):
        super().__init__(*args, **kw)
        self.check = check

    def write(self, text) -> int:
        old = getattr(self.data, self.attr)
        r = super().write(text)
        if r or self.check is None:
            return r
        new = getattr(self.data, self.attr)
        res = self.check(new)
        if isinstance(res, tuple):
            setattr(self.data, self.attr, res[1])
            return 0
        if res:
            setattr(self.data, self.attr, old)
            return res
        return 0


def _parse_port_bitmap(text: str):
    """proc_do_large_bitmap: "8080,9000-9010" -> set of ports, or None if malformed."""
    ports = set()
    text = text.strip()
    if not text:
        return ports
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo, 10)
            b = int(hi, 10) if sep else a
        except ValueError:
            return None
        if a < 0 or b < a or b > 65535:
            return None
        ports.update(range(a, b + 1))
    return ports


def _ipv4_sysctl_rows(net):
    v = net.ipv4

    def port_range_check(new):
        # ipv4_local_port_range: high >= low, low not below ip_unprivileged_port_start.
        if new[1] < new[0] or new[0] < v.sysctl_ip_prot_sock:
            return -EINVAL
        return 0

    def prot_sock_check(new):
        # ipv4_privileged_ports: the local port range must stay above the privileged ones.
        if v.sysctl_ip_local_port_range[0] < new:
            return -EINVAL
        return 0

    def ping_group_check(new):
        # ipv4_ping_group_range: a reversed range disables ping sockets ("1 0").
        if new[1] < new[0]:
            return ("set", [1, 0])
        return 0

    def high_thresh_check(new):
        return -EINVAL if new < v.sysctl_ipfrag_low_thresh else 0

    def low_thresh_check(new):
        return -EINVAL if new > v.sysctl_ipfrag_high_thresh else 0

    def reserved_ports_check(text):
        ports = _parse_port_bitmap(text)
        if ports is None:
            return -EINVAL
        v.sysctl_local_reserved_ports = frozenset(ports)
        return 0

    u8 = dict(handler="dointvec_minmax", extra1=0, extra2=255)
    bool_ = dict(handler="dointvec_minmax", extra1=0, extra2=1)
    return [
        CtlTable("ip_forward", v, "sysctl_ip_forward", "dointvec"),
        CtlTable("ip_default_ttl", v, "sysctl_ip_default_ttl", "dointvec_minmax", 1, 255),
        CheckedCtlTable("ip_local_port_range", v, "sysctl_ip_local_port_range", "dointvec_vec",
                        [1, 1], [65535, 65535], maxlen=2, check=port_range_check),
        CtlTable("ip_local_reserved_ports", v, "sysctl_local_reserved_ports_text", "dostring",
                 reserved_ports_check),
        CheckedCtlTable("ip_unprivileged_port_start", v, "sysctl_ip_prot_sock", "dointvec_minmax",
                        0, 65535, check=prot_sock_check),
        CtlTable("ip_nonlocal_bind", v, "sysctl_ip_nonlocal_bind", **u8),
        CtlTable("ip_no_pmtu_disc", v, "sysctl_ip_no_pmtu_disc", **u8),
        CtlTable("ip_dynaddr", v, "sysctl_ip_dynaddr", **u8),
        CtlTable("ip_forward_use_pmtu", v, "sysctl_ip_fwd_use_pmtu", **u8),
        CtlTable("ip_forward_update_priority", v, "sysctl_ip_fwd_update_priority", **bool_),
        CtlTable("ip_early_demux", v, "sysctl_ip_early_demux", **u8),
        CtlTable("udp_early_demux", v, "sysctl_udp_early_demux", **u8),
        CtlTable("fwmark_reflect", v, "sysctl_fwmark_reflect", **u8),
        CtlTable("ip_autobind_reuse", v, "sysctl_ip_autobind_reuse", **bool_),
        CtlTable("icmp_echo_ignore_all", v, "sysctl_icmp_echo_ignore_all", **bool_),
        CtlTable("icmp_echo_enable_probe", v, "sysctl_icmp_echo_enable_probe", **bool_),
        CtlTable("icmp_echo_ignore_broadcasts", v, "sysctl_icmp_echo_ignore_broadcasts", **bool_),
        CtlTable("icmp_ignore_bogus_error_responses", v, "sysctl_icmp_ignore_bogus_error_responses",
                 **bool_),
        CtlTable("icmp_errors_use_inbound_ifaddr", v, "sysctl_icmp_errors_use_inbound_ifaddr", **bool_),
        CtlTable("icmp_ratelimit", v, "sysctl_icmp_ratelimit", "dointvec_minmax", 0, INT_MAX),
        CtlTable("icmp_ratemask", v, "sysctl_icmp_ratemask", "dointvec"),
        CtlTable("icmp_msgs_per_sec", v, "sysctl_icmp_msgs_per_sec", "dointvec_minmax", 0, INT_MAX),
        CtlTable("icmp_msgs_burst", v, "sysctl_icmp_msgs_burst", "dointvec_minmax", 0, INT_MAX),
        CheckedCtlTable("ipfrag_high_thresh", v, "sysctl_ipfrag_high_thresh", "dointvec_minmax",
                        0, LONG_MAX, check=high_thresh_check),
        CheckedCtlTable("ipfrag_low_thresh", v, "sysctl_ipfrag_low_thresh", "dointvec_minmax",
                        0, LONG_MAX, check=low_thresh_check),
        CtlTable("ipfrag_time", v, "sysctl_ipfrag_time", "dointvec"),
        CtlTable("ipfrag_max_dist", v, "sysctl_ipfrag_max_dist", "dointvec_minmax", 0, INT_MAX),
        CheckedCtlTable("ping_group_range", v, "sysctl_ping_group_range", "dointvec_vec",
                        [0, 0], [GID_T_MAX, GID_T_MAX], maxlen=2, check=ping_group_check),
        CtlTable("udp_rmem_min", v, "sysctl_udp_rmem_min", "dointvec_minmax", 1, INT_MAX),
        CtlTable("udp_wmem_min", v, "sysctl_udp_wmem_min", "dointvec_minmax", 1, INT_MAX),
    ]


def _route_sysctl_rows(net):
    v = net.ipv4
    return [
        CtlTable("mtu_expires", v, "ip_rt_mtu_expires", "dointvec"),
        CtlTable("min_pmtu", v, "ip_rt_min_pmtu", "dointvec_minmax", 68, INT_MAX),   # IPV4_MIN_MTU
        CtlTable("min_adv_mss", v, "ip_rt_min_advmss", "dointvec"),
    ]


def ipv4_sysctl_init_net(net) -> None:
    """Create net.ipv4 and register net.ipv4.* (the pernet init; runs first)."""
    if net.ipv4 is None:
        net.ipv4 = NetnsIpv4()
    register_net_sysctl(net, "net/ipv4", _ipv4_sysctl_rows(net))
    register_net_sysctl(net, "net/ipv4/route", _route_sysctl_rows(net))
    # /proc/net/snmp's Ip DefaultTTL is the sysctl's value (snmp_seq_show_ipstats).
    net.mib.Ip["DefaultTTL"] = net.ipv4.sysctl_ip_default_ttl
    net.sysctl.hooks["net.ipv4.ip_default_ttl"] = _default_ttl_written


def _default_ttl_written(net, name, row) -> None:
    net.mib.Ip["DefaultTTL"] = net.ipv4.sysctl_ip_default_ttl


ipv4_sysctl_ops = PernetOperations("sysctl_net_ipv4", ipv4_sysctl_init_net)
if all(o.name != ipv4_sysctl_ops.name for o in pernet_list):
    pernet_list.insert(0, ipv4_sysctl_ops)
