"""Each compat test runs twice: [linux] with the stdlib, [kstack] with libsock on a kstackd.

A test takes the ``net`` fixture: ``net.socket`` is the socket module
(stdlib or libsock.socket), ``net.select`` the select module, ``net.selectors``
the selectors module, ``net.kind`` "linux" or "kstack". A known divergence is
marked with ``kstack_xfail(reason)`` so it shows up as an xfail on kstack.
"""
import select as std_select
import selectors as std_selectors
import socket as std_socket

import pytest

from tests.lib.daemon import running_daemon


class Net:
    def __init__(self, kind, socket, select, selectors, daemon=None):
        self.kind = kind
        self.socket = socket
        self.select = select
        self.selectors = selectors
        self.daemon = daemon


@pytest.fixture(scope="session")
def _kstack_daemon(tmp_path_factory):
    with running_daemon(tmp_path_factory.mktemp("compat") / "host") as d:
        yield d


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
