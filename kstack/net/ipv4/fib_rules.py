"""net/ipv4/fib_rules.c, net/core/fib_rules.c: policy routing (`ip rule`).

Every Net starts with the kernel's three rules: 0 `lookup local`, 32766 `lookup main`,
32767 `lookup default`. While only those exist fib_lookup takes its fast path (local
and main as one trie); the first `ip rule add`/`del` switches it to walking the rules
here in priority order: a rule whose selectors (from, to, iif, oif, fwmark, tos, `not`)
match the flow either looks up its table (a miss or a `throw` route continues with the
next rule) or ends the lookup (unreachable -ENETUNREACH, prohibit -EACCES,
blackhole -EINVAL). No rule matching is -ENETUNREACH.
"""
from ...core.errno import EACCES, EAGAIN, EEXIST, EINVAL, ENETUNREACH, ENOENT
from ...core.rtnetlink import (NLM_F_EXCL, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN,
                               RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE, rt_table_id, rt_table_name,
                               rtnl_register)
from .fib_semantics import fib_net
from .fib_trie import MASKS, fib_get_table, fib_table_lookup

FR_ACT_UNSPEC = 0
FR_ACT_TO_TBL = 1
FR_ACT_GOTO = 2
FR_ACT_NOP = 3
FR_ACT_BLACKHOLE = 6
FR_ACT_UNREACHABLE = 7
FR_ACT_PROHIBIT = 8
FR_ACT_NAMES = {FR_ACT_BLACKHOLE: "blackhole", FR_ACT_UNREACHABLE: "unreachable",
                FR_ACT_PROHIBIT: "prohibit", FR_ACT_NOP: "nop", FR_ACT_GOTO: "goto"}
FR_ACT_BY_NAME = {v: k for k, v in FR_ACT_NAMES.items()}
FIB_RULE_INVERT = 0x00000002


class FibRule:
    """struct fib4_rule."""

    __slots__ = ("pref", "table", "action", "src", "src_len", "dst", "dst_len", "iifname",
                 "oifname", "mark", "mark_mask", "tos", "flags", "suppress_prefixlen")

    def __init__(self, pref: int = 0, table: int = 0, action: int = FR_ACT_TO_TBL):
        self.pref = pref
        self.table = table
        self.action = action
        self.src = 0
        self.src_len = 0
        self.dst = 0
        self.dst_len = 0
        self.iifname = ""
        self.oifname = ""
        self.mark = 0
        self.mark_mask = 0
        self.tos = 0
        self.flags = 0
        self.suppress_prefixlen = -1

    def key(self):
        return (self.pref, self.table, self.action, self.src, self.src_len, self.dst, self.dst_len,
                self.iifname, self.oifname, self.mark, self.mark_mask, self.tos, self.flags,
                self.suppress_prefixlen)

    def __repr__(self):
        return f"<fib_rule {self.pref} table {self.table} action {self.action}>"


def fib4_rules_init(net) -> None:
    fn = fib_net(net)
    if fn.rules:
        return
    fn.rules = [FibRule(0, RT_TABLE_LOCAL), FibRule(0x7FFE, RT_TABLE_MAIN),
                FibRule(0x7FFF, RT_TABLE_DEFAULT)]
    fn.fib_has_custom_rules = False


def _dev_name(net, ifindex: int) -> str:
    dev = net.dev_by_index.get(ifindex)
    return dev.name if dev is not None else ""


def fib4_rule_match(net, rule: FibRule, fl4) -> bool:
    if rule.iifname and rule.iifname != _dev_name(net, fl4.iif):
        ok = False
    elif rule.oifname and rule.oifname != _dev_name(net, fl4.oif):
        ok = False
    elif (fl4.mark ^ rule.mark) & rule.mark_mask:
        ok = False
    elif (fl4.saddr ^ rule.src) & MASKS[rule.src_len]:
        ok = False
    elif (fl4.daddr ^ rule.dst) & MASKS[rule.dst_len]:
        ok = False
    elif rule.tos and rule.tos != fl4.tos:
        ok = False
    else:
        ok = True
    if rule.flags & FIB_RULE_INVERT:
        ok = not ok
    return ok


def __fib_lookup(net, flp, res, flags: int = 0) -> int:
    """fib_rules_lookup over the Net's rules; -ENETUNREACH when none decides."""
    fn = fib_net(net)
    for rule in fn.rules:
        if not fib4_rule_match(net, rule, flp):
            continue
        a = rule.action
        if a == FR_ACT_NOP:
            continue
        if a == FR_ACT_UNREACHABLE:
            return -ENETUNREACH
        if a == FR_ACT_PROHIBIT:
            return -EACCES
        if a != FR_ACT_TO_TBL:
            return -EINVAL
        tbl = fib_get_table(net, rule.table)
        err = -EAGAIN
        if tbl is not None:
            err = fib_table_lookup(tbl, flp, res, flags)
        if not err and rule.suppress_prefixlen >= 0 and res.prefixlen <= rule.suppress_prefixlen:
            continue
        if err != -EAGAIN:
            return err
    return -ENETUNREACH


