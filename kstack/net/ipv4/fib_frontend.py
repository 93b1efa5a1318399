"""net/ipv4/fib_frontend.c, include/net/ip_fib.h: the FIB's front door — RFC 1812 §5.2.4.

fib_lookup consults the tables: without custom rules the kernel keeps local and main in
one trie, so the longest match over both wins (local first on a tie), then the default
table; with `ip rule`s it walks the rules (fib_rules.py). fib_validate_source is the
martian/reverse-path check of incoming packets (rp_filter, accept_local).

Connected routes follow addresses as fib_add_ifaddr / fib_del_ifaddr maintain them
(table local: `local A`, `broadcast B`; table main: `P/len ... proto kernel scope link
src A`), and devices going down drop the routes through them (fib_disable_ip).
inet_rtm_newroute / inet_rtm_delroute / fib_dump serve `ip route add|del|show`.
"""
from ...core.errno import EAGAIN, EINVAL, ENETUNREACH, ENOBUFS, ENODEV, ESRCH

EXDEV = 18  # include/uapi/asm-generic/errno-base.h (not in core/errno.py yet)
from ...core.netdevice import (IFF_LOOPBACK, IFF_LOWER_UP, IFF_RUNNING, NETDEV_CHANGE,
                               NETDEV_CHANGEMTU, NETDEV_DOWN, NETDEV_UNREGISTER, NETDEV_UP)
from ...core.rtnetlink import (NL_SET_ERR_MSG, NLM_F_APPEND, NLM_F_CREATE, RT_SCOPE_HOST,
                               RT_SCOPE_LINK, RT_SCOPE_NAMES, RT_SCOPE_UNIVERSE, RT_TABLE_LOCAL,
                               RT_TABLE_MAIN, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE,
                               RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_NAMES, RTN_THROW,
                               RTN_UNICAST, RTNH_F_DEAD, RTNH_F_NAMES, RTNH_F_ONLINK,
                               RTPROT_BOOT, RTPROT_KERNEL, RTPROT_NAMES, rt_table_id,
                               rt_table_name, rtnl_register, rtnl_rtprot_a2n, rtnl_rtntype_a2n,
                               rtnl_rtscope_a2n)
from ...core.dst import RTAX_CC_ALGO, RTAX_LOCK, RTAX_NAMES
from .devinet import (IFA_F_NOPREFIXROUTE, IFA_F_SECONDARY, IN_DEV_ACCEPT_LOCAL, IN_DEV_RPFILTER,
                      IN_DEV_TX_REDIRECTS, inet_ifa_byprefix, inet_ifa_match,
                      register_inetaddr_notifier)
from .fib_semantics import (FIB_LOOKUP_IGNORE_LINKSTATE, FIB_RES_NH, FibConfig, FibNet,
                            FibResult, fib_config_default_scope, fib_net, fib_sync_down_dev,
                            fib_sync_mtu, fib_sync_up)
from .fib_trie import (fib_get_table, fib_new_table, fib_table_delete, fib_table_flush,
                       fib_table_insert, fib_table_lookup, fib_table_walk)

LOOPBACK_IFINDEX = 1


def ipv4_is_multicast(addr: int) -> bool:
    return (addr & 0xF0000000) == 0xE0000000


def ipv4_is_local_multicast(addr: int) -> bool:
    return (addr & 0xFFFFFF00) == 0xE0000000


def ipv4_is_lbcast(addr: int) -> bool:
    return addr == 0xFFFFFFFF


def ipv4_is_zeronet(addr: int) -> bool:
    return (addr & 0xFF000000) == 0


def ipv4_is_loopback(addr: int) -> bool:
    return (addr & 0xFF000000) == 0x7F000000


def ipv4_is_private_10(addr: int) -> bool:
    return (addr & 0xFF000000) == 0x0A000000


def _ntoa(a: int) -> str:
    return f"{a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


