"""The sans-I/O rule: protocol code imports no clock, RNG, OS or I/O module."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BANNED = {"time", "random", "os", "socket", "select", "selectors", "zmq", "threading",
          "multiprocessing", "subprocess", "asyncio", "signal"}
DIRS = ["kstack/core", "kstack/wire", "kstack/net", "kstack/fs"]


def _files():
    for d in DIRS:
        yield from sorted((ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", list(_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_io_imports(path):
    tree = ast.parse(path.read_text(), str(path))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for n in names:
            if n.split(".")[0] in BANNED:
                bad.append(f"line {node.lineno}: {n}")
    assert not bad, f"{path.name} imports I/O modules: {bad}"


def test_scanner_sees_the_tree():
    assert len(list(_files())) > 10
