# SPDX-License-Identifier: MIT
"""What `import agentprof` gets when the C extension cannot be loaded (not
built for this interpreter, libagentprof.so.1 missing): the same names,
every span inert, so that a program written against agentprof still runs
and prints what it prints without it. attach() says why it cannot record."""

INTERNAL, LLM, TOOL, MEMORY = 0, 1, 2, 3
VERSION = "0.2.0"
LOAD_ERROR = ""  # set by the package: why the extension did not load


class Error(RuntimeError):
    """A segment that cannot be attached (attach())."""


class _Ready:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __await__(self):
        return self.value
        yield  # pragma: no cover  (makes this a generator)


class Span:
    """The span of profiling off: every method does nothing."""
    __slots__ = ()
    id = 0
    trace_id = None
    name_id = 0
    category = INTERNAL
    recording = False
    ended = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __aenter__(self):
        return _Ready(self)

    def __aexit__(self, *exc):
        return _Ready(False)

    def __call__(self, fn):
        return fn

    def end(self):
        pass

    def set_tokens(self, *args):
        pass

    def depends_on(self, other):
        pass

    def set_error(self, name=None):
        pass

    def traceparent(self):
        return None

    def _activate(self):
        return None

    def _deactivate(self, tok):
        pass

    def _push(self):
        return False

    def _pop(self):
        pass


_INERT = Span()


def Decorated(fn, template):  # noqa: N802  (the extension's type name)
    return fn


def span(name, category=None):
    return _INERT


def llm(model):
    return _INERT


def tool(name):
    return _INERT


def memory(name):
    return _INERT


def start(name, category=None):
    return _INERT


def _span_id(name_id, category):
    return _INERT


_begin_id = _span_id


def _adopt(tp):
    return _INERT


def current_span():
    return None


def traceparent():
    return None


def enabled():
    return False


def attach(segment=None):
    raise Error("agentprof: the C extension is not loaded: %s" % LOAD_ERROR)


def detach():
    pass


def stats():
    return {"recorded": 0, "dropped_full": 0, "dropped_no_lane": 0, "dropped_reentrant": 0, "names_not_kept": 0}


def name_id(name):
    return 0


def _set_decorator(fn):
    pass