# --- lookups --------------------------------------------------------------------------
def fib_lookup(net, flp, res: FibResult, flags: int = 0) -> int:
    """Route flp.daddr: 0 with res filled, or -ENETUNREACH / a reject route's error."""
    fn = net.gen["fib"]
    if fn.fib_has_custom_rules:
        from .fib_rules import __fib_lookup
        return __fib_lookup(net, flp, res, flags)
    # Without custom rules local and main are one trie: the longest match over both
    # wins, local first on a tie (its aliases sort first in a leaf).
    err = -EAGAIN
    plen = -1
    local = fn.fib_local
    if local is not None:
        err = fib_table_lookup(local, flp, res, flags)
        if err != -EAGAIN or res.type == RTN_THROW:
            plen = res.prefixlen
    if plen < 32:
        main = fn.fib_main
        if main is not None:
            res_m = FibResult() if plen >= 0 else res
            err_m = fib_table_lookup(main, flp, res_m, flags)
            if (err_m != -EAGAIN or res_m.type == RTN_THROW) and res_m.prefixlen > plen:
                if res_m is not res:
                    _copy_res(res, res_m)
                err = err_m
    if not err:
        return 0
    tb = fn.fib_default
    if tb is not None:
        err = fib_table_lookup(tb, flp, res, flags)
    if err == -EAGAIN:
        err = -ENETUNREACH
    return err


def _copy_res(dst: FibResult, src: FibResult) -> None:
    for f in FibResult.__slots__:
        setattr(dst, f, getattr(src, f))


def __inet_dev_addr_type(net, dev, addr: int, tb_id: int) -> int:
    if ipv4_is_zeronet(addr) or addr == 0xFFFFFFFF:
        return RTN_BROADCAST
    if ipv4_is_multicast(addr):
        return RTN_MULTICAST
    table = fib_get_table(net, tb_id)
    ret = RTN_BROADCAST
    if table is not None:
        from .route import Flowi4
        ret = RTN_UNICAST
        res = FibResult()
        if not fib_table_lookup(table, Flowi4(daddr=addr), res, 0):
            nh = FIB_RES_NH(res)
            if dev is None or dev is nh.fib_nh_dev:
                ret = res.type
    return ret


def inet_addr_type_table(net, addr: int, tb_id: int) -> int:
    return __inet_dev_addr_type(net, None, addr, tb_id)


def inet_addr_type(net, addr: int) -> int:
    """RTN_LOCAL for our addresses, RTN_BROADCAST, RTN_MULTICAST, else RTN_UNICAST."""
    return __inet_dev_addr_type(net, None, addr, RT_TABLE_LOCAL)


def inet_dev_addr_type(net, dev, addr: int) -> int:
    return __inet_dev_addr_type(net, dev, addr, RT_TABLE_LOCAL)


def inet_addr_type_dev_table(net, dev, addr: int) -> int:
    return __inet_dev_addr_type(net, None, addr, RT_TABLE_LOCAL)


def fib_info_nh_uses_dev(fi, dev) -> bool:
    return any(nh.fib_nh_dev is dev for nh in fi.fib_nh)


def __fib_validate_source(skb, src: int, dst: int, tos: int, oif: int, dev, rpf: int, idev) -> int:
    from .route import Flowi4
    net = dev.nd_net
    fl4 = Flowi4(daddr=src, saddr=dst, tos=tos)
    fl4.iif = oif or LOOPBACK_IFINDEX
    no_addr = not idev.ifa_list
    res = FibResult()
    if fib_lookup(net, fl4, res, 0):
        return -EXDEV if rpf else 0
    if res.type != RTN_UNICAST and (res.type != RTN_LOCAL or not IN_DEV_ACCEPT_LOCAL(idev)):
        return -EINVAL
    dev_match = fib_info_nh_uses_dev(res.fi, dev) or (res.type == RTN_LOCAL and dev is net.loopback_dev)
    if dev_match:
        return 1 if FIB_RES_NH(res).fib_nh_scope >= RT_SCOPE_HOST else 0
    if no_addr:
        return -EXDEV if rpf else 0
    if rpf == 1:
        return -EXDEV
    fl4.oif = dev.ifindex
    res = FibResult()
    if fib_lookup(net, fl4, res, FIB_LOOKUP_IGNORE_LINKSTATE) == 0 and res.type == RTN_UNICAST:
        return 1 if FIB_RES_NH(res).fib_nh_scope >= RT_SCOPE_HOST else 0
    return 0


