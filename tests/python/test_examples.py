# SPDX-License-Identifier: MIT
"""The examples in writer-lib/python/examples/ run under agentprof record
and report what they say (at a tenth of their sleeps: the figures here are
the structure, the tokens and the dependencies, which do not depend on the
machine's speed; README gives the timed figures at full scale)."""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "writer-lib", "python", "examples"))
OPS = {"workflow": 2, "context_assembly": 2, "memory:retrieve": 2, "build_prompt": 2, "llm:classify": 2,
       "tool:search_kb": 2, "llm:synthesize": 2, "tool:format": 2}


def run_example(record, name, *args):
    with open(os.path.join(EXAMPLES, name)) as f:
        src = "import sys\nsys.path.insert(0, %r)\n" % EXAMPLES + f.read()
    return record(src, args=args, env={"AGENTPROF_EXAMPLE_SCALE": "0.1"})


def check_workflow(r, traces):
    for name, _ in OPS.items():
        assert r.op(name)["count"] == traces, name
    assert r.op("llm:classify")["input_tokens"] == 450 * traces
    assert r.op("llm:synthesize")["output_tokens"] == 800 * traces
    groups = {(g["parent"], tuple(g["spans"])): g for g in r.report["parallelism"]}
    g = groups[("workflow", ("llm:classify", "tool:search_kb"))]
    assert g["assumed_independent"] is False and g["occurrences"] == traces


@pytest.mark.parametrize("name", ["first_profile.py", "workflow_deps.py"])
def test_reference_workflow_examples(record, name):
    r = run_example(record, name, "2")
    r.assert_clean(spans=2 * 8)
    check_workflow(r, 2)


def test_token_table_example(record):
    r = run_example(record, "token_table.py", "2")
    r.assert_clean(spans=2 * 8 + 2)
    printed = [line.split() for line in r.stdout.splitlines()[1:]]
    expect = {p[0]: (int(p[1]), int(p[2])) for p in printed}
    assert expect == {"gpt-4o-mini": (2100, 100), "gpt-4o": (25000, 1600)}
    t = r.report["tokens"]
    assert t["total_input"] == 2100 + 25000 and t["total_output"] == 100 + 1600
    assert r.op("llm:gpt-4o-mini")["input_tokens"] == 1200
    # the report's table is the one the program printed
    rows = {m["model"]: (m["input"], m["output"]) for m in t["by_model"]}
    assert rows == expect


def test_sequential_vs_parallel_example(record):
    r = run_example(record, "sequential_vs_parallel.py", "1")
    r.assert_clean(spans=2 * 8)
    lines = r.stdout.split("\n")
    assert lines[0].startswith("sequential") and lines[1].startswith("parallel")
    # one workflow awaited classify then search_kb, the other gathered them:
    # both are children of their workflow, and under one of them they overlap
    wfs = [t for t in r.report["traces"] if t["name"] == "workflow"]
    assert len(wfs) == 2
    for w in wfs:
        names = sorted(c["name"] for c in w["children"])
        assert names == ["context_assembly", "llm:classify", "llm:synthesize", "tool:format", "tool:search_kb"]
    overlaps = []
    for w in wfs:
        kids = {c["name"]: c for c in w["children"]}
        a, b = kids["llm:classify"], kids["tool:search_kb"]
        overlaps.append(a["start_ns"] < b["start_ns"] + b["dur_ns"] and b["start_ns"] < a["start_ns"] + a["dur_ns"])
    assert sorted(overlaps) == [False, True]
