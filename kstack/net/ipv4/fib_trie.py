"""net/ipv4/fib_trie.c: routing tables and longest-prefix match — RFC 1812 §5.2.4.3.

The kernel's LC-trie becomes one dict per prefix length ({masked key: [FibAlias]}) and
the list of lengths in use, longest first: a lookup probes at most that many dicts,
and backtracks to shorter prefixes when no alias of a leaf passes the checks (TOS,
scope, dead or wrong-interface next hop), as fib_table_lookup does. Aliases of one
prefix keep the kernel's order (TOS descending, then priority ascending; a new route
goes before equal ones, `ip route append` after them), so the first live alias wins.

fib_table_insert / fib_table_delete implement NLM_F_CREATE/EXCL/REPLACE/APPEND and
the kernel's errors (EEXIST, ENOENT, ESRCH); fib_table_flush drops routes whose next
hop died with its device; fib_table_dump lists a table in key order for `ip route`.
"""
from ...core.errno import EAGAIN, EEXIST, EINVAL, ENOENT, ESRCH
from ...core.rtnetlink import (NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
                               RT_SCOPE_NOWHERE, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN,
                               RTN_UNICAST, RTNH_F_DEAD, RTNH_F_LINKDOWN)
from .fib_semantics import (FIB_LOOKUP_IGNORE_LINKSTATE, FIB_PROPS_ERROR, FibResult,
                            fib_create_info, fib_metrics_match, fib_net, fib_nh_match,
                            fib_release_info)

