"""kstackd --config FILE: the host's configuration at start, in TOML (tomllib).

    [host]
    name = "a"                         # the Net's name (default: the rundir's)

    [[link]]                           # RTM_NEWLINK (a new device) or a change of one
    ifname = "lo"
    mtu = 16384
    up = true

    [[address]]                        # RTM_NEWADDR
    dev = "lo"
    local = "10.0.0.1/24"

    [[route]]                          # RTM_NEWROUTE
    dst = "10.1.0.0/16"
    gateway = "10.0.0.254"
    dev = "lo"

    [[neigh]]                          # RTM_NEWNEIGH
    dev = "eth0"
    dst = "10.0.0.2"
    lladdr = "02:00:00:00:00:02"

    [sysctl]
    "net.ipv4.ip_forward" = 1
    "net.ipv4.tcp_rmem" = [4096, 131072, 6291456]

Each table's keys are the attribute names the control channel takes (iproute2's, as
kstack/core/rtnetlink.py reads them); each entry goes through the same
rtnetlink_rcv_msg as a tool's request, so an error stops the daemon at start with
the message `ip` would print.
"""
import os

from ..core.sysctl import sysctl_set

SECTIONS = (("link", "RTM_NEWLINK"), ("address", "RTM_NEWADDR"), ("route", "RTM_NEWROUTE"),
            ("neigh", "RTM_NEWNEIGH"))


class ConfigError(Exception):
    pass


def apply_config(d, config: dict) -> None:
    from ..core.rtnetlink import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, rtnetlink_rcv_msg
    net = d.net
    unknown = set(config) - {"host", "sysctl"} - {s for s, _ in SECTIONS}
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(unknown))}")
    host = config.get("host", {})
    if "name" in host:
        net.name = str(host["name"])
    for section, msgtype in SECTIONS:
        entries = config.get(section, [])
        if isinstance(entries, dict):
            entries = [entries]
        for attrs in entries:
            if not isinstance(attrs, dict):
                raise ConfigError(f"[[{section}]]: expected a table, got {attrs!r}")
            attrs = dict(attrs)
            if section == "link":
                # an existing device is changed (SETLINK semantics), a new one created
                name = attrs.get("ifname") or attrs.get("dev")
                flags = NLM_F_CREATE | (NLM_F_REPLACE if name in net.dev_by_name else NLM_F_EXCL)
                attrs.setdefault("nlmsg_flags", flags)
            r, payload = rtnetlink_rcv_msg(net, msgtype, attrs)
            if r < 0:
                msg = payload.get("msg") if isinstance(payload, dict) else None
                raise ConfigError(f"[[{section}]] {attrs}: {msg or os.strerror(-r)}")
    for name, value in (config.get("sysctl") or {}).items():
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        r = sysctl_set(net, name, value)
        if r < 0:
            raise ConfigError(f"sysctl {name} = {value!r}: {os.strerror(-r)}")
    d.tick()
