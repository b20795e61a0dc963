# SPDX-License-Identifier: MIT
"""A million spans leak nothing: reference counts of the names and of the
objects handed in are unchanged, and the process's RSS stays flat."""
from conftest import FACTS_HELPER


def test_million_spans_flat(record):
    r = record(FACTS_HELPER + '''
import gc, sys, agentprof as ap

def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

name, model = "loop:span", "gpt-4o"
other = ap.start("other")
def burst(n):
    for i in range(n):
        with ap.span(name, "tool") as s:
            s.set_tokens(model, 1, 1)
            s.depends_on(other)
        with ap.llm(model):
            pass

burst(10000)
gc.collect()
refs = (sys.getrefcount(name), sys.getrefcount(model), sys.getrefcount(other))
before = rss_kib()
for _ in range(49):
    burst(10000)
gc.collect()
after = rss_kib()
other.end()
facts(refs_before=refs, refs_after=(sys.getrefcount(name), sys.getrefcount(model), sys.getrefcount(other)),
      rss_before=before, rss_after=after, blocks=sys.getallocatedblocks())
''', record_args=["--max-traces", "10"])
    f = r.facts
    assert f["refs_before"] == f["refs_after"]
    assert f["rss_after"] - f["rss_before"] < 2048, (f["rss_before"], f["rss_after"])   # KiB
    c = r.report["counts"]
    assert c["spans_complete"] + c["spans_over_cap"] >= 1
    assert c["duplicate_end"] == 0 and c["duplicate_begin"] == 0