# --- rtnetlink: ip rule add/del/show --------------------------------------------------
def _rule_from_attrs(net, attrs):
    from .fib_frontend import parse_prefix
    r = FibRule()
    r.pref = int(attrs.get("priority", attrs.get("pref", 0)) or 0)
    action = attrs.get("action")
    if action is None:
        action = "unicast" if "table" in attrs else None
    if isinstance(action, str) and action in FR_ACT_BY_NAME:
        r.action = FR_ACT_BY_NAME[action]
    elif action in (None, "unicast", "lookup", FR_ACT_TO_TBL):
        r.action = FR_ACT_TO_TBL
    else:
        r.action = int(action)
    if "table" in attrs:
        t = rt_table_id(attrs["table"])
        if t < 0:
            return -EINVAL
        r.table = t
    for k_addr, k_len, key in (("src", "src_len", "src"), ("dst", "dst_len", "dst")):
        v = attrs.get(key) or attrs.get("from" if key == "src" else "to")
        if v and v != "all":
            a, plen = parse_prefix(v)
            setattr(r, k_addr, a & MASKS[plen])
            setattr(r, k_len, plen)
    r.iifname = attrs.get("iif") or attrs.get("iifname") or ""
    r.oifname = attrs.get("oif") or attrs.get("oifname") or ""
    if attrs.get("fwmark") is not None:
        v = attrs["fwmark"]
        if isinstance(v, str) and "/" in v:
            m, _, mask = v.partition("/")
            r.mark, r.mark_mask = int(m, 0), int(mask, 0)
        else:
            r.mark = int(v, 0) if isinstance(v, str) else int(v)
            r.mark_mask = 0xFFFFFFFF
    if attrs.get("tos"):
        r.tos = int(attrs["tos"], 0) if isinstance(attrs["tos"], str) else int(attrs["tos"])
    if attrs.get("not"):
        r.flags |= FIB_RULE_INVERT
    if attrs.get("suppress_prefixlength") is not None:
        r.suppress_prefixlen = int(attrs["suppress_prefixlength"])
    return r


def fib_nl_newrule(net, attrs, extack=None):
    fn = fib_net(net)
    r = _rule_from_attrs(net, attrs)
    if isinstance(r, int):
        return r
    if r.action == FR_ACT_TO_TBL and not r.table:
        return -EINVAL
    has_pref = attrs.get("priority") is not None or attrs.get("pref") is not None
    if not has_pref:
        # fib_default_rule_pref: just below the second rule.
        r.pref = fn.rules[1].pref - 1 if len(fn.rules) > 1 and fn.rules[1].pref else 0
    flags = attrs.get("nlmsg_flags", NLM_F_EXCL)
    if flags & NLM_F_EXCL and any(x.key() == r.key() for x in fn.rules):
        return -EEXIST
    pos = len(fn.rules)
    for i, x in enumerate(fn.rules):
        if x.pref > r.pref:
            pos = i
            break
    fn.rules.insert(pos, r)
    fn.fib_has_custom_rules = True
    from .route import rt_cache_flush
    rt_cache_flush(net)
    return 0


def fib_nl_delrule(net, attrs, extack=None):
    fn = fib_net(net)
    want = _rule_from_attrs(net, attrs)
    if isinstance(want, int):
        return want
    has_pref = attrs.get("priority") is not None or attrs.get("pref") is not None
    for i, r in enumerate(fn.rules):
        if has_pref and r.pref != want.pref:
            continue
        if "table" in attrs and r.table != want.table:
            continue
        if attrs.get("action") and r.action != want.action:
            continue
        if want.src_len and (r.src, r.src_len) != (want.src, want.src_len):
            continue
        if want.dst_len and (r.dst, r.dst_len) != (want.dst, want.dst_len):
            continue
        if want.iifname and r.iifname != want.iifname:
            continue
        if want.oifname and r.oifname != want.oifname:
            continue
        if want.mark_mask and (r.mark, r.mark_mask) != (want.mark, want.mark_mask):
            continue
        if want.tos and r.tos != want.tos:
            continue
        del fn.rules[i]
        fn.fib_has_custom_rules = True
        from .route import rt_cache_flush
        rt_cache_flush(net)
        return 0
    return -ENOENT


def fib_rule_fill(r: FibRule) -> dict:
    from .fib_frontend import _ntoa
    d = {"priority": r.pref}
    if r.flags & FIB_RULE_INVERT:
        d["not"] = None
    d["src"] = "all" if not r.src_len else _ntoa(r.src)
    if r.src_len and r.src_len != 32:
        d["srclen"] = r.src_len
    if r.dst_len:
        d["dst"] = _ntoa(r.dst)
        if r.dst_len != 32:
            d["dstlen"] = r.dst_len
    if r.tos:
        d["tos"] = f"0x{r.tos:x}"
    if r.mark_mask:
        d["fwmark"] = f"0x{r.mark:x}" if r.mark_mask == 0xFFFFFFFF else f"0x{r.mark:x}/0x{r.mark_mask:x}"
    if r.iifname:
        d["iif"] = r.iifname
    if r.oifname:
        d["oif"] = r.oifname
    if r.action == FR_ACT_TO_TBL:
        d["table"] = rt_table_name(r.table)
    else:
        d["action"] = FR_ACT_NAMES.get(r.action, str(r.action))
    if r.suppress_prefixlen >= 0:
        d["suppress_prefixlen"] = r.suppress_prefixlen
    return d


def fib_nl_dumprule(net, attrs) -> list:
    return [fib_rule_fill(r) for r in fib_net(net).rules]


def fib_rules_rtnl_init() -> None:
    rtnl_register(RTM_NEWRULE, fib_nl_newrule, None)
    rtnl_register(RTM_DELRULE, fib_nl_delrule, None)
    rtnl_register(RTM_GETRULE, None, fib_nl_dumprule)

