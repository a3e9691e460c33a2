#!/usr/bin/python3
"""Turn a Tempest subunit v2 stream into pass/fail/skip lists and apply the ratchet.

Used by tests/tempest/run.sh; runs under the Debian Python (python3-subunit, python3-testtools).

    results.py --service identity --subunit results.subunit --out build/tempest/identity \
               --pass-list tests/tempest/identity.pass --interop tests/tempest/interop/identity.txt \
               [--update]

Writes OUT/passed.txt, OUT/failed.txt, OUT/skipped.txt (test ids without the "[...]" attribute
suffix, sorted) and OUT/failures.txt (tracebacks). Prints the tests that passed but are not in the
pass list, the interop count and the line `tempest-SERVICE: N passed, N failed, N skipped`.
Exit status: 1 if a test named in the pass list did not pass (or the stream held no test result),
0 otherwise. --update adds the new passes to the pass list (sorted; comment lines kept on top).
"""

import argparse
import re
import sys
from pathlib import Path

import subunit
import testtools

PASS = {"success", "xfail"}
# "inprogress" as a final status: the test started and never finished (worker died).
FAIL = {"fail", "uxsuccess", "inprogress"}
SKIP = {"skip"}

_ATTRS = re.compile(r"\[[^\]]*\]$")


def strip_attrs(test_id):
    """tempest.api.x.Test.test_y[id-...,smoke] -> tempest.api.x.Test.test_y"""
    return _ATTRS.sub("", test_id)


def read_stream(path):
    """{full test id: (status, details)} from a subunit v2 file (final status per test)."""
    results = {}

    def on_test(test):
        status = test["status"]
        if status in PASS | FAIL | SKIP:
            results[test["id"]] = (status, test["details"])

    with open(path, "rb") as f:
        stream = subunit.ByteStreamToStreamResult(f, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        try:
            stream.run(result)
        finally:
            result.stopTestRun()
    return results


def read_list(path):
    """Non-blank, non-comment lines of a file ([] when it does not exist)."""
    p = Path(path)
    if not p.exists():
        return []
    return [ln.strip() for ln in p.read_text().splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def detail_text(details):
    out = []
    for name, content in details.items():
        if name in ("traceback", "reason") or name.startswith("traceback"):
            try:
                out.append("".join(content.iter_text()))
            except Exception:  # noqa: BLE001 - a detail we cannot decode is not worth failing for
                pass
    return "\n".join(out).strip()


def write_list(path, ids):
    Path(path).write_text("".join(f"{i}\n" for i in sorted(ids)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--service", required=True)
    ap.add_argument("--subunit", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pass-list", required=True)
    ap.add_argument("--interop")
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = read_stream(args.subunit)

    passed_full = sorted(i for i, (s, _) in results.items() if s in PASS)
    passed = {strip_attrs(i) for i in passed_full}
    failed = {strip_attrs(i) for i, (s, _) in results.items() if s in FAIL}
    skipped = {strip_attrs(i) for i, (s, _) in results.items() if s in SKIP}
    write_list(out / "passed.txt", passed)
    write_list(out / "failed.txt", failed)
    write_list(out / "skipped.txt", skipped)
    with open(out / "failures.txt", "w") as f:
        for i, (s, details) in sorted(results.items()):
            if s in FAIL:
                why = detail_text(details) or ("(never finished)" if s == "inprogress" else "")
                f.write(f"=== {i}\n{why}\n\n")

    svc = args.service
    pass_list_path = Path(args.pass_list)
    listed = read_list(pass_list_path)
    listed_set = set(listed)

    # Passes that the ratchet does not hold yet.
    new = sorted(passed - listed_set)
    if new:
        if args.update:
            comments = [ln for ln in (pass_list_path.read_text().splitlines()
                                      if pass_list_path.exists() else [])
                        if ln.lstrip().startswith("#")]
            body = sorted(listed_set | passed)
            pass_list_path.write_text("".join(f"{ln}\n" for ln in comments + body))
            print(f"{len(new)} newly passing test(s) added to {pass_list_path}:")
        else:
            print(f"{len(new)} test(s) pass but are not in {pass_list_path}:")
        for i in new:
            print(f"  + {i}")
        if not args.update:
            print(f"  (tests/tempest/run.sh {svc} --update appends them and sorts)")

    # Interop: each line is a regex over full test ids (with the [...] suffix).
    if args.interop and Path(args.interop).exists():
        patterns = read_list(args.interop)
        missing = [p for p in patterns if not any(re.match(p, i) for i in passed_full)]
        print(f"interop {svc}: {len(patterns) - len(missing)}/{len(patterns)} passed")
        for p in missing:
            print(f"  - {p}")

    # Ratchet: everything in the pass list must have passed.
    def status_of(test_id):
        if test_id in failed:
            return "failed"
        if test_id in skipped:
            return "skipped"
        return "not run"

    regressed = [i for i in listed if i not in passed]
    rc = 0
    if regressed:
        print(f"RATCHET FAILED: {len(regressed)} test(s) in {pass_list_path} did not pass:")
        for i in regressed:
            print(f"  ! {i} ({status_of(i)})")
        rc = 1
    if not results:
        print(f"no test results in {args.subunit}")
        rc = 1
    print(f"tempest-{svc}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    # The ratchet verdict last: the listed tests that passed, and those that did not.
    print(f"ratchet-{svc}: {len(listed) - len(regressed)} passed, {len(regressed)} failed")
    return rc


if __name__ == "__main__":
    sys.exit(main())
