#!/usr/bin/env python3
"""Validates launchd/com.squib.netd.plist and scripts/install-macos on any OS (a `plutil -lint`
stand-in; neither has run on a Mac yet, docs/macos.md).

Checks of the plist: it parses as an XML property list; only known keys, each with the right
type and value; ProgramArguments runs /opt/squib-net/bin/squib-netd (the root-owned prefix,
launchd/com.squib.netd.plist says why) with only flags squib-netd accepts (design brief §4),
each value-taking flag followed by a value, program paths absolute; PATH names only
root-owned system directories; ExitTimeOut is above the daemon's 2 s stop contract and below
the installer's wait.

With --install-script: the script defaults to that prefix; its --print-plist output is the
plist file itself, and with --prefix/--gvproxy a plist that passes the same checks and names
gvproxy by absolute path; its --check-prefix refuses a world-writable directory, a symlinked,
relative or "/" path, and accepts a prefix under /usr. With --daemon PATH (a built squib-netd), also checks that
its --help mentions every flag used.
"""
import argparse
import os
import plistlib
import re
import shutil
import subprocess
import sys
import tempfile

PREFIX = "/opt/squib-net"
# squib-netd's flags (design brief §4, daemon/squib_netd.cpp): name -> takes a value.
ACCEPTED_FLAGS = {
    "--run-dir": True,
    "--control": True,
    "--group": True,
    "--config": True,
    "--log-level": True,
    "--foreground": False,
    "--gvproxy": True,
    "--passt": True,
}
# Flags naming a program the root daemon executes: absolute paths only (no PATH lookup).
PROGRAM_FLAGS = {"--gvproxy", "--passt"}
# Root-owned on every macOS; Homebrew's /opt/homebrew/bin and /usr/local/bin are not.
TRUSTED_PATH_DIRS = {"/usr/bin", "/bin", "/usr/sbin", "/sbin"}
ALLOWED_KEYS = {"Label", "ProgramArguments", "EnvironmentVariables", "UserName", "RunAtLoad", "KeepAlive",
                "ExitTimeOut", "ProcessType", "StandardErrorPath", "StandardOutPath"}
DAEMON_STOP_CONTRACT_S = 2  # design brief §4: exit within 2 s of SIGTERM

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def check_plist(plist, where, prefix=PREFIX, wait_seconds=None):
    """Checks one parsed plist; returns the flags its ProgramArguments uses."""
    check(plist.get("Label") == "com.squib.netd", f"{where}: Label must be com.squib.netd")
    check(plist.get("UserName") == "root", f"{where}: UserName must be root (vmnet needs it)")
    check(plist.get("RunAtLoad") is True, f"{where}: RunAtLoad must be true")
    check(plist.get("KeepAlive") is True, f"{where}: KeepAlive must be true")
    check(plist.get("ProcessType") in ("Interactive", "Adaptive"), f"{where}: ProcessType must be Interactive or Adaptive")
    for key in ("StandardErrorPath", "StandardOutPath"):
        value = plist.get(key)
        check(isinstance(value, str) and value.startswith("/"), f"{where}: {key} must be an absolute path")
    check(set(plist) <= ALLOWED_KEYS, f"{where}: unexpected keys: {sorted(set(plist) - ALLOWED_KEYS)}")

    exit_timeout = plist.get("ExitTimeOut")
    if check(type(exit_timeout) is int, f"{where}: ExitTimeOut must be an integer"):
        check(exit_timeout > DAEMON_STOP_CONTRACT_S, f"{where}: ExitTimeOut must leave the daemon its 2 s to stop")
        if wait_seconds is not None:
            check(exit_timeout < wait_seconds,
                  f"{where}: ExitTimeOut {exit_timeout} must be below install-macos's WAIT_SECONDS {wait_seconds}")

    env = plist.get("EnvironmentVariables")
    if check(isinstance(env, dict) and set(env) == {"PATH"}, f"{where}: EnvironmentVariables must hold PATH only"):
        dirs = env["PATH"].split(":") if isinstance(env["PATH"], str) else [None]
        untrusted = [d for d in dirs if d not in TRUSTED_PATH_DIRS]
        check(not untrusted, f"{where}: PATH has directories that are not root-owned on every Mac: {untrusted}")

    argv = plist.get("ProgramArguments")
    if not check(isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv),
                 f"{where}: ProgramArguments must be a non-empty array of strings"):
        return []
    check(argv[0] == f"{prefix}/bin/squib-netd", f"{where}: ProgramArguments[0] must be {prefix}/bin/squib-netd")
    i = 1
    used = []
    while i < len(argv):
        flag = argv[i]
        if flag not in ACCEPTED_FLAGS:
            check(False, f"{where}: squib-netd does not accept {flag!r}")
            i += 1
            continue
        used.append(flag)
        if ACCEPTED_FLAGS[flag]:
            has_value = check(i + 1 < len(argv) and not argv[i + 1].startswith("--"), f"{where}: {flag} needs a value")
            if has_value and flag in PROGRAM_FLAGS:
                check(argv[i + 1].startswith("/"), f"{where}: {flag} must name an absolute path (root runs it)")
            i += 2
        else:
            i += 1
    check(len(used) == len(set(used)), f"{where}: a flag is repeated: {used}")
    check("--foreground" in used, f"{where}: launchd jobs must not daemonize: --foreground is required")
    check("--run-dir" in used and argv[argv.index("--run-dir") + 1] == "/var/run/squib-net",
          f"{where}: --run-dir must be /var/run/squib-net (the macOS default, design brief §4)")
    check("--group" in used, f"{where}: --group names who may use the control socket")
    return used


