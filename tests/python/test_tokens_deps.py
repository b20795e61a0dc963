# SPDX-License-Identifier: MIT
"""Tokens and declared dependencies, as the C demo's workflow declares them."""
from conftest import FACTS_HELPER


def test_tokens_and_dependencies(record):
    r = record(FACTS_HELPER + '''
import time, agentprof as ap

def workflow(k):
    with ap.span("workflow"):
        with ap.span("context_assembly") as ca:
            with ap.memory("retrieve"):
                time.sleep(0.002)
        with ap.llm("gpt-4o-mini") as cl:
            cl.depends_on(ca)
            time.sleep(0.003)
            cl.set_tokens(450 + k, 30)
        with ap.tool("search_kb") as sk:
            sk.depends_on(ca)
            time.sleep(0.002)
        with ap.span("llm:synthesize", ap.LLM) as sy:
            sy.depends_on(cl); sy.depends_on(sk)
            sy.set_tokens("gpt-4o", 12500, 800 + k)
            time.sleep(0.002)

for k in range(4):
    workflow(k)
facts(ok=True)
''')
    r.assert_clean(spans=4 * 6)
    assert r.op("llm:gpt-4o-mini")["input_tokens"] == 4 * 450 + 6
    assert r.op("llm:synthesize")["output_tokens"] == 4 * 800 + 6
    assert r.op("memory:retrieve")["category"] == "memory"
    assert r.op("tool:search_kb")["category"] == "tool"
    t = r.report["tokens"]
    assert t["total_input"] == 4 * (450 + 12500) + 6
    assert t["total_output"] == 4 * (30 + 800) + 6
    assert t["calls_total"] == 8
    groups = {tuple(g["spans"]): g for g in r.report["parallelism"]}
    # classify and search_kb both depend only on context_assembly: they could run together
    g = groups[("llm:gpt-4o-mini", "tool:search_kb")]
    assert g["parent"] == "workflow" and g["occurrences"] == 4 and g["assumed_independent"] is False
    assert r.report["structure"]["deps_ignored"] == 0
