# SPDX-License-Identifier: MIT
"""Exceptions: the span records the exception's type name as its error,
and the exception leaves the span unchanged (same object, same
traceback). The reader counts errors per operation, names them on trace
nodes, keeps failed traces, flags an error rate over --rule error_pct,
and an event log keeps that threshold for `agentprof report`."""
import json
import os
import subprocess

from conftest import AGENTPROF, FACTS_HELPER

PROG = FACTS_HELPER + '''
import asyncio, agentprof as ap

class Boom(Exception):
    pass

def fails(i):
    with ap.tool("flaky"):
        if i == 1:
            raise Boom("call %d" % i)
    return i

@ap.span("decorated", "tool")
def deco(i):
    raise ValueError(i)

async def afail():
    async with ap.span("async_fail"):
        raise asyncio.TimeoutError()

seen = []
for i in range(3):
    with ap.span("root:%d" % i):
        try:
            fails(i)
        except Boom as e:
            seen.append((type(e).__name__, str(e), e.__traceback__.tb_next is not None))
exc = ValueError("x")
try:
    with ap.span("reraise"):
        raise exc
except ValueError as e:
    seen.append(e is exc)
try:
    deco(7)
except ValueError as e:
    seen.append(e.args)
try:
    asyncio.run(afail())
except asyncio.TimeoutError:
    seen.append("timeout")
with ap.span("manual") as m:
    m.set_error("RateLimited")
facts(seen=seen)
'''


def test_errors_recorded_and_propagated(record):
    r = record(PROG, record_args=["--log", "run.log"])
    assert r.facts["seen"] == [["Boom", "call 1", True], True, [7], "timeout"]
    r.assert_clean(spans=3 + 3 + 1 + 1 + 1 + 1)
    flaky = r.op("tool:flaky")
    assert (flaky["count"], flaky["errors"]) == (3, 1)
    assert r.op("reraise")["errors"] == 1
    assert r.op("decorated")["errors"] == 1
    assert r.op("async_fail")["errors"] == 1
    assert r.op("manual")["errors"] == 1
    for name in ("root:0", "root:1", "root:2"):
        assert r.op(name)["errors"] == 0
    s = r.report["structure"]
    assert (s["errors"], s["traces_failed"]) == (5, 5)
    n = r.nodes(repeated=("tool:flaky",))
    assert n["reraise"]["error"] == "ValueError"
    assert n["async_fail"]["error"] == "TimeoutError"
    assert n["manual"]["error"] == "RateLimited"
    assert n["root:0"]["error"] is None
    flaky_nodes = [c for t in r.report["traces"] for c in t["children"] if c["name"] == "tool:flaky"]
    assert sorted(str(c["error"]) for c in flaky_nodes) == ["Boom", "None", "None"]
    # failed traces are kept by the error rule first
    by = {t["name"]: t["kept_by"] for t in r.report["traces"]}
    assert by["root:1"] == "error" and by["reraise"] == "error"
    assert r.report["retention"]["retained_by"]["error"] == 5
    rules = [b["rule"] + ":" + b["span"] for b in r.report["bottlenecks"]]
    assert "error_rate:tool:flaky" in rules           # 1 of 3 > 10 %
    assert "failed: tool:flaky 1 of 3 calls (33.3%)" in r.text


def test_error_rule_threshold_persisted_in_the_log(record, tmp_path):
    r = record(PROG, record_args=["--rule", "error_pct=40", "--log", "run.log"])
    rules = [b["rule"] + ":" + b["span"] for b in r.report["bottlenecks"]]
    assert "error_rate:tool:flaky" not in rules       # 33 % is under 40 %
    assert "error_rate:manual" in rules               # 100 %
    out = tmp_path / "replay"
    p = subprocess.run([AGENTPROF, "report", "-q", "-o", str(out), str(tmp_path / "run.log")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(out / "report.json") as f:
        rep = json.load(f)
    assert [b["rule"] + ":" + b["span"] for b in rep["bottlenecks"]] == rules
    assert rep["operations"] == r.report["operations"]


def test_error_rule_refuses_bad_values(tmp_path):
    for bad in ("error_pct=101", "error_pct=-1", "error_pct=x", "error_pct="):
        p = subprocess.run([AGENTPROF, "record", "--rule", bad, "-o", str(tmp_path), "--", "true"],
                           capture_output=True, text=True)
        assert p.returncode != 0
        assert "error_pct" in p.stderr
    assert not os.path.exists(tmp_path / "report.json")