def fib_validate_source(skb, src: int, dst: int, tos: int, oif: int, dev, idev) -> int:
    """Is src a believable source on dev? <0 martian (-EINVAL) or reverse-path failure
    (-EXDEV); 1 if src is directly connected through dev (a redirect may be sent)."""
    r = IN_DEV_RPFILTER(idev)
    net = dev.nd_net
    if not r and (dev.ifindex != oif or not IN_DEV_TX_REDIRECTS(idev)):
        if IN_DEV_ACCEPT_LOCAL(idev):
            return 0
        fn = net.gen["fib"]
        if fn.fib_has_custom_local_routes or fn.fib_has_custom_rules:
            return __fib_validate_source(skb, src, dst, tos, oif, dev, r, idev)
        if src in fn.inet_addr_lst:
            return -EINVAL
        return 0
    return __fib_validate_source(skb, src, dst, tos, oif, dev, r, idev)


# --- routes that follow addresses -----------------------------------------------------------
def fib_magic(cmd: int, type_: int, dst: int, dst_len: int, ifa, rt_priority: int = 0) -> None:
    net = ifa.ifa_dev.dev.nd_net
    cfg = FibConfig(fc_dst=dst, fc_dst_len=dst_len, fc_type=type_, fc_protocol=RTPROT_KERNEL,
                    fc_prefsrc=ifa.ifa_local, fc_oif=ifa.ifa_dev.dev.ifindex,
                    fc_nlflags=NLM_F_CREATE | NLM_F_APPEND, fc_priority=rt_priority)
    tb = fib_new_table(net, RT_TABLE_MAIN if type_ == RTN_UNICAST else RT_TABLE_LOCAL)
    cfg.fc_table = tb.tb_id
    cfg.fc_scope = RT_SCOPE_HOST if type_ == RTN_LOCAL else RT_SCOPE_LINK
    if cmd == RTM_NEWROUTE:
        fib_table_insert(net, tb, cfg)
    else:
        fib_table_delete(net, tb, cfg)


def fib_add_ifaddr(ifa) -> None:
    in_dev = ifa.ifa_dev
    dev = in_dev.dev
    prim = ifa
    mask = ifa.ifa_mask
    addr = ifa.ifa_local
    prefix = ifa.ifa_address & mask
    if ifa.ifa_flags & IFA_F_SECONDARY:
        prim = inet_ifa_byprefix(in_dev, prefix, mask)
        if prim is None:
            return
    fib_magic(RTM_NEWROUTE, RTN_LOCAL, addr, 32, prim, 0)
    if not dev.is_up:
        return
    # The broadcast address, if explicitly assigned.
    if ifa.ifa_broadcast and ifa.ifa_broadcast != 0xFFFFFFFF:
        fib_magic(RTM_NEWROUTE, RTN_BROADCAST, ifa.ifa_broadcast, 32, prim, 0)
    if not ipv4_is_zeronet(prefix) and not ifa.ifa_flags & IFA_F_SECONDARY and \
            (prefix != addr or ifa.ifa_prefixlen < 32):
        if not ifa.ifa_flags & IFA_F_NOPREFIXROUTE:
            fib_magic(RTM_NEWROUTE, RTN_LOCAL if dev.flags & IFF_LOOPBACK else RTN_UNICAST,
                      prefix, ifa.ifa_prefixlen, prim, ifa.ifa_rt_priority)
        # The subnet broadcast, when it makes sense.
        if ifa.ifa_prefixlen < 31:
            fib_magic(RTM_NEWROUTE, RTN_BROADCAST, prefix | (~mask & 0xFFFFFFFF), 32, prim, 0)


def fib_sync_down_addr(dev, local: int) -> int:
    fn = fib_net(dev.nd_net)
    ret = 0
    for fi in list(fn.fib_info_hash.values()):
        if fi.fib_prefsrc == local and not fi.fib_dead:
            fi.fib_flags |= RTNH_F_DEAD
            ret += 1
    return ret


