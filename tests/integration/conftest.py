"""Fixtures: a kstackd subprocess in a temp rundir, killed by pid at teardown
(tests/lib/daemon.py)."""
import pytest

from tests.lib.daemon import _drop_session, running_daemon, start_daemon, stop_daemon


@pytest.fixture
def kstackd(tmp_path, monkeypatch):
    """A fresh daemon per test; libsock in this process talks to it."""
    rundir = tmp_path / "host"
    d = start_daemon(rundir)
    monkeypatch.setenv("KSTACK_RUNDIR", str(rundir))
    try:
        yield d
    finally:
        _drop_session()
        stop_daemon(d)


@pytest.fixture(scope="module")
def shared_kstackd(tmp_path_factory):
    with running_daemon(tmp_path_factory.mktemp("shared") / "host") as d:
        yield d
