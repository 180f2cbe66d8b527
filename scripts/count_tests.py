#!/usr/bin/env python3
"""Sums test cases over Bazel's test.xml files and prints 'N passed, N failed'.

A test target that did not run (failed to build, timed out, crashed without
XML) counts as one failure, so nothing can fail silently.
"""
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

STATUS = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED|TIMEOUT|FAILED TO BUILD|NO STATUS|FLAKY|INCOMPLETE)")


def main() -> int:
    output = Path(sys.argv[1]).read_text(errors="replace").splitlines()
    passed = failed = skipped = 0
    for line in output:
        match = STATUS.match(line)
        if not match:
            continue
        target, status = match.groups()
        package, name = target[2:].split(":")
        xml_file = Path("bazel-testlogs") / package / name / "test.xml"
        tests = failures = skips = 0
        if status in ("PASSED", "FAILED", "FLAKY") and xml_file.exists():
            for suite in ElementTree.parse(xml_file).getroot().iter("testsuite"):
                tests += int(suite.get("tests", 0))
                failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
                skips += int(suite.get("skipped", 0)) + int(suite.get("disabled", 0))
        if status != "PASSED":
            failures = max(failures, 1)
            tests = max(tests, failures)
        passed += tests - failures - skips
        failed += failures
        skipped += skips
    # The totals line comes last and exactly as CI reads it; skips (GPU tests
    # on a machine without a GPU) are reported on the line before.
    if skipped:
        print(f"{skipped} skipped")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
