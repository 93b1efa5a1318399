"""Every packetdrill script, run on kstack (tools/packetdrill, kstack backend, fake clock).

The 51 upstream scripts of ../shared/packetdrill and the project's own scripts
(tests/packetdrill/*.pkt, each proven on Linux first by
tests/interop/test_packetdrill_linux.py) run once per session; each is one test:

- a script recorded as "pass" in expected.json must still pass (no regressions);
- a script listed in known_failures.toml fails for a real divergence from Linux:
  xfail with the reason given there (XPASS says it is time to update the files);
- any other script that does not pass yet is an xfail that names why (the
  runner's first mismatch or the missing feature): visible, never skipped.

Update the record after kstack improves (it only ever adds passes, never drops one):
    .venv/bin/python -m tests.packetdrill.test_upstream --update
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tools.packetdrill.runner import SHARED_DIR, run_script  # noqa: E402

EXPECTED = HERE / "expected.json"
KNOWN = HERE / "known_failures.toml"


def all_scripts() -> list[tuple[str, Path]]:
    """(name, path): upstream scripts named relative to ../shared/packetdrill, ours as project/<file>."""
    out = [(p.relative_to(SHARED_DIR).as_posix(), p) for p in sorted(SHARED_DIR.rglob("*.pkt"))]
    out += [(f"project/{p.name}", p) for p in sorted(HERE.glob("*.pkt"))]
    return out


def load_expected() -> dict:
    if EXPECTED.exists():
        return json.loads(EXPECTED.read_text()).get("scripts", {})
    return {}


def load_known() -> dict:
    if KNOWN.exists():
        return tomllib.loads(KNOWN.read_text()).get("scripts", {})
    return {}


_cache: dict = {}


def run_one(name: str, path: Path):
    if name not in _cache:
        from tools.packetdrill.kstack_backend import KstackBackend
        t0 = time.monotonic()
        _cache[name] = run_script(str(path), KstackBackend())
        _cache[name].wall_seconds = time.monotonic() - t0
    return _cache[name]


SCRIPTS = all_scripts()


@pytest.mark.parametrize("name,path", SCRIPTS, ids=[n for n, _ in SCRIPTS])
def test_script(name, path):
    res = run_one(name, path)
    expected = load_expected().get(name, {}).get("status")
    known = load_known().get(name)
    why = f"{res.status}: {res.message}" + (f" [line {res.line}: {res.text}]" if res.line else "")
    if res.status == "pass":
        if known is not None:
            pytest.fail(f"{name} passes but known_failures.toml lists it ({known.get('reason')}): update the files")
        return
    if expected == "pass":
        pytest.fail(f"REGRESSION: {name} passed before, now {why}\n{res.details()}")
    if res.status == "error":
        pytest.fail(f"runner error on {name}: {res.message}\n" + "\n".join(res.log[-5:]))
    if known is not None:
        pytest.xfail(f"known divergence from Linux: {known.get('reason')} ({why})")
    pytest.xfail(f"not passing on kstack yet: {why}")


def test_expected_json_names_real_scripts():
    names = {n for n, _ in SCRIPTS}
    for name in list(load_expected()) + list(load_known()):
        assert name in names, f"{name} is recorded but no such script exists"
    for name, entry in load_known().items():
        assert entry.get("reason"), f"known_failures.toml: {name} needs a reason"


def update(argv: list) -> int:
    """Run everything and record: passes are added; a recorded pass is never removed."""
    old = load_expected()
    new = {}
    total = 0.0
    for name, path in SCRIPTS:
        r = run_one(name, path)
        total += r.wall_seconds
        entry = {"status": r.status}
        if r.status != "pass":
            entry["message"] = r.message
            if r.line:
                entry["line"] = r.line
        if old.get(name, {}).get("status") == "pass" and r.status != "pass" and "--force" not in argv:
            print(f"REGRESSION {name}: {r.status}: {r.message} (kept as pass; --force to drop)")
            entry = old[name]
        new[name] = entry
        print(f"{r.status:12s} {r.wall_seconds:6.2f}s {name}" + (f"  {r.message}" if r.status != "pass" else ""))
    upstream = [n for n in new if not n.startswith("project/")]
    passed = sum(1 for n in upstream if new[n]["status"] == "pass")
    doc = {
        "what": "packetdrill scripts on kstack (tests/packetdrill/test_upstream.py): the last recorded result of "
                "each; a script recorded as pass must keep passing",
        "upstream_pass": f"{passed}/{len(upstream)}",
        "scripts": new,
    }
    EXPECTED.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(f"upstream: {passed}/{len(upstream)} pass; project: "
          f"{sum(1 for n in new if n.startswith('project/') and new[n]['status'] == 'pass')}"
          f"/{sum(1 for n in new if n.startswith('project/'))} pass; {total:.1f}s")
    return 0


if __name__ == "__main__":
    if "--update" in sys.argv:
        sys.exit(update(sys.argv))
    print(__doc__)
