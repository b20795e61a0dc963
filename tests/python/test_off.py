# SPDX-License-Identifier: MIT
"""Profiling off (no segment, or a segment that is not there): importing
agentprof never fails, every call is a no-op, nothing is printed, and the
program's output is the same as under the reader."""
import json
import os

from conftest import FACTS_HELPER

PROG = FACTS_HELPER + '''
import asyncio, os, subprocess, sys, agentprof as ap

@ap.span("deco")
def f(x):
    return x * 3

@ap.span("gen")
def g():
    yield 1
    yield 2

async def main():
    async with ap.llm("gpt-4o") as s:
        s.set_tokens(10, 20)
    return "async-ok"

with ap.span("root", "tool") as s:
    s.set_tokens("m", 1, 2)
    s.depends_on(s)
    with ap.remote_parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"):
        x = ap.start("h")
        x.end()
    print(f(2), list(g()), asyncio.run(main()))
    try:
        with ap.tool("t"):
            raise KeyError("k")
    except KeyError as e:
        print("caught", e)
env = ap.child_env()
facts(enabled=ap.enabled(), tp=ap.traceparent(), span_tp=s.traceparent(), recording=s.recording,
      same_env=(env == dict(os.environ)), stats=ap.stats(), id=s.id)
'''


def test_off_is_a_noop_and_output_unchanged(plain, record):
    on = record(PROG)
    off = plain(PROG)
    assert off.returncode == 0
    assert off.stderr == ""
    assert off.stdout == on.stdout == "6 [1, 2] async-ok\ncaught 'k'\n"
    with open(off.args[1].replace("plain.py", "plain-facts.json")) as fh:
        facts = json.load(fh)
    assert facts["enabled"] is False
    assert facts["tp"] is None and facts["span_tp"] is None and facts["recording"] is False
    assert facts["same_env"] is True
    assert facts["id"] == 0
    assert facts["stats"]["recorded"] == 0
    # and with a segment named that does not exist
    missing = plain(PROG, env={"AGENTPROF_SHM": "/agentprof-missing-%d" % os.getpid()})
    assert missing.returncode == 0 and missing.stderr == ""
    assert missing.stdout == on.stdout
    # under the reader the same program recorded its spans
    assert on.facts["enabled"] is True and on.facts["recording"] is True


def test_attach_error_raises_agentprof_error(plain):
    p = plain('''
import agentprof as ap
try:
    ap.attach("/agentprof-no-such-segment")
except ap.Error as e:
    print("Error:", "cannot attach" in str(e))
print(ap.enabled())
with ap.span("x") as s:
    print(s.recording)
''')
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Error: True\nFalse\nFalse\n"


def test_without_the_extension_import_still_works(plain, tmp_path):
    """No C extension (not built for this interpreter, libagentprof.so.1
    gone): the package falls back to inert spans, the program's output is
    unchanged, and attach() says why it cannot record."""
    import shutil
    from conftest import PYPATH
    pkg = tmp_path / "noext" / "agentprof"
    shutil.copytree(os.path.join(PYPATH, "agentprof"), pkg,
                    ignore=shutil.ignore_patterns("_agentprof*.so", "__pycache__"))
    assert not [p for p in os.listdir(pkg) if p.endswith(".so")]
    with_ext = plain(PROG)
    without = plain(PROG, env={"PYTHONPATH": str(tmp_path / "noext")})
    assert without.returncode == 0, without.stderr
    assert without.stderr == ""
    assert without.stdout == with_ext.stdout
    p = plain('''
import agentprof as ap
try:
    ap.attach("/x")
except ap.Error as e:
    print("not loaded" in str(e), ap.enabled(), ap.span("a") is ap.tool("b"))
''', env={"PYTHONPATH": str(tmp_path / "noext")})
    assert p.stdout == "True False True\n", p.stdout + p.stderr