def fib_del_ifaddr(ifa, iprim=None) -> None:
    in_dev = ifa.ifa_dev
    dev = in_dev.dev
    prim = ifa
    brd = ifa.ifa_address | (~ifa.ifa_mask & 0xFFFFFFFF)
    any_ = ifa.ifa_address & ifa.ifa_mask
    LOCAL_OK, BRD_OK, BRD0_OK, BRD1_OK = 1, 2, 4, 8
    ok = 0
    subnet = False
    gone = True
    same_prefsrc = False
    prim1 = None
    if ifa.ifa_flags & IFA_F_SECONDARY:
        prim = inet_ifa_byprefix(in_dev, any_, ifa.ifa_mask)
        if prim is None:
            return
        if iprim is not None and iprim is not prim:
            return
    elif not ipv4_is_zeronet(any_) and (any_ != ifa.ifa_local or ifa.ifa_prefixlen < 32):
        if not ifa.ifa_flags & IFA_F_NOPREFIXROUTE:
            fib_magic(RTM_DELROUTE, RTN_LOCAL if dev.flags & IFF_LOOPBACK else RTN_UNICAST,
                      any_, ifa.ifa_prefixlen, prim, 0)
        subnet = True
    if not in_dev.dead:
        for ifa1 in in_dev.ifa_list:
            if ifa1 is ifa:
                gone = False          # promotion keeps the address
                continue
            if iprim is not None and ifa1.ifa_mask == iprim.ifa_mask and \
                    inet_ifa_match(ifa1.ifa_address, iprim):
                continue
            if ifa1.ifa_flags & IFA_F_SECONDARY:
                if ifa1.ifa_mask == prim.ifa_mask and inet_ifa_match(ifa1.ifa_address, prim):
                    prim1 = prim
                else:
                    if not same_prefsrc:
                        continue
                    if prim1 is None or ifa1.ifa_mask != prim1.ifa_mask or \
                            not inet_ifa_match(ifa1.ifa_address, prim1):
                        prim1 = inet_ifa_byprefix(in_dev, ifa1.ifa_address, ifa1.ifa_mask)
                    if prim1 is None or prim1.ifa_local != prim.ifa_local:
                        continue
            else:
                if prim.ifa_local != ifa1.ifa_local:
                    continue
                prim1 = ifa1
                if prim is not prim1:
                    same_prefsrc = True
            if ifa.ifa_local == ifa1.ifa_local:
                ok |= LOCAL_OK
            if ifa.ifa_broadcast == ifa1.ifa_broadcast:
                ok |= BRD_OK
            if brd == ifa1.ifa_broadcast:
                ok |= BRD1_OK
            if any_ == ifa1.ifa_broadcast:
                ok |= BRD0_OK
            if prim1 is ifa1 and ifa1.ifa_prefixlen < 31:
                brd1 = ifa1.ifa_address | (~ifa1.ifa_mask & 0xFFFFFFFF)
                any1 = ifa1.ifa_address & ifa1.ifa_mask
                if not ipv4_is_zeronet(any1):
                    if ifa.ifa_broadcast in (brd1, any1):
                        ok |= BRD_OK
                    if brd in (brd1, any1):
                        ok |= BRD1_OK
                    if any_ in (brd1, any1):
                        ok |= BRD0_OK
    if not ok & BRD_OK and ifa.ifa_broadcast:
        fib_magic(RTM_DELROUTE, RTN_BROADCAST, ifa.ifa_broadcast, 32, prim, 0)
    if subnet and ifa.ifa_prefixlen < 31:
        if not ok & BRD1_OK:
            fib_magic(RTM_DELROUTE, RTN_BROADCAST, brd, 32, prim, 0)
        if not ok & BRD0_OK:
            fib_magic(RTM_DELROUTE, RTN_BROADCAST, any_, 32, prim, 0)
    if not ok & LOCAL_OK:
        fib_magic(RTM_DELROUTE, RTN_LOCAL, ifa.ifa_local, 32, prim, 0)
        # The address is really gone: routes that used it as prefsrc go too.
        if gone and inet_addr_type_dev_table(dev.nd_net, dev, ifa.ifa_local) != RTN_LOCAL:
            if fib_sync_down_addr(dev, ifa.ifa_local):
                fib_flush(dev.nd_net)


