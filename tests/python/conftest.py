# SPDX-License-Identifier: MIT
"""Helpers of the Python tests: run a program under `agentprof record` and
read what the reader made of it.

Each test writes a small Python program, runs it under the real reader
(build/agentprof record) with the module from build/python, and checks
report.json against what the program knows it did: the program writes
its own facts (pids, ids, token sums) as JSON to the file named by
$FACTS. Every span a test checks has a unique name, so a parent link is
checked by name through the kept trees of report.json.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

AGENTPROF = os.environ.get("AP_AGENTPROF", "")
PYPATH = os.environ.get("AP_PYTHONPATH", "")
TEST_EXT = os.environ.get("AP_PY_TEST_EXT", "")
PYTHON = sys.executable


def _need_build():
    if not AGENTPROF or not os.path.exists(AGENTPROF) or not PYPATH:
        pytest.fail("AP_AGENTPROF and AP_PYTHONPATH are not set: run through `make check-python`")


class Run:
    def __init__(self, out, proc, facts_path):
        self.dir = out
        self.proc = proc
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        with open(os.path.join(out, "report.json")) as f:
            self.report = json.load(f)
        with open(os.path.join(out, "report.txt")) as f:
            self.text = f.read()
        self.facts = {}
        if os.path.exists(facts_path):
            with open(facts_path) as f:
                self.facts = json.load(f)

    def nodes(self, repeated=()):
        """Every node of every kept trace: name -> dict with 'parent' (the
        parent's name, None for a root) and 'root' (its trace root's name).
        Names are unique in these tests, but for those in `repeated` (left
        out of the map); another repeated name fails."""
        out = {}
        for tr in self.report["traces"]:
            stack = [(tr, None, tr["name"])]
            while stack:
                n, parent, root = stack.pop()
                if n["name"] not in repeated:
                    assert n["name"] not in out, "span name %r appears twice" % n["name"]
                    out[n["name"]] = dict(n, parent=parent, root=root)
                for c in n["children"]:
                    stack.append((c, n["name"], root))
                assert n["children_omitted"] == 0
        return out

    def op(self, name):
        for o in self.report["operations"]:
            if o["name"] == name:
                return o
        raise AssertionError("no operation %r in %s" % (name, [o["name"] for o in self.report["operations"]]))

    def assert_clean(self, spans=None):
        """Nothing lost, nothing twice, no orphan, nothing left open; and,
        when given, exactly `spans` spans."""
        c, s = self.report["counts"], self.report["structure"]
        assert self.proc.returncode == 0, self.stderr
        for k in ("dropped_full", "dropped_no_lane", "dropped_reentrant", "rejected", "duplicate_begin",
                  "duplicate_end", "spans_open", "spans_end_without_begin", "spans_tokens_only"):
            assert c[k] == 0, (k, c[k])
        assert s["orphans"] == 0
        assert s["truncated"] == 0
        assert self.report["retention"]["capped_out"] == 0
        if spans is not None:
            assert c["spans_complete"] == spans, (c["spans_complete"], spans)
            assert s["spans_in_trees"] == spans


@pytest.fixture
def record(tmp_path):
    """record(source, args=(), env=None, rc=0) -> Run: the program `source`
    run under `agentprof record`."""
    _need_build()

    def run(source, args=(), env=None, rc=0, record_args=()):
        prog = tmp_path / "prog.py"
        prog.write_text(textwrap.dedent(source))
        out = tmp_path / "out"
        facts = tmp_path / "facts.json"
        e = dict(os.environ)
        e.pop("AGENTPROF_SHM", None)
        e.pop("TRACEPARENT", None)
        e["PYTHONPATH"] = PYPATH + (":" + TEST_EXT if TEST_EXT else "")
        e["FACTS"] = str(facts)
        if env:
            e.update(env)
        cmd = [AGENTPROF, "record", "-q", "-o", str(out)] + list(record_args) + ["--", PYTHON, str(prog)] + list(args)
        p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
        assert p.returncode == rc, "agentprof record exited %d\nstdout:\n%s\nstderr:\n%s" % (
            p.returncode, p.stdout, p.stderr)
        return Run(str(out), p, str(facts))

    return run


@pytest.fixture
def plain(tmp_path):
    """plain(source, env=None) -> CompletedProcess: the program run with no
    segment (profiling off)."""
    _need_build()

    def run(source, env=None, args=()):
        prog = tmp_path / "plain.py"
        prog.write_text(textwrap.dedent(source))
        e = dict(os.environ)
        e.pop("AGENTPROF_SHM", None)
        e.pop("TRACEPARENT", None)
        e["PYTHONPATH"] = PYPATH + (":" + TEST_EXT if TEST_EXT else "")
        e["FACTS"] = str(tmp_path / "plain-facts.json")
        if env:
            e.update(env)
        return subprocess.run([PYTHON, str(prog)] + list(args), env=e, capture_output=True, text=True,
                              timeout=300, cwd=str(tmp_path))

    return run


FACTS_HELPER = '''
import json, os
def facts(**kw):
    path = os.environ["FACTS"]
    old = {}
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    old.update(kw)
    with open(path, "w") as f:
        json.dump(old, f)
'''
