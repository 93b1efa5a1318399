"""kstack exec [-n HOST] -- CMD ...: run an unmodified program on a kstack host.

The program's socket, select and selectors modules are libsock's
(libsock/preload.py), loaded by a sitecustomize that this command puts first
on PYTHONPATH, so a Python program and every Python process it starts use
the daemon named by -n HOST (or KSTACK_RUNDIR). Programs that are not Python
run as they are (on the real kernel's stack): their sockets are not kstack's.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path


def build_env(rundir: str, env=None) -> dict:
    env = dict(os.environ if env is None else env)
    root = Path(__file__).resolve().parents[1]
    site = root / "libsock" / "_site"
    parts = [str(site), str(root)]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["KSTACK_RUNDIR"] = os.path.abspath(rundir)
    env["KSTACK_PRELOAD"] = "1"
    return env


def main(argv=None) -> int:
    from kstack.server.control_client import default_rundir
    from kstack.server.proto import SESSION_SOCK

    ap = argparse.ArgumentParser(prog="kstack exec",
                                 description="run a program with its sockets on kstack")
    ap.add_argument("-n", "--host", help="host name or rundir (default: KSTACK_RUNDIR)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    args = ap.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command given")
    rundir = default_rundir(args.host) if args.host else default_rundir()
    if not os.path.exists(os.path.join(rundir, SESSION_SOCK)):
        print(f"kstack exec: kstackd is not running in {rundir} "
              f"(start it with: kstackd --rundir {rundir})", file=sys.stderr)
        return 1
    env = build_env(rundir)
    exe = shutil.which(cmd[0], path=env.get("PATH"))
    if exe is None:
        print(f"kstack exec: {cmd[0]}: command not found", file=sys.stderr)
        return 127
    os.execve(exe, cmd, env)
    return 0   # not reached


if __name__ == "__main__":
    sys.exit(main())
