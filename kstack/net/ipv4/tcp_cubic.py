"""net/ipv4/tcp_cubic.c — CUBIC (RFC 9438) with HyStart, Linux's integer arithmetic.

Constants as the module's defaults: beta 717/1024, bic_scale 41, fast convergence on,
TCP friendliness on, HyStart on with ACK-train and delay detection, low window 16,
ack delta 2 ms. Time is tcp_jiffies32 (HZ=1000) and tcp_mstamp (µs) of the socket.
"""
from .tcp_cong import (CA_EVENT_TX_START, TCP_CA_Loss, TcpCongestionOps, tcp_cong_avoid_ai,
                       tcp_in_slow_start, tcp_is_cwnd_limited, tcp_register_congestion_control,
                       tcp_slow_start)

HZ = 1000
BICTCP_BETA_SCALE = 1024
BICTCP_HZ = 10

HYSTART_ACK_TRAIN = 0x1
HYSTART_DELAY = 0x2
HYSTART_MIN_SAMPLES = 8
HYSTART_DELAY_MIN = 4000
HYSTART_DELAY_MAX = 16000

fast_convergence = 1
beta = 717
initial_ssthresh = 0
bic_scale = 41
tcp_friendliness = 1
hystart = 1
hystart_detect = HYSTART_ACK_TRAIN | HYSTART_DELAY
hystart_low_window = 16
hystart_ack_delta_us = 2000

beta_scale = 8 * (BICTCP_BETA_SCALE + beta) // 3 // (BICTCP_BETA_SCALE - beta)
cube_rtt_scale = bic_scale * 10
cube_factor = (1 << (10 + 3 * BICTCP_HZ)) // (bic_scale * 10)

_M32 = 0xFFFFFFFF


def _jiffies(sk) -> int:
    """tcp_jiffies32 (HZ=1000) of the socket's namespace clock."""
    return int(sk.sk_net.clock.now() * HZ + 1e-6) & _M32


def _s32(x: int) -> int:
    x &= _M32
    return x - (1 << 32) if x & 0x80000000 else x


class Bictcp:
    """struct bictcp (the socket's icsk_ca_priv)."""
    __slots__ = ("cnt", "last_max_cwnd", "last_cwnd", "last_time", "bic_origin_point", "bic_K",
                 "delay_min", "epoch_start", "ack_cnt", "tcp_cwnd", "sample_cnt", "found",
                 "round_start", "end_seq", "last_ack", "curr_rtt")

    def __init__(self):
        self.reset()
        self.round_start = self.end_seq = self.last_ack = 0
        self.curr_rtt = 0

    def reset(self):
        self.cnt = self.last_max_cwnd = self.last_cwnd = self.last_time = 0
        self.bic_origin_point = self.bic_K = self.delay_min = self.epoch_start = 0
        self.ack_cnt = self.tcp_cwnd = 0
        self.sample_cnt = 0
        self.found = 0


def _ca(sk) -> Bictcp:
    ca = sk.icsk_ca_priv
    if not isinstance(ca, Bictcp):
        ca = sk.icsk_ca_priv = Bictcp()
    return ca


def bictcp_clock_us(sk) -> int:
    return sk.tcp_mstamp & _M32


def bictcp_hystart_reset(sk) -> None:
    ca = _ca(sk)
    ca.round_start = ca.last_ack = bictcp_clock_us(sk)
    ca.end_seq = sk.snd_nxt
    ca.curr_rtt = _M32
    ca.sample_cnt = 0


def cubictcp_init(sk) -> None:
    ca = _ca(sk)
    ca.reset()
    if hystart:
        bictcp_hystart_reset(sk)
    if not hystart and initial_ssthresh:
        sk.snd_ssthresh = initial_ssthresh


def cubictcp_cwnd_event(sk, event: int) -> None:
    if event == CA_EVENT_TX_START:
        ca = _ca(sk)
        now = _jiffies(sk)
        delta = _s32(now - sk.lsndtime)
        # Application-limited (idle) for a while: shift epoch_start to keep cwnd on the curve.
        if ca.epoch_start and delta > 0:
            ca.epoch_start = (ca.epoch_start + delta) & _M32
            if _s32(ca.epoch_start - now) > 0:
                ca.epoch_start = now


