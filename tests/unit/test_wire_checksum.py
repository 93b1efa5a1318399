"""kstack.wire.checksum against a plain RFC 1071 word loop (include/net/checksum.h, lib/checksum.c)."""

import json
import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from kstack.wire.checksum import (
    CSUM_MANGLED_0, csum_add, csum_block_add, csum_fold, csum_partial, csum_replace2, csum_replace4,
    csum_sub, csum_tcpudp_magic, csum_tcpudp_nofold, inet_csum, ip_compute_csum, ip_fast_csum,
    tcp4_csum, tcp4_csum_verify, tcp_v4_check, udp4_csum, udp4_csum_verify, udp_v4_check,
)
from kstack.wire.iphdr import ip_send_check

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}


def ref_sum(buf) -> int:
    """RFC 1071 §4.1: 16-bit words, end-around carry after every add; odd byte padded with 0."""
    b = bytes(buf)
    if len(b) & 1:
        b += b"\x00"
    s = 0
    for i in range(0, len(b), 2):
        s += (b[i] << 8) | b[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ref_csum(buf) -> int:
    return ~ref_sum(buf) & 0xFFFF


# --- against the reference ----------------------------------------------------------------

def test_every_length_0_to_2000_random_and_all_ones():
    rng = random.Random(1071)
    for n in range(0, 2001):
        b = rng.randbytes(n)
        assert csum_partial(b) == ref_sum(b), n
        assert inet_csum(b) == ref_csum(b), n
        ff = b"\xff" * n
        assert csum_partial(ff) == ref_sum(ff), n
        assert inet_csum(ff) == ref_csum(ff), n


@given(st.binary(max_size=2000))
def test_matches_rfc1071(b):
    assert csum_partial(b) == ref_sum(b)
    assert ip_compute_csum(b) == ref_csum(b)
    assert csum_partial(bytearray(b)) == ref_sum(b)
    assert csum_partial(memoryview(b)) == ref_sum(b)


@given(st.binary(min_size=0, max_size=2000), st.integers(0, 7), st.integers(0, 7))
def test_memoryview_slices_at_odd_and_even_offsets(b, pre, post):
    big = bytes(range(pre)) + b + bytes(post)
    view = memoryview(big)[pre:pre + len(b)]
    assert csum_partial(view) == ref_sum(b)
    assert inet_csum(view) == ref_csum(b)


@pytest.mark.parametrize("words", [
    [0xFFFF], [0xFFFF, 0xFFFF], [0x8000, 0x7FFF], [0xFFFF, 0x0001], [0xFFFE, 0x0001],
    [0xFFFF] * 3, [0x0000], [], [0x0001, 0xFFFE, 0x0001], [0xFFFF] * 65537,
])
def test_end_around_carry_edges(words):
    b = struct.pack(f"!{len(words)}H", *words)
    assert csum_partial(b) == ref_sum(b)
    assert inet_csum(b) == ref_csum(b)


def test_zero_vs_ones_complement_zero():
    assert csum_partial(b"") == 0 and csum_partial(b"\x00" * 40) == 0
    assert csum_partial(b"\xff\xff") == 0xFFFF
    assert inet_csum(b"\x00\x00") == 0xFFFF
    assert inet_csum(b"\xff\xff") == 0


def test_csum_fold_edges():
    assert csum_fold(0) == 0xFFFF
    assert csum_fold(0xFFFF) == 0
    assert csum_fold(0x1FFFE) == 0           # 0xfffe + 1 = 0xffff
    assert csum_fold(0x10000) == 0xFFFE      # folds to 1
    assert csum_fold(0xFFFFFFFF) == 0
    assert csum_fold(0x12345678) == ~((0x1234 + 0x5678) & 0xFFFF) & 0xFFFF


@given(st.binary(max_size=600).map(lambda b: b[: len(b) & ~1]), st.binary(max_size=600))
def test_combinable_when_first_part_even(a, b):
    assert csum_partial(b, csum_partial(a)) == ref_sum(a + b)


@given(st.binary(max_size=600), st.binary(max_size=600))
def test_csum_block_add_any_split(a, b):
    assert csum_block_add(csum_partial(a), csum_partial(b), len(a)) == ref_sum(a + b)


@given(st.binary(min_size=2, max_size=200).map(lambda b: b[: len(b) & ~1]), st.integers(0, 0xFFFF))
def test_csum_add_sub(b, w):
    s = csum_partial(b)
    assert csum_fold(csum_sub(csum_add(s, w), w)) == csum_fold(s) or ref_sum(b) == 0


@given(st.binary(min_size=20, max_size=60).map(lambda b: b[: len(b) & ~3]), st.integers(0, 0xFFFF))
def test_csum_replace2_matches_recompute(b, new):
    hdr = bytearray(b)
    hdr[0] = 0x45          # RFC 1624 §3: eqn 3 is exact unless all data is zero (never for IP)
    hdr[10:12] = b"\x00\x00"
    struct.pack_into("!H", hdr, 10, inet_csum(hdr))
    old = struct.unpack_from("!H", hdr, 4)[0]
    check = struct.unpack_from("!H", hdr, 10)[0]
    struct.pack_into("!H", hdr, 4, new)
    updated = csum_replace2(check, old, new)
    hdr[10:12] = updated.to_bytes(2, "big")
    assert inet_csum(hdr) == 0


@given(st.integers(0, 0xFFFFFFFF))
def test_csum_replace4_nat_rewrite(new):
    iph = bytearray(FRAMES["tcp_syn"][14:34])
    old = struct.unpack_from("!I", iph, 12)[0]
    check = struct.unpack_from("!H", iph, 10)[0]
    struct.pack_into("!I", iph, 12, new)
    struct.pack_into("!H", iph, 10, csum_replace4(check, old, new))
    assert ip_fast_csum(iph) == 0


# --- headers captured from Linux ---------------------------------------------------------

def _ipv4_frames():
    for label, b in FRAMES.items():
        if b[12:14] == b"\x08\x00":
            yield label, b


def test_linux_ip_headers_verify_to_zero_and_recompute():
    for label, b in _ipv4_frames():
        ihl = (b[14] & 15) * 4
        iph = bytearray(b[14:14 + ihl])
        assert ip_fast_csum(iph) == 0, label
        stored = struct.unpack_from("!H", iph, 10)[0]
        iph[10:12] = b"\x00\x00"
        assert ip_fast_csum(iph) == stored, label
        assert ip_send_check(iph) == stored and ip_fast_csum(iph) == 0


def test_linux_l4_checksums():
    seen = set()
    for label, b in _ipv4_frames():
        ihl = (b[14] & 15) * 4
        tot = struct.unpack_from("!H", b, 16)[0]
        saddr, daddr = struct.unpack_from("!II", b, 26)
        l4 = b[14 + ihl:14 + tot]
        frag = struct.unpack_from("!H", b, 20)[0] & 0x3FFF
        proto = b[23]
        if frag:
            continue
        if proto == 6:
            assert tcp4_csum_verify(saddr, daddr, l4), label
            assert tcp4_csum(saddr, daddr, l4) == 0
            z = bytearray(l4)
            z[16:18] = b"\x00\x00"
            assert tcp4_csum(saddr, daddr, z) == struct.unpack_from("!H", l4, 16)[0]
            assert tcp_v4_check(len(z), saddr, daddr, csum_partial(z)) == struct.unpack_from("!H", l4, 16)[0]
        elif proto == 17:
            assert udp4_csum_verify(saddr, daddr, l4), label
            z = bytearray(l4)
            z[6:8] = b"\x00\x00"
            assert udp4_csum(saddr, daddr, z) == struct.unpack_from("!H", l4, 6)[0]
        elif proto == 1:
            assert inet_csum(l4) == 0, label
        seen.add(proto)
    assert seen == {1, 6, 17}


def test_pseudo_header_nofold_magic_agree():
    b = FRAMES["tcp_syn"]
    saddr, daddr = struct.unpack_from("!II", b, 26)
    seg = b[34:]
    s = csum_tcpudp_nofold(saddr, daddr, len(seg), 6, csum_partial(seg))
    assert csum_fold(s) == 0 == csum_tcpudp_magic(saddr, daddr, len(seg), 6, csum_partial(seg))
    # the pseudo-header written out as bytes gives the same sum
    pseudo = struct.pack("!IIBBH", saddr, daddr, 0, 6, len(seg))
    assert ref_csum(pseudo + seg) == 0


def test_udp_zero_checksum_is_sent_as_ffff():
    saddr, daddr = 0x0AC80001, 0x0AC80002
    d = bytearray(struct.pack("!HHHH", 40000, 9000, 12, 0) + b"\x00\x00\x00\x00")
    s = csum_tcpudp_nofold(saddr, daddr, len(d), 17, csum_partial(d))
    struct.pack_into("!H", d, 8, 0xFFFF - s)          # make the one's-complement sum 0xffff
    assert udp_v4_check(len(d), saddr, daddr, csum_partial(d)) == 0   # raw result: 0
    c = udp4_csum(saddr, daddr, d)
    assert c == CSUM_MANGLED_0 == 0xFFFF
    struct.pack_into("!H", d, 6, c)
    assert udp4_csum_verify(saddr, daddr, d)
    d[6:8] = b"\x00\x00"                               # 0 on the wire: no checksum
    assert udp4_csum_verify(saddr, daddr, d)
    d[8] ^= 1
    d[6:8] = b"\x12\x34"
    assert not udp4_csum_verify(saddr, daddr, d)
