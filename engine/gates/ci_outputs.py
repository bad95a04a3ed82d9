"""A run's verdicts as CI systems read them: JUnit XML (``--junit``) and a Markdown summary
(``--summary-markdown``, e.g. for GitHub's ``$GITHUB_STEP_SUMMARY``).

JUnit: one ``testsuite`` for the job; per configuration a case ``completed`` (fails when
its test did not end with a recommendation) and a case per threshold (fails when the
threshold does not hold or cannot be judged). The standard library writes the XML
(every value escaped by ElementTree), in the shape Jenkins, GitLab and GitHub's JUnit
reporters read: ``testsuites > testsuite > testcase > failure``. Both are pure
functions of the typed results; the caller writes them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from loadrec.engine.results.model import Benchmark, JobResults
from loadrec.engine.results.thresholds import Judgement, failed, judge

COMPLETED_CASE = "completed"


def junit_xml(*runs: JobResults) -> str:
    """The run as JUnit XML: a testsuite for it (for each repeat, with --repeat)."""
    root = ET.Element("testsuites", {"name": "loadrec"})
    suites = [_suite(run, f"{run.spec.name} repeat {n}" if len(runs) > 1 else run.spec.name)
              for n, run in enumerate(runs, 1)]  # fmt: skip
    for key in ("tests", "failures"):
        root.set(key, str(sum(int(suite.get(key) or 0) for suite in suites)))
    root.set("errors", "0")
    root.set("skipped", "0")
    root.set("time", f"{sum(float(suite.get('time') or 0) for suite in suites):.3f}")
    root.extend(suites)
    for element in root.iter():  # ElementTree escapes markup, not the characters XML 1.0 forbids outright
        element.attrib = {key: xml_safe(value) for key, value in element.attrib.items()}
        element.text = None if element.text is None else xml_safe(element.text)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with what XML 1.0 cannot hold (control characters, lone surrogates) written as escapes."""
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def _suite(results: JobResults, name: str) -> ET.Element:
    judgements = judge(results)
    cases: list[ET.Element] = []
    for benchmark in results.benchmarks:
        classname = f"{results.spec.name}.{benchmark.label}"
        cases.append(_completed_case(benchmark, classname))
        for judgement in (j for j in judgements if j.index == benchmark.index):
            case = ET.Element("testcase", classname=classname, name=str(judgement.threshold), time="0")
            if not judgement.passed:
                failure = ET.SubElement(case, "failure", message=judgement.detail, type="ThresholdFailed")
                failure.text = judgement.line()
            cases.append(case)
    failures = sum(1 for case in cases if case.find("failure") is not None)
    duration = f"{max(0.0, results.updated - results.created):.3f}"
    stamp = datetime.fromtimestamp(results.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0", "time": duration}
    suite = ET.Element("testsuite", {"name": name, "timestamp": stamp, **counts})
    suite.extend(cases)
    return suite


def _completed_case(benchmark: Benchmark, classname: str) -> ET.Element:
    seconds = 0.0
    if benchmark.start_epoch is not None and benchmark.end_epoch is not None:
        seconds = max(0.0, benchmark.end_epoch - benchmark.start_epoch)
    case = ET.Element("testcase", classname=classname, name=COMPLETED_CASE, time=f"{seconds:.3f}")
    if not benchmark.measured:
        why = benchmark.failure_reason or benchmark.stop_reason or "no recommendation"
        failure = ET.SubElement(case, "failure", message=f"{benchmark.status.value}: {why}", type="NotCompleted")
        failure.text = benchmark.summary()
    return case


def markdown_summary(results: JobResults, repeat: int | None = None) -> str:
    """The run as Markdown: its status, the recommendation table, and each threshold's verdict."""
    judgements = judge(results)
    name = results.spec.name if repeat is None else f"{results.spec.name} (repeat {repeat})"
    lines = [f"## loadrec: {markdown_cell(name)}: {results.status.aws}", ""]
    if judgements:
        lines += [_tally(judgements), ""]
    lines += [
        "| | Configuration | Status | MaxInvocations | ModelLatency (ms) | Instances | Cost/hour | Cost/inference |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    top = results.top
    for benchmark in results.in_rank_order:
        sizing = benchmark.sizing if benchmark.measured else None
        mark = "⭐" if top is not None and benchmark.index == top.index else ""
        latency = None if sizing is None or sizing.model_latency_us is None else sizing.model_latency_us / 1000
        cells = [
            mark, markdown_cell(benchmark.label), benchmark.status.value,
            _number(sizing.max_invocations if sizing else None, "{:,}"), _number(latency, "{:.1f}"),
            _number(sizing.initial_instance_count if sizing else None, "{}"),
            _number(sizing.cost_per_hour if sizing else None, "{:.3f}"),
            _number(sizing.cost_per_inference if sizing else None, "{:.3e}"),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if results.failure_reason:
        lines += ["", f"FailureReason: {markdown_cell(results.failure_reason)}"]
    if judgements:
        lines += ["", "### Thresholds", "", "| Configuration | Threshold | Value | Result |", "|---|---|---:|---|"]
        for j in judgements:
            result = "✅ passed" if j.passed else f"❌ failed: {markdown_cell(j.detail)}"
            lines.append(
                f"| {markdown_cell(j.configuration)} | `{j.threshold}` | {_number(j.value, '{:.6g}')} | {result} |"
            )
    return "\n".join(lines) + "\n"


def _tally(judgements: Sequence[Judgement]) -> str:
    bad = failed(judgements)
    if not bad:
        return f"**All {len(judgements)} thresholds passed.**"
    return f"**{len(bad)} of {len(judgements)} thresholds failed.**"


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


# What marks text up inside a line (a cell never starts a line, so # + - need nothing).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~!])")


def markdown_cell(text: str) -> str:
    """``text`` (a name or a reason from the job or the endpoint) as literal Markdown in one table cell: its
    markup escaped, HTML's brackets as entities, on one line."""
    text = " ".join(text.split())
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
