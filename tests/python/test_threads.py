# SPDX-License-Identifier: MIT
"""Threads: a plain Thread starts with an empty context (its spans are
roots); a copied context, ap.wrap and ap.ThreadPoolExecutor carry the
span current where the work was handed over."""
from conftest import FACTS_HELPER


def test_threads_with_and_without_context(record):
    r = record(FACTS_HELPER + '''
import contextvars, threading, agentprof as ap

def work(tag):
    with ap.span("work:" + tag):
        with ap.span("inner:" + tag):
            pass

with ap.span("main"):
    ts = [threading.Thread(target=work, args=("plain",)),
          threading.Thread(target=contextvars.copy_context().run, args=(work, "copied")),
          threading.Thread(target=ap.wrap(work), args=("wrapped",))]
    for t in ts: t.start()
    for t in ts: t.join()
    with ap.ThreadPoolExecutor(max_workers=2) as ex:
        futs = [ex.submit(work, "pool%d" % i) for i in range(4)]
        got = [f.result() for f in futs]
facts(n=len(got))
''')
    r.assert_clean(spans=1 + 2 * 7)
    n = r.nodes()
    assert n["work:plain"]["parent"] is None          # a new root: empty context
    assert n["inner:plain"]["parent"] == "work:plain"
    for tag in ["copied", "wrapped"] + ["pool%d" % i for i in range(4)]:
        assert n["work:" + tag]["parent"] == "main", tag
        assert n["inner:" + tag]["parent"] == "work:" + tag
    assert r.report["structure"]["traces"] == 2
    assert n["work:copied"]["tid"] != n["main"]["tid"]
