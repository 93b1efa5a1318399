"""kstack/wire is sans-I/O (STYLE.md cross-cutting rule 3): no module imports a clock, a
random source, the OS or the network, and each names the kernel header / RFC it models."""

import ast
from pathlib import Path

import kstack.wire

FORBIDDEN = {"time", "random", "os", "socket", "select", "selectors", "zmq", "threading",
             "multiprocessing", "subprocess", "asyncio"}
WIRE = Path(kstack.wire.__file__).parent


def test_no_io_imports():
    for p in sorted(WIRE.glob("*.py")):
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for n in names:
                assert n.split(".")[0] not in FORBIDDEN, f"{p.name} imports {n}"


def test_every_module_has_a_docstring():
    for p in sorted(WIRE.glob("*.py")):
        doc = ast.get_docstring(ast.parse(p.read_text()))
        assert doc and len(doc) > 20, p.name
