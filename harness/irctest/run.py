"""Runs irctest against chat-server and checks the result against a baseline.

    run.py --irctest-dir DIR [--marks EXPR] [--baseline FILE] [--write-baseline]

Most of irctest fails against our server today, so failures alone do not fail
the run. The baseline file names the tests that passed when it was written;
the run fails only if one of those no longer passes (a regression, named),
or if pytest itself could not run. Tests passing beyond the baseline are
listed so they can be added: --write-baseline rewrites the file from this
run (`make irctest-baseline`).

irctest needs pytest from Debian (python3-pytest, for /usr/bin/python3): if
this interpreter lacks it, it is installed with apt-get when we can, and the
run says why not when we cannot. See docs/IRCTEST.md.
"""

import argparse
import importlib.util
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple
import xml.etree.ElementTree as ET

HERE = Path(__file__).resolve().parent
CONTROLLER = "chat_controller"  # chat_controller.py beside this file
ALL_TESTS = "irctest/server_tests/"
DEFAULT_MARKS = "not Ergo and not deprecated and not strict and not services"

# pytest's exit codes 0 (all passed) and 1 (some failed) mean the tests ran;
# anything else (interrupted, internal error, usage error, no tests) is a
# broken run, never to be taken for a result.
PYTEST_RAN = (0, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--irctest-dir", required=True, type=Path,
                   help="the irctest checkout (read-only: pytest writes no cache there)")
    p.add_argument("--marks", default=DEFAULT_MARKS, help="pytest -m expression")
    p.add_argument("--baseline", type=Path, default=HERE / "baseline.txt")
    p.add_argument("--write-baseline", action="store_true",
                   help="rewrite the baseline with the tests that pass in this run")
    p.add_argument("tests", nargs="*", default=[ALL_TESTS],
                   help="test paths or node IDs, relative to --irctest-dir")
    args = p.parse_args()

    if not (args.irctest_dir / "irctest" / "server_tests").is_dir():
        return fail(f"{args.irctest_dir} is not an irctest checkout "
                    "(set IRCTEST_DIR to the folder holding irctest/server_tests)")
    full = args.tests == [ALL_TESTS]
    if args.write_baseline and not full:
        return fail("--write-baseline takes the whole selection: leave out the test paths")
    why = ensure_pytest()
    if why:
        return fail(f"pytest is missing for {sys.executable} and {why}; "
                    "install it with: apt-get install -y python3-pytest")

    tmp = Path(tempfile.mkdtemp(prefix="chat-irctest-"))
    try:
        started = time.monotonic()
        code, outcomes = run_pytest(args.irctest_dir, args.marks, args.tests, tmp)
        took = time.monotonic() - started
    finally:
        shutil.rmtree(tmp)
    if code not in PYTEST_RAN or not outcomes:
        return fail(f"pytest did not run the tests (exit status {code})")

    # A server that exited before it listened (ProcessStopped, in the test's
    # setup) has failed no test of the protocol; if it happens to a test of
    # the baseline, that test runs once more on its own, and the run says so.
    stopped = [t for t in read_baseline(args.baseline)
               if outcomes.get(t, ("", ""))[0] == "failed" and "ProcessStopped" in outcomes[t][1]]
    if stopped:
        print(f"irctest: the server did not start for {len(stopped)} tests of the baseline; "
              "running them once more:")
        for t in stopped:
            print(f"  {t}: {first_line(outcomes[t][1])}")
        tmp = Path(tempfile.mkdtemp(prefix="chat-irctest-"))
        try:
            _, again = run_pytest(args.irctest_dir, args.marks, stopped, tmp)
        finally:
            shutil.rmtree(tmp)
        outcomes.update(again)

    passed = sorted(t for t, (o, _) in outcomes.items() if o == "passed")
    count = {o: sum(1 for v, _ in outcomes.values() if v == o)
             for o in ("passed", "failed", "skipped")}
    baseline = read_baseline(args.baseline)
    print(f"irctest: {len(outcomes)} tests in {took:.0f}s: {count['passed']} passed, "
          f"{count['failed']} failed, {count['skipped']} skipped "
          f"(baseline: {len(baseline)} passing)")

    if args.write_baseline:
        write_baseline(args.baseline, passed)
        print(f"irctest: wrote {len(passed)} passing tests to {args.baseline}")
        return 0

    # A narrower run (one file, a node ID) says nothing about the baseline's
    # other tests; a full one that lacks a baseline test lost it.
    regressed = sorted(t for t in baseline
                       if (t in outcomes or full) and outcomes.get(t, ("not run",))[0] != "passed")
    new = [t for t in passed if t not in baseline]
    if new:
        print(f"irctest: {len(new)} tests pass that the baseline does not list "
              "(add them with `make irctest-baseline`):")
        for t in new:
            print(f"  {t}")
    if regressed:
        print(f"irctest: {len(regressed)} tests of the baseline no longer pass:")
        for t in regressed:
            outcome, message = outcomes.get(t, ("not run", "not in this run's selection"))
            print(f"  {t}: {outcome}: {first_line(message)}")
        print(f"irctest: run one again with its I/O: cd {args.irctest_dir} && "
              f"CHAT_BIN_DIR={os.environ.get('CHAT_BIN_DIR', 'bin')} "
              f"PYTHONPATH={HERE} {sys.executable} -m pytest -p no:cacheprovider "
              f"--controller {CONTROLLER} -vv TEST")
        return 1
    return 0


