"""`kstack <tool> ...`: one entry point for kstack's tools.

Each tool lives in its own module with a ``main(argv) -> int``; this only
dispatches, so `kstack ip addr` and `python -m tools.ip addr` are the same.
"""
import importlib
import sys

TOOLS = {
    "demo": ("kstack.demo", "the in-process demo network, packets printed tcpdump-style"),
    "packetdrill": ("tools.packetdrill.cli", "run packetdrill scripts against kstack (or Linux with --linux)"),
    "exec": ("tools.exec", "run an unmodified Python program on a kstackd"),
}


def usage(out=sys.stderr) -> None:
    print("usage: kstack <tool> [args...]\n\ntools:", file=out)
    for name, (_, text) in TOOLS.items():
        print(f"  {name:<12} {text}", file=out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        usage(sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    entry = TOOLS.get(name)
    if entry is None:
        print(f"kstack: unknown tool '{name}'", file=sys.stderr)
        usage()
        return 2
    try:
        mod = importlib.import_module(entry[0])
    except ImportError as e:
        print(f"kstack: tool '{name}' is not available: {e}", file=sys.stderr)
        return 2
    return int(mod.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
