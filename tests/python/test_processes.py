# SPDX-License-Identifier: MIT
"""Processes: os.fork and multiprocessing "fork" nest the child's spans under
the span open at the fork, and the inherited span is ended once (by the
parent); "spawn" and subprocess with ap.child_env() put the child's root
spans under the parent's span."""
from conftest import FACTS_HELPER


def test_os_fork_and_multiprocessing_fork(record):
    r = record(FACTS_HELPER + '''
import multiprocessing as mp, os, agentprof as ap

def child_work(tag):
    with ap.span("child:" + tag):
        pass

with ap.span("parent") as p:
    pid = os.fork()
    if pid == 0:
        child_work("osfork")
        os._exit(0)         # leaves the inherited "parent" span open in the child: not its to end
    os.waitpid(pid, 0)
    pid2 = os.fork()
    if pid2 == 0:
        try:
            child_work("osfork2")
        finally:
            pass
        # ending the inherited span in the child records nothing
        p.__exit__(None, None, None)
        os._exit(0)
    os.waitpid(pid2, 0)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=child_work, args=("mp%d" % i,)) for i in range(2)]
    for q in procs: q.start()
    for q in procs: q.join()
facts(pids=[pid, pid2] + [q.pid for q in procs], codes=[q.exitcode for q in procs], me=os.getpid())
''')
    assert r.facts["codes"] == [0, 0]
    r.assert_clean(spans=1 + 4)
    n = r.nodes()
    assert n["parent"]["pid"] == r.facts["me"]
    for tag, pid in zip(["osfork", "osfork2", "mp0", "mp1"], r.facts["pids"]):
        assert n["child:" + tag]["parent"] == "parent"
        assert n["child:" + tag]["pid"] == pid
    assert len(r.report["processes"]) == 5


def test_spawn_and_subprocess_with_child_env(record):
    r = record(FACTS_HELPER + '''
import multiprocessing as mp, os, subprocess, sys, agentprof as ap

def spawned(tag):
    import agentprof as ap2
    with ap2.span("spawned:" + tag):
        pass

if __name__ == "__main__":
    with ap.span("parent") as p:
        code = "import agentprof as ap\\nwith ap.span('sub'):\\n    pass\\nprint(ap.traceparent() is None)"
        out = subprocess.run([sys.executable, "-c", code], env=ap.child_env(), capture_output=True, text=True)
        tp_env = ap.child_env()["TRACEPARENT"]
        saved = dict(os.environ)
        os.environ.update(ap.child_env())      # spawn starts the child with os.environ
        try:
            q = mp.get_context("spawn").Process(target=spawned, args=("s",))
            q.start(); q.join()
        finally:
            os.environ.clear(); os.environ.update(saved)
        facts(sub_out=out.stdout, sub_rc=out.returncode, code=q.exitcode, tp=tp_env, mine=p.traceparent())
''')
    assert r.facts["sub_rc"] == 0 and r.facts["code"] == 0
    assert r.facts["sub_out"].strip() == "False"   # the child's traceparent: the parent's span
    assert r.facts["tp"] == r.facts["mine"]
    r.assert_clean(spans=3)
    n = r.nodes()
    assert n["sub"]["parent"] == "parent"
    assert n["spawned:s"]["parent"] == "parent"
    assert len({n["sub"]["pid"], n["spawned:s"]["pid"], n["parent"]["pid"]}) == 3
    assert r.report["structure"]["traces"] == 1