def ensure_pytest() -> Optional[str]:
    """Installs python3-pytest unless this interpreter has pytest, and says
    why it could not (None when pytest is there)."""
    if importlib.util.find_spec("pytest"):
        return None
    if not shutil.which("apt-get"):
        return "there is no apt-get"
    if os.geteuid() != 0:
        return "apt-get needs root"
    print("irctest: pytest is missing; installing python3-pytest with apt-get", flush=True)
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "python3-pytest"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(install, env=env).returncode != 0:
        # A fresh image has empty package lists: read them, then try again.
        subprocess.run(["apt-get", "update", "-q"], env=env)
        if subprocess.run(install, env=env).returncode != 0:
            return "apt-get could not install python3-pytest"
    importlib.invalidate_caches()
    if not importlib.util.find_spec("pytest"):
        return "python3-pytest was installed but this interpreter does not see it"
    return None


def run_pytest(irctest_dir: Path, marks: str, tests: List[str],
               tmp: Path) -> Tuple[int, Dict[str, Tuple[str, str]]]:
    """Runs irctest's server tests with our controller and returns pytest's
    exit status and each test's outcome and message, by node ID."""
    junit = tmp / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
           "--controller", CONTROLLER, "-m", marks, f"--junitxml={junit}",
           # Progress only: the outcomes come from the XML, and a failing
           # test's traceback (with the whole I/O) would bury the summary.
           "-q", "--tb=no", "-rN", "--no-header", *tests]
    env = dict(os.environ)
    # irctest keeps the ports its servers use in $TMPDIR/irctest_ports.json,
    # unlocked outside pytest-xdist: two runs sharing /tmp (two checkouts,
    # a run beside CI) can corrupt it and fail each other's tests. A TMPDIR
    # of this run's own keeps that file, and every server's directory, apart
    # and removed with it.
    env["TMPDIR"] = str(tmp)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    print(f"irctest: cd {irctest_dir} && PYTHONPATH={HERE} " + " ".join(
        f'"{a}"' if " " in a else a for a in cmd), flush=True)
    code = subprocess.run(cmd, cwd=irctest_dir, env=env).returncode
    return code, read_junit(junit) if junit.exists() else {}


def read_junit(path: Path) -> Dict[str, Tuple[str, str]]:
    """Maps each test's node ID (irctest/server_tests/FILE.py::CLASS::NAME,
    what pytest takes on its command line) to its outcome and message."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        # classname is the dotted module and class: irctest.server_tests.join.JoinTestCase
        module, _, cls = case.get("classname", "").rpartition(".")
        node = f"{module.replace('.', '/')}.py::{cls}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = "failed", child.get("message", "")
            elif child.tag == "skipped":
                outcome, message = "skipped", child.get("message", "")
        outcomes[node] = (outcome, message)
    return outcomes


def read_baseline(path: Path) -> List[str]:
    if not path.exists():
        return []
    lines = (l.strip() for l in path.read_text().splitlines())
    return [l for l in lines if l and not l.startswith("#")]


def write_baseline(path: Path, passed: List[str]) -> None:
    header = [
        "# irctest tests chat-server passes: `make irctest` fails if one of them stops passing.",
        "# Written by `make irctest-baseline`; see docs/IRCTEST.md.",
        f"# {len(passed)} tests",
    ]
    path.write_text("\n".join(header + passed) + "\n")


def first_line(s: str) -> str:
    return s.strip().splitlines()[0][:200] if s.strip() else "(no message)"


def fail(why: str) -> int:
    print(f"irctest: {why}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
