# SPDX-License-Identifier: MIT
"""agentprof: record the spans of a Python agent program into agentprof.

    import agentprof as ap

    with ap.span("tool:search_kb", "tool") as s:      # also: async with
        ...
    @ap.span("llm:classify", "llm")                   # def, async def, generators
    def classify(text): ...

Run the program under ``agentprof record -- python3 prog.py`` (or with
``AGENTPROF_SHM`` naming a segment of ``agentprof serve``). Without a segment
every call is a cheap no-op: importing agentprof never fails and never
changes what the program prints.

The parent of a span is the span current in this *context* (a
``contextvars.ContextVar``), never the thread: concurrent asyncio tasks,
tasks made with ``create_task`` and functions run with
``contextvars.copy_context().run`` each nest under the span current where
they started. A plain ``threading.Thread`` starts with an empty context,
so its spans are roots; use :func:`wrap` or :class:`ThreadPoolExecutor` to
carry the context into threads. Child processes: ``os.fork`` and
multiprocessing's "fork" nest the child's spans under the span open at the
fork (inherited spans are ended by the parent only); for "spawn",
"forkserver" and ``subprocess`` pass :func:`child_env` as the environment.

The per-span path is C (the ``_agentprof`` extension over
libagentprof.so.1); this file holds what reads better in Python: the
decorators for generators and coroutines, the thread helpers, child_env.
When the extension cannot be loaded, ``_fallback`` stands in: every span
inert, attach() raising Error with the reason; importing never fails.
"""
import contextlib as _contextlib
import contextvars as _contextvars
import functools as _functools
import inspect as _inspect
import os as _os
from concurrent import futures as _futures

try:
    from . import _agentprof
except ImportError as _load_error:  # not built for this interpreter, or no libagentprof.so.1
    from . import _fallback as _agentprof
    _agentprof.LOAD_ERROR = str(_load_error)

INTERNAL, LLM, TOOL, MEMORY, VERSION = (_agentprof.INTERNAL, _agentprof.LLM, _agentprof.TOOL,
                                        _agentprof.MEMORY, _agentprof.VERSION)
Decorated, Error, Span = _agentprof.Decorated, _agentprof.Error, _agentprof.Span
span, llm, tool, memory, start = (_agentprof.span, _agentprof.llm, _agentprof.tool,
                                  _agentprof.memory, _agentprof.start)
current_span, traceparent, enabled = _agentprof.current_span, _agentprof.traceparent, _agentprof.enabled
detach, stats, name_id = _agentprof.detach, _agentprof.stats, _agentprof.name_id

__all__ = [
    "span", "llm", "tool", "memory", "start", "current_span", "traceparent",
    "child_env", "remote_parent", "native", "wrap", "ThreadPoolExecutor",
    "enabled", "attach", "detach", "stats", "name_id", "Span", "Error",
    "INTERNAL", "LLM", "TOOL", "MEMORY", "VERSION",
]
__version__ = VERSION

_segment = None  # the segment named to attach(), for child_env()


def attach(segment=None):
    """Attach to ``segment`` (a POSIX shm name such as "/agentprof-1") or,
    when None, to $AGENTPROF_SHM. Returns whether the process now records.
    Raises agentprof.Error with the reason when the segment cannot be
    attached (missing, another ABI, not the user's, ...); profiling then
    stays off."""
    global _segment
    on = _agentprof.attach(segment)
    if segment is not None:
        _segment = segment
    return on


def child_env(env=None):
    """A copy of ``env`` (default ``os.environ``) with AGENTPROF_SHM and the
    TRACEPARENT of the current span, for ``subprocess`` and the "spawn" and
    "forkserver" start methods: a child started with it records into the
    same segment and puts its root spans under the current span. With
    profiling off, the copy is unchanged."""
    out = dict(_os.environ if env is None else env)
    seg = _segment or _os.environ.get("AGENTPROF_SHM")
    if seg and enabled():
        out["AGENTPROF_SHM"] = seg
        tp = traceparent()
        if tp:
            out["TRACEPARENT"] = tp
    return out


