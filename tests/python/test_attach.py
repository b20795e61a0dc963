# SPDX-License-Identifier: MIT
"""Explicit attach and detach: a program that attaches by name (not from
its environment) hands the segment to its children through child_env();
after detach, spans are no-ops."""
from conftest import FACTS_HELPER


def test_attach_by_name_child_env_and_detach(record):
    r = record(FACTS_HELPER + '''
import os, subprocess, sys, agentprof as ap

seg = os.environ.pop("AGENTPROF_SHM")        # this process attaches by name instead
on = ap.attach(seg)
with ap.span("parent") as p:
    env = ap.child_env()
    code = "import agentprof as ap\\nwith ap.span('child'):\\n    pass"
    rc = subprocess.run([sys.executable, "-c", code], env=env).returncode
    rc_plain = subprocess.run([sys.executable, "-c", code.replace("'child'", "'orphan'")]).returncode
ap.detach()
with ap.span("after_detach") as a:
    pass
facts(on=on, rc=rc, rc_plain=rc_plain, shm=env.get("AGENTPROF_SHM") == seg, tp=env.get("TRACEPARENT") == p.traceparent(),
      after=a.recording, enabled=ap.enabled())
''')
    assert r.facts == {"on": True, "rc": 0, "rc_plain": 0, "shm": True, "tp": True, "after": False,
                       "enabled": False}
    r.assert_clean(spans=2)        # the child without child_env() had no segment: nothing recorded
    n = r.nodes()
    assert n["child"]["parent"] == "parent"
    assert "orphan" not in n and "after_detach" not in n