def run_script(script, *args):
    return subprocess.run(["sh", script, *args], capture_output=True, text=True, timeout=30)


def check_install_script(path, plist_bytes):
    with open(path) as f:
        script = f.read()
    check(re.search(r'^PREFIX="\$\{PREFIX:-/opt/squib-net\}"$', script, re.M) is not None,
          "install-macos must default to the /opt/squib-net prefix the plist names")
    check("com.squib.netd.plist" in script or "$LABEL.plist" in script, "install-macos must install com.squib.netd.plist")
    match = re.search(r'WAIT_SECONDS="\$\{WAIT_SECONDS:-(\d+)\}"', script)
    check(match is not None, "install-macos must bound its wait for the old daemon (WAIT_SECONDS)")
    wait_seconds = int(match.group(1)) if match else None
    if shutil.which("sh") is None:
        return wait_seconds

    out = run_script(path, "--print-plist")
    check(out.returncode == 0 and out.stdout.encode() == plist_bytes,
          f"install-macos --print-plist must reproduce the plist file unchanged: {out.stderr.strip()}")

    gvproxy = "/opt/sq-test/libexec/gvproxy"
    out = run_script(path, "--print-plist", "--prefix", "/opt/sq-test", "--gvproxy", gvproxy)
    if check(out.returncode == 0, f"install-macos --print-plist --prefix --gvproxy failed: {out.stderr.strip()}"):
        generated = plistlib.loads(out.stdout.encode(), fmt=plistlib.FMT_XML)
        used = check_plist(generated, "generated plist", prefix="/opt/sq-test", wait_seconds=wait_seconds)
        argv = generated.get("ProgramArguments", [])
        check("--gvproxy" in used and argv[argv.index("--gvproxy") + 1] == gvproxy,
              "generated plist must pass --gvproxy with the absolute path given")
    out = run_script(path, "--print-plist", "--gvproxy", "gvproxy")
    check(out.returncode != 0, "install-macos --print-plist must refuse a relative --gvproxy")

    # /usr is root-owned and 0755 on macOS and Linux; the missing rest would be created.
    out = run_script(path, "--check-prefix", "/usr/squib-net-test/not-there")
    check(out.returncode == 0, f"install-macos --check-prefix must accept a prefix under /usr: {out.stderr.strip()}")
    for bad in ("/", "relative/prefix", "/opt/../etc", "/opt/a b", "/opt/squib-net/"):
        out = run_script(path, "--check-prefix", bad)
        check(out.returncode != 0, f"install-macos --check-prefix must refuse {bad!r}")
    with tempfile.TemporaryDirectory() as tmp:
        writable = os.path.join(tmp, "world-writable")
        os.mkdir(writable)
        os.chmod(writable, 0o777)
        out = run_script(path, "--check-prefix", os.path.join(writable, "squib-net"))
        check(out.returncode != 0 and "writable" in out.stderr,
              "install-macos --check-prefix must refuse a prefix under a world-writable directory")
        link = os.path.join(tmp, "link")
        os.symlink("/", link)
        out = run_script(path, "--check-prefix", os.path.join(link, "opt"))
        check(out.returncode != 0, "install-macos --check-prefix must refuse a path through a symlink")
    return wait_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plist", required=True)
    parser.add_argument("--install-script")
    parser.add_argument("--daemon")
    args = parser.parse_args()

    with open(args.plist, "rb") as f:
        data = f.read()
    check(data.startswith(b"<?xml"), "not an XML plist")
    plist = plistlib.loads(data, fmt=plistlib.FMT_XML)

    wait_seconds = check_install_script(args.install_script, data) if args.install_script else None
    used = check_plist(plist, args.plist, wait_seconds=wait_seconds)

    if args.daemon and used:
        out = subprocess.run([args.daemon, "--help"], capture_output=True, text=True, timeout=10)
        text = out.stdout + out.stderr
        for flag in set(used) | PROGRAM_FLAGS:
            check(flag in text, f"{args.daemon} --help does not mention {flag}")

    for message in failures:
        print(f"FAIL: {message}")
    if not failures:
        print(f"ok: {args.plist}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
