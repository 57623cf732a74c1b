"""The end of a CI log: tests executed per run and in all (from each run's JUnit XML), and line
coverage of the app packages with both runs combined (the .coverage file both runs appended to).

The last line is the plain `total: N passed, N failed, N skipped` that CI's reader looks for.
"""

from __future__ import annotations

import io
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def outcomes(path: Path) -> dict[str, str]:
    """test id -> passed | failed | skipped."""
    results: dict[str, str] = {}
    if not path.exists():
        return results
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314 (our own run wrote it)
        test_id = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            results[test_id] = "failed"
        elif case.find("skipped") is not None:
            results.setdefault(test_id, "skipped")
        else:
            results.setdefault(test_id, "passed")
    return results


def main(paths: list[str]) -> int:
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    executed: set[str] = set()
    for name in paths:
        results = outcomes(Path(name))
        counts = {kind: sum(1 for v in results.values() if v == kind) for kind in totals}
        for kind, count in counts.items():
            totals[kind] += count
        executed |= {test_id for test_id, v in results.items() if v != "skipped"}
        print(
            f"{Path(name).stem:>10}: {counts['passed'] + counts['failed']} executed "
            f"({counts['passed']} passed, {counts['failed']} failed), {counts['skipped']} skipped"
        )
    print(f"{'distinct':>10}: {len(executed)} tests executed in one run or both")
    try:
        import coverage

        cov = coverage.Coverage()
        cov.load()
        percent = cov.report(file=io.StringIO())
        print(f"{'coverage':>10}: {percent:.1f} % of the app packages' lines, both runs combined")
    except Exception as exc:  # no data (a run that never started) must not hide the counts
        print(f"{'coverage':>10}: not available ({type(exc).__name__}: {exc})")
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if totals["failed"] or not executed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