KEYLENGTH = 32
FA_S_ACCESSED = 0x01
MASKS = [0] + [(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF for n in range(1, 33)]
FLOWI_FLAG_SKIP_NH_OIF = 0x04


def inet_make_mask(logmask: int) -> int:
    return MASKS[logmask]


class FibAlias:
    """struct fib_alias: one route (a prefix in a table) pointing at a FibInfo."""

    __slots__ = ("fa_info", "fa_tos", "fa_type", "fa_state", "fa_slen", "tb_id", "fa_default",
                 "fa_dst", "fa_plen")

    def __init__(self, fi, tos: int, type_: int, plen: int, tb_id: int, dst: int):
        self.fa_info = fi
        self.fa_tos = tos
        self.fa_type = type_
        self.fa_state = 0
        self.fa_slen = KEYLENGTH - plen
        self.tb_id = tb_id
        self.fa_default = -1
        self.fa_dst = dst
        self.fa_plen = plen

    def __repr__(self):
        return f"<fib_alias {self.fa_dst:#x}/{self.fa_plen} type={self.fa_type} fi={self.fa_info}>"


class FibTable:
    """struct fib_table."""

    __slots__ = ("tb_id", "tb_data", "tb_plens", "tb_levels", "tb_num_default", "tb_count")

    def __init__(self, tb_id: int):
        self.tb_id = tb_id
        self.tb_data = {}          # prefix length -> {key: [FibAlias]}
        self.tb_plens = []         # lengths present, longest first
        self.tb_levels = ()        # (plen, mask, tb_data[plen]) longest first: the lookup's walk
        self.tb_num_default = 0
        self.tb_count = 0

    def __repr__(self):
        return f"<fib_table {self.tb_id} routes={self.tb_count}>"


def fib_trie_table(tb_id: int) -> FibTable:
    return FibTable(tb_id)


def fib_get_table(net, tb_id: int):
    if not tb_id:
        tb_id = RT_TABLE_MAIN
    return fib_net(net).tables.get(tb_id)


def fib_new_table(net, tb_id: int) -> FibTable:
    if not tb_id:
        tb_id = RT_TABLE_MAIN
    fn = fib_net(net)
    tb = fn.tables.get(tb_id)
    if tb is not None:
        return tb
    tb = fib_trie_table(tb_id)
    fn.tables[tb_id] = tb
    if tb_id == RT_TABLE_MAIN:
        fn.fib_main = tb
    elif tb_id == RT_TABLE_LOCAL:
        fn.fib_local = tb
    elif tb_id == RT_TABLE_DEFAULT:
        fn.fib_default = tb
    return tb


def _ignore_linkdown(dev) -> bool:
    in_dev = dev.ip_ptr if dev is not None else None
    return in_dev is not None and in_dev.cnf.get("ignore_routes_with_linkdown", 0) != 0


def fib_table_lookup(tb: FibTable, flp, res: FibResult, fib_flags: int = 0) -> int:
    """Longest-prefix match in one table: 0 and res filled, a route type's error
    (-EHOSTUNREACH, -EACCES, -EINVAL, -EAGAIN for throw), or -EAGAIN if nothing matched.
    On an error route res.prefixlen/type/table are filled too (fib_lookup needs them)."""
    daddr = flp.daddr
    tos = flp.tos
    scope = flp.scope
    oif = flp.oif
    for plen, mask, keys in tb.tb_levels:
        leaf = keys.get(daddr & mask)
        if leaf is None:
            continue
        for fa in leaf:
            if fa.fa_tos and fa.fa_tos != tos:
                continue
            fi = fa.fa_info
            if fi.fib_dead or fi.fib_scope < scope:
                continue
            fa.fa_state |= FA_S_ACCESSED
            err = FIB_PROPS_ERROR[fa.fa_type]
            if err:
                res.prefix = fa.fa_dst
                res.prefixlen = plen
                res.type = fa.fa_type
                res.scope = fi.fib_scope
                res.fi = None
                res.table = tb
                return err
            if fi.fib_flags & RTNH_F_DEAD:
                continue
            nhsel = 0
            for nh in fi.fib_nh:
                if nh.fib_nh_flags & RTNH_F_DEAD:
                    nhsel += 1
                    continue
                if nh.fib_nh_flags & RTNH_F_LINKDOWN and not fib_flags & FIB_LOOKUP_IGNORE_LINKSTATE \
                        and _ignore_linkdown(nh.fib_nh_dev):
                    nhsel += 1
                    continue
                if oif and oif != nh.fib_nh_oif and not flp.flags & FLOWI_FLAG_SKIP_NH_OIF:
                    nhsel += 1
                    continue
                res.prefix = fa.fa_dst
                res.prefixlen = plen
                res.nh_sel = nhsel
                res.type = fa.fa_type
                res.scope = fi.fib_scope
                res.fi = fi
                res.table = tb
                res.fa_head = leaf
                return 0
    return -EAGAIN


def fib_find_alias(leaf, tos: int, prio: int):
    """The first alias of (tos, priority) or the one a new route goes before; None = tail."""
    for i, fa in enumerate(leaf):
        if fa.fa_tos > tos:
            continue
        if fa.fa_info.fib_priority >= prio or fa.fa_tos < tos:
            return i
    return None


def _leaf_insert(tb: FibTable, plen: int, key: int):
    d = tb.tb_data.get(plen)
    if d is None:
        d = tb.tb_data[plen] = {}
        tb.tb_plens.append(plen)
        tb.tb_plens.sort(reverse=True)
        _update_levels(tb)
    leaf = d.get(key)
    if leaf is None:
        leaf = d[key] = []
    return leaf


def _leaf_remove(tb: FibTable, plen: int, key: int) -> None:
    d = tb.tb_data.get(plen)
    if d is None:
        return
    leaf = d.get(key)
    if leaf is not None and not leaf:
        del d[key]
    if not d:
        del tb.tb_data[plen]
        tb.tb_plens.remove(plen)
        _update_levels(tb)


def _update_levels(tb: FibTable) -> None:
    """Rebuild the lookup's (plen, mask, keys) walk whenever a prefix length comes or goes."""
    tb.tb_levels = tuple((plen, MASKS[plen], tb.tb_data[plen]) for plen in tb.tb_plens)


def _account(tb: FibTable, fa: FibAlias, delta: int) -> None:
    tb.tb_count += delta
    if fa.fa_plen == 0 and fa.fa_type == RTN_UNICAST:
        tb.tb_num_default += delta


def fib_table_insert(net, tb: FibTable, cfg, extack=None) -> int:
    """Add a route: 0, -EEXIST (duplicate, or same tos/priority with NLM_F_EXCL),
    -ENOENT (no such route without NLM_F_CREATE), or fib_create_info's error."""
    from .fib_semantics import fib_config_default_scope
    plen = cfg.fc_dst_len
    if plen < 0 or plen > KEYLENGTH:
        return -EINVAL
    key = cfg.fc_dst & MASKS[plen]
    if key != cfg.fc_dst:
        # "Invalid prefix for given prefix length": host bits set.
        from ...core.rtnetlink import NL_SET_ERR_MSG
        NL_SET_ERR_MSG(extack, "Invalid prefix for given prefix length")
        return -EINVAL
    scope = cfg.fc_scope if cfg.fc_scope is not None else fib_config_default_scope(cfg)
    fi = fib_create_info(net, cfg, scope, extack)
    if isinstance(fi, int):
        return fi
    err = _fib_table_insert(net, tb, cfg, fi, plen, key)
    if err and fi.fib_treeref == 0:
        fib_release_info(fi)       # a new FibInfo nobody uses (the kernel's out_free_new_fa)
    return err


def _fib_table_insert(net, tb, cfg, fi, plen: int, key: int) -> int:
    from .route import rt_cache_flush
    tos = cfg.fc_tos
    d = tb.tb_data.get(plen)
    leaf = d.get(key) if d is not None else None
    idx = fib_find_alias(leaf, tos, fi.fib_priority) if leaf else None
    nlflags = cfg.fc_nlflags
    if leaf and idx is not None and leaf[idx].fa_tos == tos and \
            leaf[idx].fa_info.fib_priority == fi.fib_priority:
        if nlflags & NLM_F_EXCL:
            return -EEXIST
        first = idx
        match = None
        j = idx
        while j < len(leaf):
            fa = leaf[j]
            if fa.fa_tos != tos or fa.fa_info.fib_priority != fi.fib_priority:
                break
            if fa.fa_type == cfg.fc_type and fa.fa_info is fi:
                match = j
                break
            j += 1
        if nlflags & NLM_F_REPLACE:
            if match is not None:
                return 0 if match == first else -EEXIST
            old = leaf[first]
            new_fa = FibAlias(fi, tos, cfg.fc_type, plen, tb.tb_id, key)
            new_fa.fa_state = old.fa_state & ~FA_S_ACCESSED
            fi.fib_treeref += 1
            leaf[first] = new_fa
            _account(tb, old, -1)
            _account(tb, new_fa, 1)
            fib_release_info(old.fa_info)
            rt_cache_flush(net)
            return 0
        if match is not None:
            return -EEXIST
        if nlflags & NLM_F_APPEND:
            idx = j if j < len(leaf) else None
        else:
            idx = first
    if not nlflags & NLM_F_CREATE:
        return -ENOENT
    new_fa = FibAlias(fi, tos, cfg.fc_type, plen, tb.tb_id, key)
    fi.fib_treeref += 1
    leaf = _leaf_insert(tb, plen, key)
    if idx is None:
        leaf.append(new_fa)
    else:
        leaf.insert(idx, new_fa)
    _account(tb, new_fa, 1)
    rt_cache_flush(net)
    return 0


def fib_table_delete(net, tb: FibTable, cfg, extack=None) -> int:
    """Remove the first route matching the request's selectors: 0 or -ESRCH."""
    from .route import rt_cache_flush
    plen = cfg.fc_dst_len
    if plen < 0 or plen > KEYLENGTH:
        return -EINVAL
    key = cfg.fc_dst & MASKS[plen]
    if key != cfg.fc_dst:
        return -EINVAL
    d = tb.tb_data.get(plen)
    leaf = d.get(key) if d is not None else None
    if not leaf:
        return -ESRCH
    tos = cfg.fc_tos
    scope = cfg.fc_scope if cfg.fc_scope is not None else RT_SCOPE_NOWHERE
    start = None
    for i, fa in enumerate(leaf):
        if fa.fa_tos <= tos:
            start = i
            break
    if start is None:
        return -ESRCH
    victim = None
    for i in range(start, len(leaf)):
        fa = leaf[i]
        if fa.fa_tos != tos:
            break
        fi = fa.fa_info
        if (not cfg.fc_type or fa.fa_type == cfg.fc_type) and \
                (scope == RT_SCOPE_NOWHERE or fi.fib_scope == scope) and \
                (not cfg.fc_prefsrc or fi.fib_prefsrc == cfg.fc_prefsrc) and \
                (not cfg.fc_protocol or fi.fib_protocol == cfg.fc_protocol) and \
                fib_nh_match(net, cfg, fi, extack) == 0 and fib_metrics_match(net, cfg, fi):
            victim = i
            break
    if victim is None:
        return -ESRCH
    fa = leaf.pop(victim)
    _account(tb, fa, -1)
    _leaf_remove(tb, plen, key)
    fib_release_info(fa.fa_info)
    rt_cache_flush(net)
    return 0


def fib_table_flush(net, tb: FibTable, flush_all: bool = False) -> int:
    """Drop routes whose FibInfo died (their device went down); all of them if flush_all."""
    found = 0
    for plen in list(tb.tb_plens):
        for key, leaf in list(tb.tb_data[plen].items()):
            keep = []
            for fa in leaf:
                fi = fa.fa_info
                dead = bool(fi.fib_flags & RTNH_F_DEAD) and not FIB_PROPS_ERROR[fa.fa_type]
                if dead or flush_all:
                    _account(tb, fa, -1)
                    fib_release_info(fi)
                    found += 1
                else:
                    keep.append(fa)
            leaf[:] = keep
            _leaf_remove(tb, plen, key)
    return found


def fib_table_walk(tb: FibTable):
    """Every alias in key order (longer prefix first for one key), as the trie dumps."""
    items = []
    for plen, d in tb.tb_data.items():
        for key, leaf in d.items():
            items.append((key, -plen, leaf))
    items.sort(key=lambda x: (x[0], x[1]))
    for key, _, leaf in items:
        yield from leaf


def fib_table_lookup_exact(tb: FibTable, dst: int, plen: int):
    d = tb.tb_data.get(plen)
    return d.get(dst & MASKS[plen]) if d is not None else None

