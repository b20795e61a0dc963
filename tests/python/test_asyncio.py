# SPDX-License-Identifier: MIT
"""asyncio: spans nest by context, not by thread or by time."""
from conftest import FACTS_HELPER


def test_gather_resumes_out_of_order(record):
    """Three tasks under asyncio.gather start in order 0, 1, 2 and resume in
    order 2, 1, 0 (their sleeps shrink): each task's llm call nests under
    its own task, every task under the workflow; the tokens add up."""
    r = record(FACTS_HELPER + '''
import asyncio, agentprof as ap

async def task(i):
    async with ap.span("task:%d" % i):
        await asyncio.sleep(0.03 - 0.01 * i)
        with ap.llm("gpt-4o") as s:
            pass
        with ap.span("call:%d" % i, "llm") as s:
            s.set_tokens("gpt-4o", 1000 + i, 10 * i)
            await asyncio.sleep(0.001)

async def main():
    async with ap.span("workflow") as w:
        await asyncio.gather(*(task(i) for i in range(3)))
    facts(enabled=ap.enabled(), trace=w.trace_id)

asyncio.run(main())
''')
    r.assert_clean(spans=1 + 3 * 3)
    n = r.nodes(repeated=("llm:gpt-4o",))
    assert r.facts["enabled"] is True
    for i in range(3):
        assert n["task:%d" % i]["parent"] == "workflow"
        assert n["call:%d" % i]["parent"] == "task:%d" % i
        assert n["call:%d" % i]["input_tokens"] == 1000 + i
    assert n["workflow"]["parent"] is None
    # llm:gpt-4o occurs three times: one operation of three calls
    assert r.op("llm:gpt-4o")["count"] == 3
    assert r.report["tokens"]["total_input"] == 3003
    assert r.report["tokens"]["total_output"] == 30
    assert r.report["structure"]["traces"] == 1


def test_create_task_and_end_in_another_task(record):
    """A task made with create_task inside span A nests under A even when A
    has ended before the task runs; a span begun with start() in one task
    and ended by another is one span, ended once."""
    r = record(FACTS_HELPER + '''
import asyncio, agentprof as ap

async def child(gate):
    await gate.wait()
    with ap.span("child"):
        await asyncio.sleep(0.001)

async def ender(h):
    await asyncio.sleep(0.002)
    with ap.span("ender"):
        h.end()
    h.end()       # a second end does nothing

async def main():
    with ap.span("workflow"):
        gate = asyncio.Event()
        with ap.span("A"):
            t = asyncio.create_task(child(gate))
        gate.set()
        await t
        h = ap.start("handoff", "internal")
        assert ap.current_span().name_id == ap.name_id("workflow")
        await asyncio.create_task(ender(h))
        facts(ended=h.ended)

asyncio.run(main())
''')
    r.assert_clean(spans=5)
    n = r.nodes()
    assert n["A"]["parent"] == "workflow"
    assert n["child"]["parent"] == "A"
    assert n["handoff"]["parent"] == "workflow"
    assert n["ender"]["parent"] == "workflow"
    assert r.facts["ended"] is True


def test_decorated_coroutines_and_plain_functions(record):
    """@ap.span on async def and def: the span is current inside, across
    awaits, and nests under the caller's span."""
    r = record(FACTS_HELPER + '''
import asyncio, agentprof as ap

@ap.span("tool:fetch", "tool")
async def fetch(i):
    await asyncio.sleep(0.001 * (3 - i))
    return helper(i)

@ap.span("helper", "internal")
def helper(i):
    return i * 2

class Agent:
    @ap.span("method")
    def run(self, x):
        return x + 1

async def main():
    with ap.span("workflow"):
        got = await asyncio.gather(*(fetch(i) for i in range(3)))
        m = Agent().run(1)
    facts(got=got, m=m, name=fetch.__name__, hname=helper.__name__, wrapped=helper.__wrapped__(5))

asyncio.run(main())
''')
    assert r.facts == {"got": [0, 2, 4], "m": 2, "name": "fetch", "hname": "helper", "wrapped": 10}
    r.assert_clean(spans=1 + 3 + 3 + 1)
    assert r.op("tool:fetch")["count"] == 3
    assert r.op("helper")["count"] == 3
    for t in r.report["traces"]:
        assert t["name"] == "workflow"
        kids = [c["name"] for c in t["children"]]
        assert sorted(kids) == ["method", "tool:fetch", "tool:fetch", "tool:fetch"]
        for c in t["children"]:
            if c["name"] == "tool:fetch":
                assert [g["name"] for g in c["children"]] == ["helper"]
