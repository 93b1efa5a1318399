"""net.ipv4.tcp_* sysctls: Linux 6.18 defaults and bounds (per namespace, tcp_sk_init), and
the effect of a few on the wire (RFC 7323 / RFC 2018 negotiation switches, buffer sizes)."""
import errno

import pytest

from kstack.net.ipv4.tcp_ipv4 import TCP_SYSCTLS
from tests.lib.factory import TcpTestbed, passive_open

DEFAULTS = {
    "tcp_rmem": "4096\t131072\t6291456", "tcp_wmem": "4096\t16384\t4194304",
    "tcp_timestamps": "1", "tcp_sack": "1", "tcp_dsack": "1", "tcp_window_scaling": "1",
    "tcp_syn_retries": "6", "tcp_synack_retries": "5", "tcp_retries1": "3", "tcp_retries2": "15",
    "tcp_orphan_retries": "0", "tcp_fin_timeout": "60", "tcp_keepalive_time": "7200",
    "tcp_keepalive_intvl": "75", "tcp_keepalive_probes": "9", "tcp_max_syn_backlog": "2048",
    "tcp_syncookies": "1", "tcp_abort_on_overflow": "0", "tcp_congestion_control": "cubic",
    "tcp_slow_start_after_idle": "1", "tcp_early_retrans": "3", "tcp_recovery": "1",
    "tcp_frto": "2", "tcp_reordering": "3", "tcp_tso_win_divisor": "3", "tcp_min_tso_segs": "2",
    "tcp_notsent_lowat": "4294967295", "tcp_adv_win_scale": "1", "tcp_app_win": "31",
    "tcp_moderate_rcvbuf": "1", "tcp_mtu_probing": "0", "tcp_base_mss": "1024",
    "tcp_min_snd_mss": "48", "tcp_tw_reuse": "2", "tcp_max_tw_buckets": "131072",
    "tcp_rfc1337": "0", "tcp_challenge_ack_limit": "2147483647", "tcp_invalid_ratelimit": "500",
    "tcp_limit_output_bytes": "4194304", "tcp_pacing_ss_ratio": "200",
    "tcp_pacing_ca_ratio": "120", "tcp_no_metrics_save": "0", "tcp_ecn": "2", "tcp_fastopen": "1",
    "tcp_syn_linear_timeouts": "4",
}


def test_defaults_match_linux():
    """Linux 6.18 tcp_sk_init / ipv4_net_table defaults, per namespace."""
    bed = TcpTestbed()
    got = {k: bed.host.sysctl("net.ipv4." + k) for k in DEFAULTS}
    assert got == DEFAULTS


@pytest.mark.parametrize("name, bad", [
    ("tcp_syn_retries", 0), ("tcp_syn_retries", 128), ("tcp_early_retrans", 5),
    ("tcp_timestamps", 300), ("tcp_adv_win_scale", 32), ("tcp_tw_reuse", 3),
    ("tcp_pacing_ss_ratio", 3001), ("tcp_min_snd_mss", 47),
])
def test_out_of_range_is_einval(name, bad):
    """proc_dointvec_minmax / proc_dou8vec_minmax: out of [extra1, extra2] is EINVAL (checked
    against Linux 6.18 in a fresh namespace) and the value is unchanged."""
    bed = TcpTestbed()
    before = bed.host.sysctl("net.ipv4." + name)
    with pytest.raises(OSError) as e:
        bed.host.sysctl("net.ipv4." + name, bad)
    assert e.value.errno == errno.EINVAL
    assert bed.host.sysctl("net.ipv4." + name) == before


def test_congestion_control_unknown_enoent_and_readonly_list():
    """tcp_congestion_control: an unknown name is ENOENT (Linux loads modules by name);
    tcp_available_congestion_control is read-only."""
    bed = TcpTestbed()
    with pytest.raises(OSError) as e:
        bed.host.sysctl("net.ipv4.tcp_congestion_control", "vegas-not-built")
    assert e.value.errno == errno.ENOENT
    with pytest.raises(OSError):
        bed.host.sysctl("net.ipv4.tcp_available_congestion_control", "reno")
    assert "cubic" in bed.host.sysctl("net.ipv4.tcp_available_congestion_control")


def test_sysctls_are_per_namespace():
    """net.ipv4.tcp_* are per netns (struct netns_ipv4): changing one host leaves the other."""
    from kstack.world import World
    w = World()
    a, b = w.host("a"), w.host("b")
    a.sysctl("net.ipv4.tcp_sack", 0)
    assert b.sysctl("net.ipv4.tcp_sack") == "1"


def test_table_covers_brief_rows():
    """Every row the stack reads exists with a Linux default (no hidden globals)."""
    names = {row[0] for row in TCP_SYSCTLS}
    for k in DEFAULTS:
        if k not in ("tcp_rmem", "tcp_wmem", "tcp_congestion_control"):
            assert k in names, k


def test_rmem_default_sets_rcvbuf_and_window():
    """tcp_rmem[1] is the initial SO_RCVBUF (131072); the SYN-ACK window is half of it in
    MSS units (tcp_adv_win_scale 1 / scaling ratio 50%: 65160 = 45 * 1448 with TS)."""
    bed = TcpTestbed()
    c, sa = passive_open(bed, ts=1)
    assert c.sk.sk_rcvbuf == 131072 and sa.win == 65160
    bed2 = TcpTestbed(sysctls={"net.ipv4.tcp_rmem": "4096 65536 6291456"})
    c2, sa2 = passive_open(bed2, ts=1)
    assert c2.sk.sk_rcvbuf == 65536 and sa2.win == 31856     # 22 * 1448


def test_so_rcvbuf_locks_and_doubles():
    """SO_RCVBUF (sock_setsockopt): the kernel doubles the value, locks it
    (SOCK_RCVBUF_LOCK: no autotuning) and caps it at rmem_max."""
    from kstack.core.sock import SO_RCVBUF, SOL_SOCKET
    bed = TcpTestbed()
    fd = bed.socket()
    bed.host.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 10000)
    assert bed.host.getsockopt(fd, SOL_SOCKET, SO_RCVBUF) == 20000
    bed.host.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 1 << 30)
    assert bed.host.getsockopt(fd, SOL_SOCKET, SO_RCVBUF) == 2 * 212992
