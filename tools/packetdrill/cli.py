"""`kstack packetdrill FILE...` / `python -m tools.packetdrill FILE...`.

Runs packetdrill scripts against kstack (default: a kstack Net on a fake
clock) or against the real Linux kernel through TUN (--backend=linux, root
only, one fresh network namespace per script). Prints one line per script,
details for each failure, and exits 0 only if every script passed.

Flags packetdrill itself takes (--tolerance_usecs=N, --mss=N, --local_ip=...,
--strict_segments, -D NAME=VALUE, ...) override the scripts' option lines.
"""

from __future__ import annotations

import sys
from typing import Optional

from .runner import Config, ScriptResult, Unsupported, run_script

USAGE = """usage: packetdrill [--backend=kstack|linux] [-v] [-j N] [--json] [packetdrill flags] FILE...

  --backend=kstack   run on a kstack Net with a fake clock (default)
  --backend=linux    run on this machine's kernel through tun0 in a fresh netns (root);
                     --linux / --kstack are short for the two
  -v, --verbose      print every event, packet and syscall with its time
  -j N, --jobs=N     run N scripts at once (linux backend)
  --json             print one JSON object per script instead of text
  packetdrill flags: --tolerance_usecs=N --tolerance_percent=P --mss=N --ip_version=ipv4
                     --local_ip=A --remote_ip=A --gateway_ip=A --netmask_ip=M --bind_port=N
                     --connect_port=N --strict_segments --tcp_ts_tick_usecs=N -D NAME=VALUE
"""


def parse_args(argv: list) -> tuple[dict, Config, dict, list]:
    opts = {"backend": "kstack", "jobs": 1, "json": False, "verbose": False}
    base = Config()
    overrides: dict = {}
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise SystemExit(USAGE)
        if a in ("-v", "--verbose"):
            opts["verbose"] = True
        elif a == "--json":
            opts["json"] = True
        elif a in ("--linux", "--kstack"):
            opts["backend"] = a[2:]
        elif a.startswith("--backend="):
            opts["backend"] = a.split("=", 1)[1]
        elif a == "--backend":
            i += 1
            opts["backend"] = argv[i]
        elif a in ("-j", "--jobs"):
            i += 1
            opts["jobs"] = int(argv[i])
        elif a.startswith("--jobs="):
            opts["jobs"] = int(a.split("=", 1)[1])
        elif a == "-D":
            i += 1
            k, _, v = argv[i].partition("=")
            base.defines[k] = v
        elif a.startswith("-D") and len(a) > 2:
            k, _, v = a[2:].partition("=")
            base.defines[k] = v
        elif a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            overrides[name] = value if eq else None
        else:
            files.append(a)
        i += 1
    if opts["backend"] not in ("kstack", "linux"):
        raise SystemExit(f"unknown backend {opts['backend']!r}\n{USAGE}")
    try:
        probe = base.copy()
        for k, v in overrides.items():
            probe.apply(k, v)
    except (Unsupported, ValueError) as e:
        raise SystemExit(f"bad flag: {e}")
    if opts["verbose"]:
        overrides["verbose"] = None
    return opts, base, overrides, files


def run_files(files: list, backend: str = "kstack", base: Optional[Config] = None, overrides: Optional[dict] = None,
              jobs: int = 1, log=None) -> list:
    """Run scripts; returns their ScriptResults in order."""
    base = base or Config()
    overrides = overrides or {}
    if backend == "linux":
        from .linux_backend import run_linux, run_linux_many
        if jobs > 1:
            return run_linux_many(files, base, overrides, jobs=jobs)
        return [run_linux(f, base, overrides) for f in files]
    from .kstack_backend import KstackBackend
    out = []
    for f in files:
        out.append(run_script(f, KstackBackend(), base, overrides, log=log))
    return out


def print_result(r: ScriptResult, verbose: bool, out=sys.stdout) -> None:
    print(r.summary(), file=out)
    if r.status != "pass" or verbose:
        d = r.details()
        if d:
            print(d, file=out)
    if verbose or r.status == "error":
        for line in r.log:
            print("    " + line.rstrip(), file=out)


def main(argv: Optional[list] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        opts, base, overrides, files = parse_args(argv)
    except SystemExit as e:
        print(e.code if isinstance(e.code, str) else USAGE, file=sys.stderr)
        return 2
    if not files:
        print(USAGE, file=sys.stderr)
        return 2
    import json
    results = run_files(files, opts["backend"], base, overrides, jobs=opts["jobs"])
    for r in results:
        if opts["json"]:
            print(json.dumps(r.to_dict()))
        else:
            print_result(r, opts["verbose"])
    if not opts["json"] and len(results) > 1:
        counts: dict = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f" of {len(results)}")
    return 0 if results and all(r.status == "pass" for r in results) else 1