# cbrt(x) MSB values for x MSB values in [0..63] (Willy Tarreau's table).
_V = (0, 54, 54, 54, 118, 118, 118, 118,
      123, 129, 134, 138, 143, 147, 151, 156,
      157, 161, 164, 168, 170, 173, 176, 179,
      181, 185, 187, 190, 192, 194, 197, 199,
      200, 202, 204, 206, 209, 211, 213, 215,
      217, 219, 221, 222, 224, 225, 227, 229,
      231, 232, 234, 236, 237, 239, 240, 242,
      244, 245, 246, 248, 250, 251, 252, 254)


def cubic_root(a: int) -> int:
    """Table lookup then one Newton-Raphson step (avg error ~0.195%)."""
    b = a.bit_length()            # fls64
    if b < 7:
        return (_V[a] + 35) >> 6
    b = ((b * 84) >> 8) - 1
    shift = a >> (b * 3)
    x = ((((_V[shift] + 10) << b) & _M32)) >> 6
    x = 2 * x + (a // (x * (x - 1)))
    x = ((x * 341) & _M32) >> 10
    return x


def bictcp_update(sk, ca: Bictcp, cwnd: int, acked: int) -> None:
    now = _jiffies(sk)
    ca.ack_cnt += acked
    if ca.last_cwnd == cwnd and _s32(now - ca.last_time) <= HZ // 32:
        return
    # The CUBIC function can update ca.cnt at most once per jiffy.
    if not (ca.epoch_start and now == ca.last_time):
        ca.last_cwnd = cwnd
        ca.last_time = now
        if ca.epoch_start == 0:
            ca.epoch_start = now
            ca.ack_cnt = acked
            ca.tcp_cwnd = cwnd
            if ca.last_max_cwnd <= cwnd:
                ca.bic_K = 0
                ca.bic_origin_point = cwnd
            else:
                ca.bic_K = cubic_root(cube_factor * (ca.last_max_cwnd - cwnd))
                ca.bic_origin_point = ca.last_max_cwnd
        t = _s32(now - ca.epoch_start)
        t += (ca.delay_min + 999) // 1000        # usecs_to_jiffies
        t = (t << BICTCP_HZ) // HZ
        offs = ca.bic_K - t if t < ca.bic_K else t - ca.bic_K
        delta = ((cube_rtt_scale * offs * offs * offs) >> (10 + 3 * BICTCP_HZ)) & _M32
        if t < ca.bic_K:
            bic_target = (ca.bic_origin_point - delta) & _M32
        else:
            bic_target = (ca.bic_origin_point + delta) & _M32
        if bic_target > cwnd:
            ca.cnt = cwnd // (bic_target - cwnd)
        else:
            ca.cnt = 100 * cwnd
        # Initial growth may be too conservative while bandwidth is still unknown.
        if ca.last_max_cwnd == 0 and ca.cnt > 20:
            ca.cnt = 20
    # TCP friendliness
    if tcp_friendliness:
        delta = (cwnd * beta_scale) >> 3
        if ca.ack_cnt > delta and delta:
            n = ca.ack_cnt // delta
            ca.ack_cnt -= n * delta
            ca.tcp_cwnd += n
        if ca.tcp_cwnd > cwnd:
            delta = ca.tcp_cwnd - cwnd
            max_cnt = cwnd // delta
            if ca.cnt > max_cnt:
                ca.cnt = max_cnt
    # At most 1 packet per 2 packets ACKed: 1.5x per RTT.
    ca.cnt = max(ca.cnt, 2)


def cubictcp_cong_avoid(sk, ack: int, acked: int) -> None:
    tp = sk
    ca = _ca(sk)
    if not tcp_is_cwnd_limited(sk):
        return
    if tcp_in_slow_start(tp):
        acked = tcp_slow_start(tp, acked)
        if not acked:
            return
    bictcp_update(sk, ca, tp.snd_cwnd, acked)
    tcp_cong_avoid_ai(tp, ca.cnt, acked)


def cubictcp_recalc_ssthresh(sk) -> int:
    tp = sk
    ca = _ca(sk)
    ca.epoch_start = 0
    # Wmax and fast convergence
    if tp.snd_cwnd < ca.last_max_cwnd and fast_convergence:
        ca.last_max_cwnd = (tp.snd_cwnd * (BICTCP_BETA_SCALE + beta)) // (2 * BICTCP_BETA_SCALE)
    else:
        ca.last_max_cwnd = tp.snd_cwnd
    return max((tp.snd_cwnd * beta) // BICTCP_BETA_SCALE, 2)


def cubictcp_state(sk, new_state: int) -> None:
    if new_state == TCP_CA_Loss:
        _ca(sk).reset()
        bictcp_hystart_reset(sk)


def hystart_ack_delay(sk) -> int:
    rate = sk.sk_pacing_rate
    if not rate:
        return 0
    return min(1000, (sk.sk_gso_max_size * 4 * 1000000) // rate)


def hystart_update(sk, delay: int) -> None:
    tp = sk
    ca = _ca(sk)
    if _s32(tp.snd_una - ca.end_seq) > 0:
        bictcp_hystart_reset(sk)
    if tp.snd_cwnd < hystart_low_window:
        return
    net = sk.sk_net
    if hystart_detect & HYSTART_ACK_TRAIN:
        now = bictcp_clock_us(sk)
        if _s32(now - ca.last_ack) <= hystart_ack_delta_us:
            ca.last_ack = now
            threshold = ca.delay_min + hystart_ack_delay(sk)
            # Without pacing, the train triggers past delay_min/2.
            if not sk.sk_pacing_status:
                threshold >>= 1
            if _s32(now - ca.round_start) > threshold:
                ca.found = 1
                net.mib.TcpExt["TCPHystartTrainDetect"] = net.mib.TcpExt.get("TCPHystartTrainDetect", 0) + 1
                net.mib.TcpExt["TCPHystartTrainCwnd"] = net.mib.TcpExt.get("TCPHystartTrainCwnd", 0) + tp.snd_cwnd
                tp.snd_ssthresh = tp.snd_cwnd
    if hystart_detect & HYSTART_DELAY:
        if ca.curr_rtt > delay:
            ca.curr_rtt = delay
        if ca.sample_cnt < HYSTART_MIN_SAMPLES:
            ca.sample_cnt += 1
        else:
            thresh = min(max(ca.delay_min >> 3, HYSTART_DELAY_MIN), HYSTART_DELAY_MAX)
            if ca.curr_rtt > ca.delay_min + thresh:
                ca.found = 1
                net.mib.TcpExt["TCPHystartDelayDetect"] = net.mib.TcpExt.get("TCPHystartDelayDetect", 0) + 1
                net.mib.TcpExt["TCPHystartDelayCwnd"] = net.mib.TcpExt.get("TCPHystartDelayCwnd", 0) + tp.snd_cwnd
                tp.snd_ssthresh = tp.snd_cwnd


def cubictcp_acked(sk, sample) -> None:
    tp = sk
    ca = _ca(sk)
    if sample.rtt_us < 0:
        return
    # Discard delay samples right after fast recovery.
    if ca.epoch_start and _s32(_jiffies(sk) - ca.epoch_start) < HZ:
        return
    delay = sample.rtt_us or 1
    if ca.delay_min == 0 or ca.delay_min > delay:
        ca.delay_min = delay
    if not ca.found and tcp_in_slow_start(tp) and hystart:
        hystart_update(sk, delay)


def cubictcp_undo_cwnd(sk) -> int:
    return max(sk.snd_cwnd, sk.prior_cwnd)


def cubictcp_get_info(sk) -> dict:
    ca = _ca(sk)
    return {"last_max_cwnd": ca.last_max_cwnd, "bic_K": ca.bic_K, "cnt": ca.cnt,
            "delay_min": ca.delay_min, "epoch_start": ca.epoch_start}


cubictcp = TcpCongestionOps(
    name="cubic",
    init=cubictcp_init,
    ssthresh=cubictcp_recalc_ssthresh,
    cong_avoid=cubictcp_cong_avoid,
    set_state=cubictcp_state,
    undo_cwnd=cubictcp_undo_cwnd,
    cwnd_event=cubictcp_cwnd_event,
    pkts_acked=cubictcp_acked,
    get_info=cubictcp_get_info,
    flags=1,   # TCP_CONG_NON_RESTRICTED: any user may select cubic
)

tcp_register_congestion_control(cubictcp)
