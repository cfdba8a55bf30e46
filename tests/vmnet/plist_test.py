#!/usr/bin/env python3
"""Validates launchd/com.squib.netd.plist on any OS (a `plutil -lint` stand-in).

Checks: the file parses as an XML property list; the required keys have the right types and
values; ProgramArguments names the binary that scripts/install-macos installs and only flags
squib-netd accepts (design brief §4), each value-taking flag followed by a value. With
--daemon PATH (a built squib-netd), also checks that its --help mentions every flag used.
"""
import argparse
import plistlib
import re
import subprocess
import sys

# squib-netd's flags (design brief §4): name -> takes a value.
ACCEPTED_FLAGS = {
    "--run-dir": True,
    "--control": True,
    "--group": True,
    "--config": True,
    "--log-level": True,
    "--foreground": False,
}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


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

    check(plist.get("Label") == "com.squib.netd", "Label must be com.squib.netd")
    check(plist.get("UserName") == "root", "UserName must be root (vmnet needs it)")
    check(plist.get("RunAtLoad") is True, "RunAtLoad must be true")
    check(plist.get("KeepAlive") is True, "KeepAlive must be true")
    check(plist.get("ProcessType") in ("Interactive", "Adaptive"), "ProcessType must be Interactive or Adaptive")
    for key in ("StandardErrorPath", "StandardOutPath"):
        value = plist.get(key)
        check(isinstance(value, str) and value.startswith("/"), f"{key} must be an absolute path")
    allowed = {"Label", "ProgramArguments", "UserName", "RunAtLoad", "KeepAlive", "ProcessType",
               "StandardErrorPath", "StandardOutPath"}
    check(set(plist) <= allowed, f"unexpected keys: {sorted(set(plist) - allowed)}")

    argv = plist.get("ProgramArguments")
    check(isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv),
          "ProgramArguments must be a non-empty array of strings")
    if not failures:
        check(argv[0] == "/usr/local/bin/squib-netd", "ProgramArguments[0] must be /usr/local/bin/squib-netd")
        i = 1
        used = []
        while i < len(argv):
            flag = argv[i]
            if flag not in ACCEPTED_FLAGS:
                check(False, f"squib-netd does not accept {flag!r}")
                i += 1
                continue
            used.append(flag)
            if ACCEPTED_FLAGS[flag]:
                check(i + 1 < len(argv) and not argv[i + 1].startswith("--"), f"{flag} needs a value")
                i += 2
            else:
                i += 1
        check("--foreground" in used, "launchd jobs must not daemonize: --foreground is required")
        check("--run-dir" in used and argv[argv.index("--run-dir") + 1] == "/var/run/squib-net",
              "--run-dir must be /var/run/squib-net (the macOS default, design brief §4)")
        check("--group" in used, "--group names who may use the control socket")

        if args.install_script:
            with open(args.install_script) as f:
                script = f.read()
            check(re.search(r"PREFIX=.*?/usr/local", script) is not None,
                  "install-macos must default to the /usr/local prefix the plist names")
            check("com.squib.netd.plist" in script, "install-macos must install com.squib.netd.plist")

        if args.daemon:
            out = subprocess.run([args.daemon, "--help"], capture_output=True, text=True, timeout=10)
            text = out.stdout + out.stderr
            for flag in used:
                check(flag in text, f"{args.daemon} --help does not mention {flag}")

    for message in failures:
        print(f"FAIL: {message}")
    if not failures:
        print(f"ok: {args.plist}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
