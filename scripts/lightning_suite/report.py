"""Compare the two sides' JUnit reports: per-file pass counts and trainer_core's failures
where 1.0.8 passes, with the public-API pass rate.

    python scripts/lightning_suite/report.py pl10.xml core.xml [--measured]

--measured counts only the files the trainer_core side ran (a run of some test paths against
1.0.8 results of the whole tree).
"""

import fnmatch
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from classification import RULES


def outcomes(path: str) -> dict[str, tuple[str, str]]:
    """test id -> (outcome, first line of the failure message)."""
    result: dict[str, tuple[str, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        classname = case.get("classname", "")
        if not classname:  # a file that failed to collect
            name = case.get("name", "")
            name = name[name.find("tests.") :] if "tests." in name else name
            result[name.replace(".", "/") + ".py::<collection>"] = (
                "failed",
                "collection error",
            )
            continue
        parts = classname.split(".")
        # classname is dotted module path, possibly followed by a class name
        file_parts = [p for p in parts if not p[:1].isupper()]
        if "tests" in file_parts:  # drop whatever rootdir prefix pytest put in front
            file_parts = file_parts[file_parts.index("tests") :]
        class_parts = parts[len(file_parts) :]
        file = "/".join(file_parts) + ".py"
        test_id = "::".join([file, *class_parts, case.get("name", "")])
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                message = (
                    (child.get("message") or "").splitlines()[0][:160]
                    if child.get("message")
                    else ""
                )
            elif child.tag == "skipped":
                outcome = "skipped"
        result[test_id] = (outcome, message)
    return result


def category(test_id: str) -> tuple[str, str] | None:
    for pattern, kind, reason in RULES:
        if fnmatch.fnmatchcase(test_id, pattern):
            return kind, reason
    return None


def main(pl10_xml: str, core_xml: str, measured: bool = False) -> None:
    pl10, core = outcomes(pl10_xml), outcomes(core_xml)
    if measured:
        ran = {test_id.split("::")[0] for test_id in core}
        pl10 = {t: o for t, o in pl10.items() if t.split("::")[0] in ran}
    per_file: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    failures: list[tuple[str, str, str]] = []
    counted = {"public": [0, 0], "deliberate": [0, 0], "internal": [0, 0], "unsupported": [0, 0]}
    for test_id, (outcome, _) in sorted(pl10.items()):
        file = test_id.split("::")[0]
        core_outcome, message = core.get(test_id, ("missing", "not collected"))
        row = per_file[file]
        row[0] += 1
        row[1] += outcome == "passed"
        row[2] += core_outcome == "passed"
        if outcome != "passed":
            continue
        row[3] += core_outcome == "passed"
        found = category(test_id)
        kind = found[0] if found else "public"
        counted[kind][0] += 1
        counted[kind][1] += core_outcome == "passed"
        if core_outcome != "passed":
            failures.append((test_id, kind if found else "public", found[1] if found else message))
    print(f"{'file':60} {'tests':>5} {'1.0.8':>6} {'core':>5} {'both':>5}")
    for file, (total, ok_pl, ok_core, both) in sorted(per_file.items()):
        print(f"{file:60} {total:5d} {ok_pl:6d} {ok_core:5d} {both:5d}")
    totals = [sum(r[i] for r in per_file.values()) for i in range(4)]
    print(f"{'total':60} {totals[0]:5d} {totals[1]:6d} {totals[2]:5d} {totals[3]:5d}")
    print()
    for kind, (n, ok) in counted.items():
        rate = f"{100 * ok / n:.1f} %" if n else "-"
        print(f"1.0.8 passes, {kind:11}: {n:4d}; trainer_core passes {ok:4d} ({rate})")
    print("\ntrainer_core failures where 1.0.8 passes:")
    for test_id, kind, reason in failures:
        print(f"  [{kind}] {test_id}: {reason}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], measured="--measured" in sys.argv[3:])
