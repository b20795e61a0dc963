# SPDX-License-Identifier: MIT
"""remote_parent: a traceparent received at run time (here through a pipe,
as a queue message would carry it) is adopted: spans begun inside nest
under the remote span, in its trace, in another process."""
from conftest import FACTS_HELPER


def test_remote_parent_from_a_message(record):
    r = record(FACTS_HELPER + '''
import os, subprocess, sys, agentprof as ap

worker = """
import sys, agentprof as ap
tp = sys.stdin.readline().strip()
with ap.remote_parent(tp) as rp:
    with ap.span('handler') as h:
        with ap.span('handler/step'):
            pass
    print(h.trace_id, rp.trace_id)
with ap.span('unrelated'):
    pass
"""
env = dict(os.environ)          # AGENTPROF_SHM only: no TRACEPARENT in the environment
env.pop("TRACEPARENT", None)
with ap.span("server") as s:
    p = subprocess.run([sys.executable, "-c", worker], input=s.traceparent() + "\\n", env=env,
                       capture_output=True, text=True)
facts(out=p.stdout.split(), rc=p.returncode, err=p.stderr, trace=s.trace_id)
''')
    assert r.facts["rc"] == 0, r.facts["err"]
    assert r.facts["out"] == [r.facts["trace"], r.facts["trace"]]
    r.assert_clean(spans=4)
    n = r.nodes()
    assert n["handler"]["parent"] == "server"
    assert n["handler/step"]["parent"] == "handler"
    assert n["unrelated"]["parent"] is None
    assert n["handler"]["pid"] != n["server"]["pid"]