@_contextlib.contextmanager
def remote_parent(tp):
    """Adopt a W3C traceparent received at run time (an HTTP header, a
    queue message): spans begun inside nest under that remote span, in the
    trace it names. Raises ValueError when ``tp`` is not a traceparent."""
    parent = _agentprof._adopt(tp)
    with parent:
        yield parent


@_contextlib.contextmanager
def native():
    """Make the current span the parent of spans that C code records with
    the C API's ap_begin (libagentprof's thread stack) for the duration of
    the block: a C extension called here nests under the Python span. Use
    it around synchronous calls only (an await inside would hand the
    thread to another task while the span is on its stack)."""
    s = current_span()
    pushed = s is not None and s._push()
    try:
        yield s
    finally:
        if pushed:
            s._pop()


def wrap(fn):
    """``fn`` bound to the current context: wherever it is called (another
    thread, a callback), its spans nest under the span current here. Each
    call runs in a fresh copy of the context, so calls may overlap."""
    ctx = _contextvars.copy_context()

    @_functools.wraps(fn)
    def run_in_context(*args, **kwargs):
        return ctx.copy().run(fn, *args, **kwargs)

    return run_in_context


class ThreadPoolExecutor(_futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks run in a copy of the submitting
    context: their spans nest under the span current at submit()."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(_contextvars.copy_context().run, fn, *args, **kwargs)


# Decorators --------------------------------------------------------------
#
# A plain function is wrapped by the C type Decorated (vectorcall: begin,
# call, end in C). Coroutine functions run the span inside the coroutine,
# so it is current in the task's context across awaits. Generators: the
# span begins at the first step, is current only while the generator runs
# (re-entered at each step, so what the consumer does between steps is not
# inside it), and ends at exhaustion, close() or garbage collection.

_STOPS = (GeneratorExit, StopIteration, StopAsyncIteration)


def _gen_wrapper(template, fn):
    name, cat = template.name_id, template.category

    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        s = _agentprof._begin_id(name, cat)
        try:
            method, arg = gen.send, None
            while True:
                tok = s._activate()
                try:
                    value = method(arg)
                except StopIteration as stop:
                    return stop.value
                finally:
                    s._deactivate(tok)
                try:
                    arg = yield value
                    method = gen.send
                except GeneratorExit:
                    gen.close()
                    raise
                except BaseException as exc:  # thrown in: pass it on
                    method, arg = gen.throw, exc
        except BaseException as exc:
            if not isinstance(exc, _STOPS):
                s.set_error(exc)
            raise
        finally:
            s.end()

    return wrapper


def _agen_wrapper(template, fn):
    name, cat = template.name_id, template.category

    @_functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        agen = fn(*args, **kwargs)
        s = _agentprof._begin_id(name, cat)
        try:
            method, arg = agen.asend, None
            while True:
                tok = s._activate()
                try:
                    value = await method(arg)
                except StopAsyncIteration:
                    return
                finally:
                    s._deactivate(tok)
                try:
                    arg = yield value
                    method = agen.asend
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as exc:
                    method, arg = agen.athrow, exc
        except BaseException as exc:
            if not isinstance(exc, _STOPS):
                s.set_error(exc)
            raise
        finally:
            s.end()

    return wrapper


def _coro_wrapper(template, fn):
    name, cat = template.name_id, template.category

    @_functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        with _agentprof._span_id(name, cat):
            return await fn(*args, **kwargs)

    return wrapper


def _decorate(template, fn):
    if _inspect.isasyncgenfunction(fn):
        return _agen_wrapper(template, fn)
    if _inspect.iscoroutinefunction(fn):
        return _coro_wrapper(template, fn)
    if _inspect.isgeneratorfunction(fn):
        return _gen_wrapper(template, fn)
    d = Decorated(fn, template)
    try:
        _functools.update_wrapper(d, fn)
    except (AttributeError, TypeError):
        pass
    return d


_agentprof._set_decorator(_decorate)
