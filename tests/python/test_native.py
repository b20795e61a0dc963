# SPDX-License-Identifier: MIT
"""A C extension recording with the C API (ap_begin, the thread stack)
inside a Python span: under ap.native() its spans nest under the Python
span; outside it they are roots. One writer state: one lane per thread."""
from conftest import FACTS_HELPER


def test_c_span_inside_python_span(record):
    r = record(FACTS_HELPER + '''
import agentprof as ap, apcext

with ap.span("py:outer"):
    with ap.span("py:inner") as s:
        with ap.native():
            cid = apcext.c_span("c:nested")
        apcext.c_span("c:root")
facts(stats=ap.stats())
''')
    r.assert_clean(spans=2 + 2 + 2)
    n = r.nodes()
    assert n["c:nested"]["parent"] == "py:inner"
    assert n["c:nested/child"]["parent"] == "c:nested"
    assert n["c:root"]["parent"] is None
    assert n["c:root/child"]["parent"] == "c:root"
    assert n["c:nested"]["tid"] == n["py:inner"]["tid"]
    proc = r.report["processes"]
    assert len(proc) == 1 and proc[0]["lanes_claimed"] == 1    # one writer state, one lane
    # the module's counters are the C library's: both kinds of span in them
    assert r.facts["stats"]["recorded"] == 2 * 6 == r.report["counts"]["read"]