def fib_flush(net) -> None:
    fn = fib_net(net)
    flushed = 0
    for tb in list(fn.tables.values()):
        flushed += fib_table_flush(net, tb, False)
    from .route import rt_cache_flush
    rt_cache_flush(net)


def fib_disable_ip(dev, event: int, force: bool) -> None:
    from .arp import arp_ifdown
    from .route import rt_cache_flush
    if fib_sync_down_dev(dev, event, force):
        fib_flush(dev.nd_net)
    else:
        rt_cache_flush(dev.nd_net)
    arp_ifdown(dev)


def fib_inetaddr_event(event: int, ifa) -> None:
    from .route import rt_cache_flush
    dev = ifa.ifa_dev.dev
    net = dev.nd_net
    fn = fib_net(net)
    if event == NETDEV_UP:
        fib_add_ifaddr(ifa)
        fn.dev_addr_genid += 1
        rt_cache_flush(net)
    elif event == NETDEV_DOWN:
        fib_del_ifaddr(ifa, None)
        fn.dev_addr_genid += 1
        if not ifa.ifa_dev.ifa_list:
            # The last address went: IP on this device is off.
            fib_disable_ip(dev, event, True)
        else:
            rt_cache_flush(net)


def fib_netdev_event(event: int, dev) -> None:
    from .route import rt_cache_flush, rt_flush_dev
    net = dev.nd_net
    if event == NETDEV_UNREGISTER:
        fib_disable_ip(dev, event, True)
        rt_flush_dev(dev)
        return
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    fn = fib_net(net)
    if event == NETDEV_UP:
        for ifa in list(in_dev.ifa_list):
            fib_add_ifaddr(ifa)
        fib_sync_up(dev, RTNH_F_DEAD)
        fn.dev_addr_genid += 1
        rt_cache_flush(net)
    elif event == NETDEV_DOWN:
        fib_disable_ip(dev, event, False)
    elif event == NETDEV_CHANGE:
        if dev.flags & (IFF_RUNNING | IFF_LOWER_UP):
            from ...core.rtnetlink import RTNH_F_LINKDOWN
            fib_sync_up(dev, RTNH_F_LINKDOWN)
        else:
            fib_sync_down_dev(dev, event, False)
        rt_cache_flush(net)
    elif event == NETDEV_CHANGEMTU:
        fib_sync_mtu(dev, dev.mtu)
        rt_cache_flush(net)


# --- rtnetlink: ip route add/del/show ----------------------------------------------------
def inet_rtm_newroute(net, cfg: FibConfig, extack=None) -> int:
    """`ip route add|replace|append|change`: 0 or -errno."""
    tb = fib_new_table(net, cfg.fc_table)
    if tb is None:
        return -ENOBUFS
    err = fib_table_insert(net, tb, cfg, extack)
    if not err and cfg.fc_type == RTN_LOCAL:
        fib_net(net).fib_has_custom_local_routes = True
    return err


def inet_rtm_delroute(net, cfg: FibConfig, extack=None) -> int:
    """`ip route del`: 0, or -ESRCH when no route matches."""
    tb = fib_get_table(net, cfg.fc_table)
    if tb is None:
        NL_SET_ERR_MSG(extack, "FIB table does not exist")
        return -ESRCH
    return fib_table_delete(net, tb, cfg, extack)


def parse_prefix(text):
    """'default' | 'a.b.c.d' | 'a.b.c.d/len' -> (addr, len); ValueError if malformed."""
    from ...wire.inet import in_aton
    if isinstance(text, tuple):
        return int(text[0]), int(text[1])
    if isinstance(text, int):
        return text, 32
    s = str(text)
    if s in ("default", "all", "any", "0/0"):
        return 0, 0
    if "/" in s:
        a, _, ln = s.partition("/")
        plen = int(ln)
        if not 0 <= plen <= 32:
            raise ValueError(f"bad prefix length {ln}")
        return in_aton(a), plen
    return in_aton(s), 32


def parse_addr(v) -> int:
    from ...wire.inet import in_aton
    if isinstance(v, int):
        return v
    return in_aton(str(v))


