"""Each compat test runs twice: [linux] with the stdlib, [kstack] with libsock on a kstackd.

A test takes the ``net`` fixture: ``net.socket`` is the socket module
(stdlib or libsock.socket), ``net.select`` the select module, ``net.selectors``
the selectors module, ``net.kind`` "linux" or "kstack". A known divergence is
marked with ``kstack_xfail(reason)`` so it shows up as an xfail on kstack.
"""
import os
import select as std_select
import selectors as std_selectors
import socket as std_socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from integration.conftest import _drop_session, start_daemon, stop_daemon  # noqa: E402


class Net:
    def __init__(self, kind, socket, select, selectors, daemon=None):
        self.kind = kind
        self.socket = socket
        self.select = select
        self.selectors = selectors
        self.daemon = daemon


@pytest.fixture(scope="session")
def _kstack_daemon(tmp_path_factory):
    rundir = tmp_path_factory.mktemp("compat") / "host"
    d = start_daemon(rundir)
    old = os.environ.get("KSTACK_RUNDIR")
    os.environ["KSTACK_RUNDIR"] = str(rundir)
    try:
        yield d
    finally:
        _drop_session()
        if old is None:
            os.environ.pop("KSTACK_RUNDIR", None)
        else:
            os.environ["KSTACK_RUNDIR"] = old
        stop_daemon(d)


@pytest.fixture(params=["linux", "kstack"])
def net(request):
    if request.param == "linux":
        yield Net("linux", std_socket, std_select, std_selectors)
        return
    marker = request.node.get_closest_marker("kstack_xfail")
    if marker is not None:
        request.node.add_marker(pytest.mark.xfail(reason=marker.args[0], strict=False))
    d = request.getfixturevalue("_kstack_daemon")
    if not d.alive():
        pytest.fail("kstackd died")
    from libsock import select as lselect
    from libsock import selectors as lselectors
    from libsock import socket as lsocket
    before = len(d.stats()["bugs"])
    yield Net("kstack", lsocket, lselect, lselectors, d)
    assert d.alive(), "kstackd died during the test"
    bugs = d.stats()["bugs"][before:]
    assert not bugs, f"the stack raised inside kstackd: {bugs}"


def pytest_configure(config):
    config.addinivalue_line("markers", "kstack_xfail(reason): a known divergence of kstack from Linux")
