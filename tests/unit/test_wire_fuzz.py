"""Random bytes into every kstack.wire parser: a value or WireError, never another exception;
and whatever parses re-emits the bytes it came from."""

import pytest
from hypothesis import given, settings, strategies as st

from kstack.wire import WireError
from kstack.wire.arphdr import ArpHdr
from kstack.wire.ethhdr import EthHdr
from kstack.wire.icmphdr import IcmpHdr
from kstack.wire.iphdr import IpHdr
from kstack.wire.tcphdr import TcpHdr, options_str, parse_options
from kstack.wire.udphdr import UdpHdr

PARSERS = [EthHdr, ArpHdr, IpHdr, IcmpHdr, UdpHdr, TcpHdr]


def _biased_bytes():
    """Random bytes, plus random bytes behind a plausible first byte (IPv4 0x45..0x4f, TCP
    doff in byte 12), so the deeper checks get exercised too."""
    return st.one_of(
        st.binary(max_size=80),
        st.tuples(st.integers(0x40, 0x4F), st.binary(max_size=80)).map(lambda t: bytes([t[0]]) + t[1]),
        st.tuples(st.binary(min_size=12, max_size=12), st.integers(0, 255), st.binary(max_size=60))
        .map(lambda t: t[0] + bytes([t[1]]) + t[2]),
        st.tuples(st.binary(min_size=4, max_size=4), st.integers(6, 6), st.integers(4, 4), st.binary(max_size=40))
        .map(lambda t: t[0] + bytes([t[1], t[2]]) + t[3]),
    )


@pytest.mark.parametrize("cls", PARSERS, ids=lambda c: c.__name__)
@settings(max_examples=400, deadline=None)
@given(data=_biased_bytes(), offset=st.integers(-3, 90), kind=st.sampled_from([bytes, bytearray, memoryview]))
def test_parse_returns_or_raises_wireerror(cls, data, offset, kind):
    buf = kind(bytearray(data)) if kind is memoryview else kind(data)
    try:
        h = cls.parse(buf, offset)
    except WireError as e:
        assert isinstance(e.reason, str) and e.reason
        return
    n = h.buffer_len()
    assert offset >= 0 and offset + n <= len(data)
    assert h.to_bytes() == data[offset:offset + n]
    out = bytearray(b"\xa5" * (n + 4))
    h.emit(memoryview(out), 2)
    assert bytes(out[2:2 + n]) == data[offset:offset + n]
    assert cls.parse(h.to_bytes()) == h
    assert isinstance(h.summary(), str) and isinstance(repr(h), str)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=40))
def test_option_walkers_total(raw):
    try:
        opts = parse_options(raw)
        assert isinstance(opts, list)
    except WireError as e:
        assert e.reason == "bad_option"
    text, ok = options_str(raw)
    assert isinstance(text, str) and isinstance(ok, bool)
