"""The README's main job (the in-process demo) runs and shows what it promises."""
import io
from contextlib import redirect_stdout

from kstack import demo


def test_demo_runs_and_shows_each_step():
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert demo.main(["--inproc"]) == 0
    out = buf.getvalue()
    assert "ARP, Request who-has 10.0.1.1 tell 10.0.1.2" in out
    assert "bob got b'hello bob' from 10.0.1.2" in out
    assert "64 bytes from 10.0.2.2: icmp_seq=3 ttl=63" in out
    assert "udp port 9999 unreachable" in out
    assert "ConnectionRefusedError: [Errno 111]" in out
    assert "ICMP time exceeded in-transit" in out
    assert "router: " in out and "IpForwDatagrams=" in out
