# SPDX-License-Identifier: MIT
"""The reference agent workflow of agentprof's C demo (reader/cmd/workload.c),
recorded through the Python module:

    workflow
      context_assembly
        memory:retrieve      120 ms  memory
        build_prompt          75 ms
      llm:classify           450 ms  llm, gpt-4o-mini, 450 in / 30 out   <- context_assembly
      tool:search_kb         200 ms  tool                                <- context_assembly
      llm:synthesize         350 ms  llm, gpt-4o, 12,500 in / 800 out    <- classify, search_kb
      tool:format             55 ms  tool                                <- synthesize

(`<-` is a declared dependency.) One trace takes about 1,250 ms; SCALE
(default 1, from $AGENTPROF_EXAMPLE_SCALE) multiplies every sleep. The
examples in this folder import it; run one with
    agentprof record -- python3 writer-lib/python/examples/first_profile.py
"""
import asyncio
import os
import random
import time

import agentprof as ap

SCALE = float(os.environ.get("AGENTPROF_EXAMPLE_SCALE", "1"))
_rng = random.Random(1)


def _ms(ms):
    """ms milliseconds, scaled, with the demo's +-2% jitter."""
    return ms * SCALE * (1 + _rng.uniform(-0.02, 0.02)) / 1000.0


def work(ms):
    time.sleep(_ms(ms))


async def awork(ms):
    await asyncio.sleep(_ms(ms))


@ap.span("build_prompt")
def build_prompt():
    work(75)


def context_assembly():
    with ap.span("context_assembly") as ca:
        with ap.memory("retrieve"):
            work(120)
        build_prompt()
    return ca


def classify(ca):
    with ap.span("llm:classify", "llm") as s:
        s.depends_on(ca)
        work(450)
        s.set_tokens("gpt-4o-mini", 450, 30)
    return s


def search_kb(ca):
    with ap.tool("search_kb") as s:
        s.depends_on(ca)
        work(200)
    return s


def synthesize(*inputs):
    with ap.span("llm:synthesize", "llm") as s:
        for i in inputs:
            s.depends_on(i)
        work(350)
        s.set_tokens("gpt-4o", 12500, 800)
    return s


def fmt(sy):
    with ap.tool("format") as s:
        s.depends_on(sy)
        work(55)


def workflow():
    """One trace, everything one after another (as the C demo runs it)."""
    with ap.span("workflow"):
        ca = context_assembly()
        cl = classify(ca)
        sk = search_kb(ca)
        sy = synthesize(cl, sk)
        fmt(sy)


# The same with asyncio: classify and search_kb may run together.

async def aclassify(ca):
    async with ap.span("llm:classify", "llm") as s:
        s.depends_on(ca)
        await awork(450)
        s.set_tokens("gpt-4o-mini", 450, 30)
    return s


async def asearch_kb(ca):
    async with ap.tool("search_kb") as s:
        s.depends_on(ca)
        await awork(200)
    return s


async def aworkflow(parallel):
    async with ap.span("workflow"):
        ca = context_assembly()
        if parallel:
            cl, sk = await asyncio.gather(aclassify(ca), asearch_kb(ca))
        else:
            cl = await aclassify(ca)
            sk = await asearch_kb(ca)
        sy = synthesize(cl, sk)
        fmt(sy)
