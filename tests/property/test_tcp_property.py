"""Property: TCP delivers every byte exactly once, in order, over a hostile path.

Two kstack hosts over veth with netem on both directions (random loss, duplication,
reordering, delay, jitter, corruption) drawn by hypothesis. For every example: the bytes
received equal the bytes sent (digest), both sides end in CLOSED or TIME_WAIT after the
close, no stack bug was recorded, and once TIME_WAIT has expired no TCP timer is armed.
RFC 9293 3.4/3.8 (reliability), RFC 6298/5681/6582/2018/8985 (recovery under loss).
"""
import hashlib

from hypothesis import HealthCheck, given, settings, strategies as st

from kstack.core.sock import MSG_DONTWAIT
from kstack.net.ipv4.tcp_states import TCP_CLOSE, TCP_TIME_WAIT
from tests.lib.pair import StackPair, digest

netem_params = st.fixed_dictionaries({
    "loss": st.sampled_from([0.0, 0.0, 0.01, 0.03, 0.1]),
    "duplicate": st.sampled_from([0.0, 0.0, 0.02, 0.1]),
    "reorder": st.sampled_from([0.0, 0.0, 0.05, 0.25]),
    "latency": st.sampled_from([0.0005, 0.002, 0.01, 0.05]),
    "jitter": st.sampled_from([0.0, 0.0, 0.001, 0.005]),
    "corrupt": st.sampled_from([0.0, 0.0, 0.01]),
})
sizes = st.one_of(st.integers(0, 3000), st.integers(3000, 200_000),
                  st.sampled_from([1 << 20, 2 << 20]))


def payload(n: int, seed: int) -> bytes:
    """n pseudo-random bytes (so reordering bugs cannot hide in repeated patterns)."""
    out = bytearray()
    k = seed.to_bytes(8, "little")
    i = 0
    while len(out) < n:
        out += hashlib.blake2b(k + i.to_bytes(8, "little"), digest_size=64).digest()
        i += 1
    return bytes(out[:n])


def close_both(p: StackPair, c: int, s: int, who_first: str):
    """Orderly close from one side, the other after it has seen EOF; run out TIME_WAIT."""
    first, ffd, second, sfd = (p.a, c, p.b, s) if who_first == "a" else (p.b, s, p.a, c)
    ska, skb = p.a.sock(c), p.b.sock(s)
    first.close(ffd)
    deadline = p.clock.now() + 600
    while p.clock.now() < deadline:
        try:
            if second.recv(sfd, 1 << 16, MSG_DONTWAIT) == b"":
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        if not p._step():
            break
    second.close(sfd)
    p.b.close(p.listener)
    p.run(300)
    return ska, skb


def run_transfer(netem_ab, netem_ba, n, seed, close_first, bidir):
    p = StackPair(netem_ab=netem_ab, netem_ba=netem_ba, seed=seed)
    c, s = p.connected()
    data = payload(n, seed)
    got = p.transfer(p.a, c, p.b, s, data, limit=3000)
    assert digest(got) == digest(data)
    if bidir:
        back = payload(n // 3, seed + 1)
        assert digest(p.transfer(p.b, s, p.a, c, back, limit=3000)) == digest(back)
    ska, skb = close_both(p, c, s, close_first)
    assert ska.sk_state in (TCP_CLOSE, TCP_TIME_WAIT)
    assert skb.sk_state in (TCP_CLOSE, TCP_TIME_WAIT)
    assert p.bugs() == []
    assert p.pending_tcp_timers() == []
    for net in p.nets:
        assert [x for x in net.ipv4.tcp_hashinfo.ehash.values()] == []


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(ab=netem_params, ba=netem_params, n=sizes, seed=st.integers(0, 2 ** 31),
       close_first=st.sampled_from("ab"), bidir=st.booleans())
def test_transfer_is_byte_exact_under_netem(ab, ba, n, seed, close_first, bidir):
    run_transfer(ab, ba, n, seed, close_first, bidir)


def test_ten_megabytes_one_percent_loss():
    """The deterministic big one: 10 MB with 1% loss both ways and 5 ms latency."""
    em = {"loss": 0.01, "latency": 0.005}
    run_transfer(em, em, 10 << 20, 7, "a", False)
