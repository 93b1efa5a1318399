"""kstack.wire.inet: text <-> address values (net/core/utils.c in_aton; inet_pton(3))."""

import pytest
from hypothesis import given, strategies as st

from kstack.wire import WireError
from kstack.wire.inet import in_aton, in_ntoa, inet_pton4, mac_aton, mac_ntoa


def test_in_aton_host_order():
    assert in_aton("192.168.0.1") == 0xC0A80001
    assert in_aton("0.0.0.0") == 0 and in_aton("255.255.255.255") == 0xFFFFFFFF
    assert in_ntoa(0x0AC80002) == "10.200.0.2"


@pytest.mark.parametrize("bad", ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4",
                                 " 1.2.3.4", "1.2.3.4 ", "1..3.4", "a.b.c.d", "1.2.3.٣", "0x1.2.3.4"])
def test_in_aton_rejects(bad):
    with pytest.raises(WireError) as ei:
        inet_pton4(bad)
    assert ei.value.reason == "bad_text"


@given(st.integers(0, 0xFFFFFFFF))
def test_round_trip(a):
    assert in_aton(in_ntoa(a)) == a


def test_mac():
    assert mac_aton("AA:bb:cc:dd:ee:0f") == bytes.fromhex("aabbccddee0f")
    assert mac_aton("2-0-a-c8-0-1") == bytes.fromhex("02000ac80001")
    assert mac_ntoa(bytes.fromhex("02000ac80001")) == "02:00:0a:c8:00:01"
    for bad in ("", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:fg", "aaa:bb:cc:dd:ee:ff"):
        with pytest.raises(WireError):
            mac_aton(bad)


@given(st.binary(min_size=6, max_size=6))
def test_mac_round_trip(b):
    assert mac_aton(mac_ntoa(b)) == b