def rtm_to_fib_config(net, attrs: dict, delete: bool = False):
    """A route request dict (iproute2 names) -> FibConfig, or -errno."""
    from ...core.dev import dev_get_by_index, dev_get_by_name
    cfg = FibConfig()
    if not delete:
        cfg.fc_nlflags = attrs.get("nlmsg_flags", cfg.fc_nlflags)
    if "type" in attrs:
        cfg.fc_type = rtnl_rtntype_a2n(attrs["type"])
    if "dst" in attrs:
        cfg.fc_dst, cfg.fc_dst_len = parse_prefix(attrs["dst"])
    if attrs.get("gateway") or attrs.get("via"):
        cfg.fc_gw4 = parse_addr(attrs.get("gateway") or attrs.get("via"))
    devname = attrs.get("dev") or attrs.get("oif")
    if devname:
        dev = dev_get_by_index(net, devname) if isinstance(devname, int) else dev_get_by_name(net, devname)
        if dev is None:
            return -ENODEV
        cfg.fc_oif = dev.ifindex
    if "table" in attrs:
        t = rt_table_id(attrs["table"])
        if t < 0:
            return -EINVAL
        cfg.fc_table = t
    if "protocol" in attrs or "proto" in attrs:
        cfg.fc_protocol = rtnl_rtprot_a2n(attrs.get("protocol", attrs.get("proto")))
    elif delete:
        cfg.fc_protocol = 0
    if "scope" in attrs:
        cfg.fc_scope = rtnl_rtscope_a2n(attrs["scope"])
    elif delete:
        cfg.fc_scope = fib_config_default_scope(cfg, delete=True)
    for key in ("prefsrc", "src"):
        if attrs.get(key):
            cfg.fc_prefsrc = parse_addr(attrs[key])
    for key in ("metric", "priority", "preference"):
        if attrs.get(key) is not None:
            cfg.fc_priority = int(attrs[key])
    if "tos" in attrs:
        cfg.fc_tos = int(attrs["tos"], 0) if isinstance(attrs["tos"], str) else int(attrs["tos"])
    metrics = dict(attrs.get("metrics") or {})
    if isinstance(attrs.get("metrics"), list):
        metrics = {}
        for m in attrs["metrics"]:
            metrics.update(m)
    for name in ("mtu", "advmss", "initcwnd", "initrwnd", "rto_min", "window", "rtt", "rttvar",
                 "ssthresh", "cwnd", "reordering", "hoplimit", "features", "quickack"):
        if attrs.get(name) is not None:
            metrics[name] = attrs[name]
    cfg.fc_metrics = metrics
    flags = attrs.get("flags") or []
    if "onlink" in flags or attrs.get("onlink"):
        cfg.fc_flags |= RTNH_F_ONLINK
    return cfg


def _rtm_newroute(net, attrs, extack=None):
    cfg = rtm_to_fib_config(net, attrs)
    if isinstance(cfg, int):
        return cfg
    return inet_rtm_newroute(net, cfg, extack)


def _rtm_delroute(net, attrs, extack=None):
    cfg = rtm_to_fib_config(net, attrs, delete=True)
    if isinstance(cfg, int):
        return cfg
    return inet_rtm_delroute(net, cfg, extack)


def fib_dump_info(fa, tb_id: int) -> dict:
    """One route as `ip -j route` prints it."""
    fi = fa.fa_info
    d = {}
    if fa.fa_type != RTN_UNICAST:
        d["type"] = RTN_NAMES.get(fa.fa_type, str(fa.fa_type))
    plen = fa.fa_plen
    if plen == 0:
        d["dst"] = "default"
    elif plen == 32:
        d["dst"] = _ntoa(fa.fa_dst)
    else:
        d["dst"] = f"{_ntoa(fa.fa_dst)}/{plen}"
    if fa.fa_tos:
        d["tos"] = f"0x{fa.fa_tos:x}"
    nh = fi.fib_nh[0] if fi.fib_nh else None
    if nh is not None and nh.fib_nh_gw4:
        d["gateway"] = _ntoa(nh.fib_nh_gw4)
    if nh is not None and nh.fib_nh_dev is not None:
        d["dev"] = nh.fib_nh_dev.name
    if tb_id != RT_TABLE_MAIN:
        d["table"] = rt_table_name(tb_id)
    if fi.fib_protocol != RTPROT_BOOT:
        d["protocol"] = RTPROT_NAMES.get(fi.fib_protocol, str(fi.fib_protocol))
    if fi.fib_scope != RT_SCOPE_UNIVERSE:
        d["scope"] = RT_SCOPE_NAMES.get(fi.fib_scope, str(fi.fib_scope))
    if fi.fib_prefsrc:
        d["prefsrc"] = _ntoa(fi.fib_prefsrc)
    if fi.fib_priority:
        d["metric"] = fi.fib_priority
    flags = []
    if nh is not None:
        for bit, name in RTNH_F_NAMES:
            if nh.fib_nh_flags & bit and name in ("dead", "onlink", "linkdown", "pervasive"):
                flags.append(name)
    d["flags"] = flags
    if fi.fib_metrics:
        m = {}
        locked = fi.fib_metrics.get(RTAX_LOCK, 0)
        for k in sorted(fi.fib_metrics):
            if k == RTAX_LOCK:
                continue
            v = fi.fib_metrics[k]
            m[RTAX_NAMES.get(k, str(k))] = v if k == RTAX_CC_ALGO else int(v)
        if locked:
            m["lock"] = [RTAX_NAMES.get(k, str(k)) for k in sorted(RTAX_NAMES) if locked & (1 << k)]
        d["metrics"] = [m]
    return d


def fib_dump(net, table_id=None) -> list:
    """`ip -j route show [table ID|all]`: table_id None dumps every table."""
    fn = fib_net(net)
    if table_id is not None:
        table_id = rt_table_id(table_id) if not isinstance(table_id, int) else table_id
        tb = fn.tables.get(table_id or RT_TABLE_MAIN)
        tables = [tb] if tb is not None else []
    else:
        tables = sorted(fn.tables.values(), key=lambda t: (t.tb_id & 0xFF, t.tb_id))
    out = []
    for tb in tables:
        for fa in fib_table_walk(tb):
            out.append(fib_dump_info(fa, tb.tb_id))
    return out


def _rtm_dumproute(net, attrs) -> list:
    t = attrs.get("table", RT_TABLE_MAIN)
    if t in ("all", 0, "0"):
        routes = fib_dump(net, None)
    else:
        routes = fib_dump(net, t)
    dev = attrs.get("dev")
    if dev:
        routes = [r for r in routes if r.get("dev") == dev]
    if attrs.get("dst") not in (None, "all"):
        want = attrs["dst"]
        routes = [r for r in routes if r["dst"] == want or
                  (want == "default" and r["dst"] == "default")]
    if attrs.get("type"):
        routes = [r for r in routes if r.get("type", "unicast") == attrs["type"]]
    return routes


# --- boot -----------------------------------------------------------------------------
def ip_fib_net_init(net) -> None:
    """Per-Net FIB: tables local and main, rules, and the device/address notifiers."""
    from ...core.dev import register_netdevice_notifier
    if "fib" not in net.gen:
        net.gen["fib"] = FibNet(net)
    fn = net.gen["fib"]
    fib_new_table(net, RT_TABLE_LOCAL)
    fib_new_table(net, RT_TABLE_MAIN)
    from .fib_rules import fib4_rules_init
    fib4_rules_init(net)
    if net.ipv4 is not None:
        net.ipv4.fib = fn
        net.ipv4.fib_main = fn.fib_main
        net.ipv4.fib_local = fn.fib_local
    register_inetaddr_notifier(net, fib_inetaddr_event)
    register_netdevice_notifier(net, fib_netdev_event)
    # register_netdevice_notifier replays UP for devices that are already up.
    for dev in list(net.dev_base):
        if dev.is_up:
            fib_netdev_event(NETDEV_UP, dev)


def ip_fib_init() -> None:
    """Register the route messages (pernet setup is route.ip_rt_init's)."""
    from .route import inet_rtm_getroute
    rtnl_register(RTM_NEWROUTE, _rtm_newroute, None)
    rtnl_register(RTM_DELROUTE, _rtm_delroute, None)
    rtnl_register(RTM_GETROUTE, inet_rtm_getroute, _rtm_dumproute)
    from .fib_rules import fib_rules_rtnl_init
    fib_rules_rtnl_init()

