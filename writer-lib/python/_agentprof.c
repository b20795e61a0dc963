/* SPDX-License-Identifier: MIT */
/*
 * _agentprof.c - the CPython extension under the `agentprof` package: spans
 * recorded through libagentprof.so.1, with the parent kept in a
 * contextvars.ContextVar.
 *
 * Why a ContextVar and not the C thread stack: asyncio runs many tasks on
 * one thread, and only the context knows which task a span belongs to
 * (three tasks under asyncio.gather would otherwise nest inside each
 * other). So every span here is begun with ap_begin_ctx() under the Span
 * object the ContextVar holds, and its own struct ap_ctx is kept in the
 * Span object, which becomes the ContextVar's value while the span is
 * current. The C thread stack is never touched, except by Span._push()/
 * _pop() (agentprof.native()), which put the current span there for C code
 * that records with ap_begin.
 *
 * The per-span path is all C: agentprof.span(name, category) is a vectorcall
 * function, __enter__/__exit__ are METH_FASTCALL methods, names are interned
 * once per distinct string object (a direct-mapped cache keyed by the str
 * object, which holds a reference so its address cannot be reused), and
 * categories given as the module's constants or the interned literals "llm",
 * "tool", "memory", "internal" are recognised by pointer first. When
 * profiling is off in the process (no segment), span() returns one shared
 * inert Span, whose methods do nothing: a `with` costs two method calls.
 *
 * Nothing here raises from its own bookkeeping: a ContextVar reset that
 * fails (a span ended in another context, a generator closed elsewhere) is
 * cleared silently; an error of the library turns profiling off. Errors
 * raised to the caller are argument errors (a name that is not a str) and
 * agentprof.Error from attach().
 *
 * Types are heap types (PyType_Spec), all state is module state; one
 * module instance per interpreter is assumed by the inert Span and caches
 * (they live in the module state, so a second instance has its own).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#include "agentprof.h"

#define NAME_CACHE	512u	/* direct-mapped (str object -> name id) entries */
#define CAT_PREFIXES	4u	/* "", "llm:", "tool:", "memory:" */

struct name_slot {
	PyObject *key;		/* strong reference; NULL: empty */
	uint64_t id;
	uint32_t prefix;	/* which prefix the id was made with */
};

typedef struct {
	PyObject *span_type;
	PyObject *off_type;		/* the inert span's type: a Span whose with-methods are static */
	PyObject *decorated_type;
	PyObject *ready_type;
	PyObject *current;		/* the ContextVar: Span or None */
	PyObject *inert;		/* the shared Span of profiling off */
	PyObject *error;		/* agentprof.Error */
	PyObject *decorate;		/* agentprof._decorate(span, fn), set by the package */
	PyObject *cat_str[AP_CAT_COUNT];	/* interned "internal" "llm" "tool" "memory" */
	int attach_tried;
	/* The ContextVar's value as last set or read by this module, valid
	 * while the thread state (by its unique id) and its context version are the same (CPython bumps
	 * PyThreadState.context_ver at every set, reset and context switch):
	 * saves a HAMT lookup per span. The value is borrowed: while the
	 * version holds, the context's own mapping keeps it alive. */
	uint64_t c_tsid;		/* PyThreadState.id (unique, never reused); 0: none */
	uint64_t c_ver;
	PyObject *c_val;		/* a Span, or NULL for none */
	struct name_slot names[NAME_CACHE];
} modstate;

enum { SP_FRESH = 0, SP_ACTIVE = 1, SP_ENDED = 2, SP_ADOPTED = 3 };

typedef struct {
	PyObject_HEAD
	struct ap_ctx ctx;		/* the span's context once begun */
	uint64_t name_id;
	uint64_t model_id;		/* llm(model): the model for set_tokens(in, out) */
	PyObject *token;		/* ContextVar token while current, or NULL */
	PyObject *prev;			/* the value the token restores (borrowed: the token
					 * holds it), NULL for none */
	int category;
	int state;			/* SP_* */
	int inert;			/* the shared off-span: every method does nothing */
} SpanObject;

typedef struct {
	PyObject_HEAD
	PyObject *fn;
	uint64_t name_id;
	int category;
	vectorcallfunc vectorcall;
	PyObject *dict;
} DecoratedObject;

typedef struct {
	PyObject_HEAD
	PyObject *value;
} ReadyObject;

static struct PyModuleDef agentprof_module;

static inline modstate *state_of_module(PyObject *m)
{
	return (modstate *)PyModule_GetState(m);
}

static inline modstate *state_of_type(PyTypeObject *t)
{
	return (modstate *)PyType_GetModuleState(t);
}

/* Profiling is known to be off in this process: agentprof.h's flag. */
static inline int surely_off(void)
{
	return !__atomic_load_n(&ap_maybe_on_, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* Names and categories                                                      */

static const char *const prefixes[CAT_PREFIXES] = { "", "llm:", "tool:", "memory:" };

/* The name id of str `s` with prefix p, cached per string object. NULL on
 * an argument error (not a str), with the exception set. */
static int name_id_of(modstate *st, PyObject *s, uint32_t p, uint64_t *out)
{
	uintptr_t h = ((uintptr_t)s >> 4) ^ p;
	struct name_slot *slot = &st->names[h & (NAME_CACHE - 1)];
	const char *utf8;
	Py_ssize_t len;
	char buf[256];	/* the library cuts a name at 103 bytes */

	if (slot->key == s && slot->prefix == p) {
		*out = slot->id;
		return 0;
	}
	if (!PyUnicode_Check(s)) {
		PyErr_Format(PyExc_TypeError, "agentprof: a span name must be a str, not %.100s",
			     Py_TYPE(s)->tp_name);
		return -1;
	}
	utf8 = PyUnicode_AsUTF8AndSize(s, &len);
	if (!utf8)
		return -1;
	if (p) {
		size_t pl = strlen(prefixes[p]);
		size_t n = (size_t)len < sizeof(buf) - pl - 1 ? (size_t)len : sizeof(buf) - pl - 1;

		memcpy(buf, prefixes[p], pl);
		memcpy(buf + pl, utf8, n);
		buf[pl + n] = '\0';
		*out = ap_name(buf);
	} else {
		*out = ap_name(utf8);
	}
	Py_INCREF(s);
	Py_XSETREF(slot->key, s);
	slot->id = *out;
	slot->prefix = p;
	return 0;
}

/* A category: one of the module's constants (an int), or "internal",
 * "llm", "tool", "memory". Anything else is an argument error. */
static int category_of(modstate *st, PyObject *c, int *out)
{
	if (!c || c == Py_None) {
		*out = AP_CAT_INTERNAL;
		return 0;
	}
	for (int i = 0; i < AP_CAT_COUNT; i++)
		if (c == st->cat_str[i]) {
			*out = i;
			return 0;
		}
	if (PyLong_Check(c)) {
		long v = PyLong_AsLong(c);

		if (v >= 0 && v < AP_CAT_COUNT) {
			*out = (int)v;
			return 0;
		}
	} else if (PyUnicode_Check(c)) {
		for (int i = 0; i < AP_CAT_COUNT; i++)
			if (PyUnicode_Compare(c, st->cat_str[i]) == 0) {
				*out = i;
				return 0;
			}
	}
	if (!PyErr_Occurred())
		PyErr_SetString(PyExc_ValueError,
				"agentprof: category must be \"internal\", \"llm\", \"tool\" or \"memory\"");
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Span                                                                      */

static SpanObject *span_alloc(modstate *st)
{
	PyTypeObject *t = (PyTypeObject *)st->span_type;
	SpanObject *s = PyObject_New(SpanObject, t);

	if (!s)
		return NULL;
	memset(&s->ctx, 0, sizeof(s->ctx));
	s->name_id = 0;
	s->model_id = 0;
	s->token = NULL;
	s->prev = NULL;
	s->category = AP_CAT_INTERNAL;
	s->state = SP_FRESH;
	s->inert = 0;
	return s;
}

static void span_dealloc(SpanObject *s)
{
	PyTypeObject *t = Py_TYPE(s);

	Py_CLEAR(s->token);
	PyObject_Free(s);
	Py_DECREF(t);
}

#if PY_VERSION_HEX < 0x030E0000	/* PyThreadState.context_ver, as in 3.7 to 3.13 */
#define HAVE_CONTEXT_VER 1
#endif

static inline void cache_value(modstate *st, PyObject *v)
{
#ifdef HAVE_CONTEXT_VER
	PyThreadState *ts = PyThreadState_GET();

	st->c_tsid = ts->id;
	st->c_ver = ts->context_ver;
	st->c_val = v;
#endif
}

/* The ContextVar's value (borrowed): a Span, or NULL for none. */
static inline PyObject *current_value(modstate *st)
{
	PyObject *cur = NULL;

#ifdef HAVE_CONTEXT_VER
	PyThreadState *ts = PyThreadState_GET();

	if (st->c_tsid == ts->id && st->c_ver == ts->context_ver)
		return st->c_val;
#endif
	if (PyContextVar_Get(st->current, NULL, &cur) < 0) {
		PyErr_Clear();
		return NULL;
	}
	/* The context's mapping keeps the value alive while we use it. */
	Py_XDECREF(cur);
	if (cur && Py_TYPE(cur) != (PyTypeObject *)st->span_type)
		cur = NULL;	/* None */
	cache_value(st, cur);
	return cur;
}

/* The parent context: the ContextVar's Span, or NULL (no parent: the
 * library then uses $TRACEPARENT or starts a new root). */
static inline const struct ap_ctx *parent_ctx(modstate *st)
{
	PyObject *cur = current_value(st);

	return cur && ((SpanObject *)cur)->ctx.span ? &((SpanObject *)cur)->ctx : NULL;
}

static inline void span_begin(modstate *st, SpanObject *s)
{
	ap_begin_ctx(parent_ctx(st), s->name_id, s->category, &s->ctx);
	s->state = SP_ACTIVE;
}

/* Make s current; the token is kept for the reset. */
static inline void span_activate(modstate *st, SpanObject *s)
{
	PyObject *prev = current_value(st);
	PyObject *tok = PyContextVar_Set(st->current, (PyObject *)s);

	if (!tok) {
		PyErr_Clear();
		return;
	}
	Py_XSETREF(s->token, tok);
	s->prev = prev;
	cache_value(st, (PyObject *)s);
}

/* Undo span_activate, silently when the token belongs to another context
 * (a span ended in another task, a generator closed elsewhere). */
static inline void span_deactivate(modstate *st, SpanObject *s)
{
	PyObject *tok = s->token;

	if (!tok)
		return;
	s->token = NULL;
	if (PyContextVar_Reset(st->current, tok) < 0) {
		PyErr_Clear();
		st->c_tsid = 0;
	} else {
		cache_value(st, s->prev);	/* alive: the context's mapping holds it again */
	}
	Py_DECREF(tok);
}

static void span_record_error(modstate *st, SpanObject *s, PyObject *exc_type)
{
	const char *n, *dot;

	if (!s->ctx.span || !PyType_Check(exc_type))
		return;
	if (PyType_IsSubtype((PyTypeObject *)exc_type, (PyTypeObject *)PyExc_GeneratorExit) ||
	    PyType_IsSubtype((PyTypeObject *)exc_type, (PyTypeObject *)PyExc_StopIteration) ||
	    PyType_IsSubtype((PyTypeObject *)exc_type, (PyTypeObject *)PyExc_StopAsyncIteration))
		return;	/* how generators stop, not failures */
	n = ((PyTypeObject *)exc_type)->tp_name;
	dot = strrchr(n, '.');
	ap_set_error(s->ctx.span, ap_name(dot ? dot + 1 : n));
	(void)st;
}

static inline void span_finish(SpanObject *s)
{
	if (s->state == SP_ACTIVE) {
		s->state = SP_ENDED;
		ap_end_ctx(&s->ctx);
	}
}

static PyObject *span_enter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	SpanObject *s = (SpanObject *)self;
	modstate *st;

	if (s->inert)
		return Py_NewRef(self);
	st = state_of_type(Py_TYPE(self));
	if (s->state == SP_ADOPTED) {
		span_activate(st, s);
		return Py_NewRef(self);
	}
	if (s->state == SP_ACTIVE)
		return Py_NewRef(self);	/* entered twice: one span */
	span_begin(st, s);
	span_activate(st, s);
	return Py_NewRef(self);
}

static PyObject *span_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	SpanObject *s = (SpanObject *)self;
	modstate *st;

	if (s->inert)
		Py_RETURN_FALSE;
	st = state_of_type(Py_TYPE(self));
	span_deactivate(st, s);
	if (s->state == SP_ADOPTED)
		Py_RETURN_FALSE;
	if (nargs >= 1 && args[0] != Py_None)
		span_record_error(st, s, args[0]);
	span_finish(s);
	Py_RETURN_FALSE;	/* the exception, if any, propagates unchanged */
}

/* async with: the same, through an awaitable that is ready at once. */
static PyObject *ready_new(modstate *st, PyObject *value)
{
	ReadyObject *r = PyObject_New(ReadyObject, (PyTypeObject *)st->ready_type);

	if (!r)
		return NULL;
	r->value = Py_NewRef(value);
	return (PyObject *)r;
}

static PyObject *span_aenter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *v = span_enter(self, args, nargs), *r;

	if (!v)
		return NULL;
	r = ready_new(state_of_type(Py_TYPE(self)), v);
	Py_DECREF(v);
	return r;
}

static PyObject *span_aexit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *v = span_exit(self, args, nargs), *r;

	if (!v)
		return NULL;
	r = ready_new(state_of_type(Py_TYPE(self)), v);
	Py_DECREF(v);
	return r;
}

static PyObject *span_end(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;

	if (!s->inert && s->state != SP_ADOPTED)
		span_finish(s);
	Py_RETURN_NONE;
}

/* set_tokens(model, input, output), or set_tokens(input, output) on a span
 * made by llm(model). */
static PyObject *span_set_tokens(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	SpanObject *s = (SpanObject *)self;
	modstate *st = state_of_type(Py_TYPE(self));
	uint64_t model = s->model_id;
	unsigned long long in, out;
	Py_ssize_t k = 0;

	if (nargs == 3) {
		if (args[0] != Py_None && name_id_of(st, args[0], 0, &model))
			return NULL;
		k = 1;
	} else if (nargs != 2) {
		PyErr_SetString(PyExc_TypeError, "set_tokens(model, input_tokens, output_tokens)");
		return NULL;
	}
	in = PyLong_AsUnsignedLongLong(args[k]);
	if (in == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	out = PyLong_AsUnsignedLongLong(args[k + 1]);
	if (out == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	if (!s->inert && s->state != SP_ADOPTED)
		ap_set_tokens(s->ctx.span, model, in > UINT32_MAX ? UINT32_MAX : (uint32_t)in,
			      out > UINT32_MAX ? UINT32_MAX : (uint32_t)out);
	Py_RETURN_NONE;
}

static PyObject *span_depends_on(PyObject *self, PyObject *other)
{
	SpanObject *s = (SpanObject *)self;

	if (!PyObject_TypeCheck(other, (PyTypeObject *)state_of_type(Py_TYPE(self))->span_type)) {
		PyErr_SetString(PyExc_TypeError, "depends_on() takes a Span");
		return NULL;
	}
	if (!s->inert && s->state != SP_ADOPTED)
		ap_depends(s->ctx.span, ((SpanObject *)other)->ctx.span);
	Py_RETURN_NONE;
}

static PyObject *span_set_error(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	SpanObject *s = (SpanObject *)self;
	modstate *st = state_of_type(Py_TYPE(self));
	uint64_t id = 0;

	if (nargs > 1) {
		PyErr_SetString(PyExc_TypeError, "set_error(name=None)");
		return NULL;
	}
	if (nargs == 1 && args[0] != Py_None) {
		if (PyType_Check(args[0]) || PyExceptionInstance_Check(args[0])) {
			PyObject *t = PyType_Check(args[0]) ? args[0] : (PyObject *)Py_TYPE(args[0]);
			const char *n = ((PyTypeObject *)t)->tp_name, *dot = strrchr(n, '.');

			id = ap_name(dot ? dot + 1 : n);
		} else if (name_id_of(st, args[0], 0, &id)) {
			return NULL;
		}
	}
	if (!s->inert && s->state != SP_ADOPTED)
		ap_set_error(s->ctx.span, id);
	Py_RETURN_NONE;
}

static PyObject *span_traceparent(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;
	char tp[56];

	if (s->inert || ap_ctx_traceparent(&s->ctx, tp) != 0)
		Py_RETURN_NONE;
	return PyUnicode_FromStringAndSize(tp, 55);
}

/* Make the span current for one step of a generator (the package's
 * generator wrappers): returns the token to give _deactivate. */
static PyObject *span_activate_m(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;
	modstate *st;
	PyObject *tok;

	if (s->inert)
		Py_RETURN_NONE;
	st = state_of_type(Py_TYPE(self));
	tok = PyContextVar_Set(st->current, self);
	if (!tok) {
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	st->c_tsid = 0;
	return tok;
}

static PyObject *span_deactivate_m(PyObject *self, PyObject *tok)
{
	modstate *st;

	if (tok == Py_None || ((SpanObject *)self)->inert)
		Py_RETURN_NONE;
	st = state_of_type(Py_TYPE(self));
	if (PyContextVar_Reset(st->current, tok) < 0)
		PyErr_Clear();
	st->c_tsid = 0;
	Py_RETURN_NONE;
}

/* Put the span on this thread's C stack (agentprof.native()). */
static PyObject *span_push(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;

	if (s->inert || !s->ctx.span)
		Py_RETURN_FALSE;
	return PyBool_FromLong(ap_ctx_push(&s->ctx) == 0);
}

static PyObject *span_pop(PyObject *self, PyObject *unused)
{
	SpanObject *s = (SpanObject *)self;

	if (!s->inert)
		ap_ctx_pop(&s->ctx);
	Py_RETURN_NONE;
}

static PyObject *span_call(PyObject *self, PyObject *args, PyObject *kw)
{
	modstate *st = state_of_type(Py_TYPE(self));
	PyObject *fn;

	if (kw || PyTuple_GET_SIZE(args) != 1 || !PyCallable_Check(PyTuple_GET_ITEM(args, 0))) {
		PyErr_SetString(PyExc_TypeError, "a span decorates one callable: @agentprof.span(name, category)");
		return NULL;
	}
	fn = PyTuple_GET_ITEM(args, 0);
	if (!st->decorate) {
		PyErr_SetString(PyExc_RuntimeError, "agentprof: import the agentprof package, not _agentprof");
		return NULL;
	}
	return PyObject_CallFunctionObjArgs(st->decorate, self, fn, NULL);
}

static PyObject *span_get_id(PyObject *self, void *c)
{
	return PyLong_FromUnsignedLongLong(((SpanObject *)self)->ctx.span);
}

static PyObject *span_get_trace_id(PyObject *self, void *c)
{
	SpanObject *s = (SpanObject *)self;
	char buf[33];

	if (!s->ctx.span)
		Py_RETURN_NONE;
	snprintf(buf, sizeof(buf), "%016llx%016llx", (unsigned long long)s->ctx.trace_hi,
		 (unsigned long long)s->ctx.trace_lo);
	return PyUnicode_FromString(buf);
}

static PyObject *span_get_name_id(PyObject *self, void *c)
{
	return PyLong_FromUnsignedLongLong(((SpanObject *)self)->name_id);
}

static PyObject *span_get_category(PyObject *self, void *c)
{
	return PyLong_FromLong(((SpanObject *)self)->category);
}

static PyObject *span_get_recording(PyObject *self, void *c)
{
	SpanObject *s = (SpanObject *)self;

	return PyBool_FromLong(!s->inert && (s->ctx.span & 1) && s->ctx.span != AP_SPAN_REENTRANT &&
			       s->state != SP_ADOPTED);
}

static PyObject *span_get_ended(PyObject *self, void *c)
{
	return PyBool_FromLong(((SpanObject *)self)->state == SP_ENDED);
}

static PyObject *span_repr(PyObject *self)
{
	SpanObject *s = (SpanObject *)self;
	static const char *const states[] = { "not begun", "open", "ended", "remote" };

	if (s->inert)
		return PyUnicode_FromString("<agentprof.Span (profiling off)>");
	return PyUnicode_FromFormat("<agentprof.Span %s id=%llx>", states[s->state],
				    (unsigned long long)s->ctx.span);
}

static PyMethodDef span_methods[] = {
	{ "__enter__", (PyCFunction)(void (*)(void))span_enter, METH_FASTCALL,
	  "Begin the span under the current one and make it current." },
	{ "__exit__", (PyCFunction)(void (*)(void))span_exit, METH_FASTCALL,
	  "End the span; an exception records its type name as the span's error and propagates." },
	{ "__aenter__", (PyCFunction)(void (*)(void))span_aenter, METH_FASTCALL, "As __enter__, for async with." },
	{ "__aexit__", (PyCFunction)(void (*)(void))span_aexit, METH_FASTCALL, "As __exit__, for async with." },
	{ "end", span_end, METH_NOARGS, "End the span (from any task or thread); a second end does nothing." },
	{ "set_tokens", (PyCFunction)(void (*)(void))span_set_tokens, METH_FASTCALL,
	  "set_tokens(model, input_tokens, output_tokens): token use of an LLM call, before or after the end.\n"
	  "On a span made by llm(model), set_tokens(input_tokens, output_tokens) uses that model." },
	{ "depends_on", span_depends_on, METH_O,
	  "depends_on(other): this span consumed the output of `other`, an earlier sibling." },
	{ "set_error", (PyCFunction)(void (*)(void))span_set_error, METH_FASTCALL,
	  "set_error(name=None): record that the span failed; name is a str, an exception or its type." },
	{ "traceparent", span_traceparent, METH_NOARGS,
	  "The W3C traceparent of this span, or None when it is not recorded." },
	{ "_activate", span_activate_m, METH_NOARGS, NULL },
	{ "_deactivate", span_deactivate_m, METH_O, NULL },
	{ "_push", span_push, METH_NOARGS, NULL },
	{ "_pop", span_pop, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL }
};

static PyGetSetDef span_getset[] = {
	{ "id", span_get_id, NULL, "span id (0: not begun, or profiling off)", NULL },
	{ "trace_id", span_get_trace_id, NULL, "W3C trace id as 32 hex digits, or None", NULL },
	{ "name_id", span_get_name_id, NULL, "XXH3-64 id of the span's name", NULL },
	{ "category", span_get_category, NULL, "0 internal, 1 llm, 2 tool, 3 memory", NULL },
	{ "recording", span_get_recording, NULL, "True when the span is being recorded", NULL },
	{ "ended", span_get_ended, NULL, "True once the span has ended", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

PyDoc_STRVAR(span_doc,
"A span of agentprof: made by agentprof.span(), llm(), tool(), memory() or start().\n"
"\n"
"As a context manager (with / async with) it begins at entry under the span that is\n"
"current in this context, is current inside the block, and ends at exit; an exception\n"
"leaving it records its type name as the span's error and propagates unchanged.\n"
"As a decorator it wraps def, async def, generators and async generators.");

static PyType_Slot span_slots[] = {
	{ Py_tp_dealloc, span_dealloc },
	{ Py_tp_methods, span_methods },
	{ Py_tp_getset, span_getset },
	{ Py_tp_call, span_call },
	{ Py_tp_repr, span_repr },
	{ Py_tp_doc, (void *)span_doc },
	{ 0, NULL }
};

static PyType_Spec span_spec = {
	.name = "agentprof.Span",
	.basicsize = sizeof(SpanObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = span_slots,
};

/*
 * The inert span of profiling off is of a subtype whose __enter__/__exit__
 * (and the async pair) are plain built-in functions of the module in the
 * type's dict, not methods: the with statement looks them up on the type,
 * and a function that is not a descriptor comes back as it is, where a
 * method would first be bound to the instance (an allocation and a free,
 * twice per with). They need no instance: there is one inert span, in the
 * state of the module they are bound to.
 */
static PyObject *off_enter(PyObject *m, PyObject *unused)
{
	return Py_NewRef(state_of_module(m)->inert);
}

static PyObject *off_exit(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	Py_RETURN_FALSE;
}

static PyObject *off_aenter(PyObject *m, PyObject *unused)
{
	modstate *st = state_of_module(m);

	return ready_new(st, st->inert);
}

static PyObject *off_aexit(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	return ready_new(state_of_module(m), Py_False);
}

static PyMethodDef off_functions[] = {
	{ "__enter__", off_enter, METH_NOARGS, "Profiling is off: nothing to begin." },
	{ "__exit__", (PyCFunction)(void (*)(void))off_exit, METH_FASTCALL,
	  "Profiling is off: nothing to end; exceptions propagate." },
	{ "__aenter__", off_aenter, METH_NOARGS, NULL },
	{ "__aexit__", (PyCFunction)(void (*)(void))off_aexit, METH_FASTCALL, NULL },
	{ NULL, NULL, 0, NULL }
};

/* Put off_functions, bound to module m, into the off type's dict. */
static int off_type_fill(PyObject *m, PyTypeObject *t)
{
	for (PyMethodDef *d = off_functions; d->ml_name; d++) {
		PyObject *f = PyCFunction_NewEx(d, m, NULL);

		if (!f || PyDict_SetItemString(t->tp_dict, d->ml_name, f) < 0) {
			Py_XDECREF(f);
			return -1;
		}
		Py_DECREF(f);
	}
	PyType_Modified(t);
	return 0;
}

static PyType_Slot off_slots[] = {
	{ Py_tp_doc, (void *)"The span of profiling off: every method does nothing." },
	{ 0, NULL }
};

static PyType_Spec off_spec = {
	.name = "agentprof._OffSpan",
	.basicsize = sizeof(SpanObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = off_slots,
};

/* ------------------------------------------------------------------------ */
/* Ready: the awaitable of __aenter__/__aexit__, done at once                */

static void ready_dealloc(ReadyObject *r)
{
	PyTypeObject *t = Py_TYPE(r);

	Py_CLEAR(r->value);
	PyObject_Free(r);
	Py_DECREF(t);
}

static PyObject *ready_await(PyObject *self)
{
	return Py_NewRef(self);
}

static PyObject *ready_next(PyObject *self)
{
	ReadyObject *r = (ReadyObject *)self;
	PyObject *v = r->value ? r->value : Py_None;
	PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, v);

	if (e) {
		PyErr_SetObject(PyExc_StopIteration, e);
		Py_DECREF(e);
	}
	return NULL;
}

static PyObject *ready_send(PyObject *self, PyObject *arg)
{
	return ready_next(self);
}

static PyMethodDef ready_methods[] = {
	{ "send", ready_send, METH_O, NULL },
	{ NULL, NULL, 0, NULL }
};

static PyType_Slot ready_slots[] = {
	{ Py_tp_dealloc, ready_dealloc },
	{ Py_am_await, ready_await },
	{ Py_tp_iter, ready_await },
	{ Py_tp_iternext, ready_next },
	{ Py_tp_methods, ready_methods },
	{ 0, NULL }
};

static PyType_Spec ready_spec = {
	.name = "agentprof._Ready",
	.basicsize = sizeof(ReadyObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = ready_slots,
};

/* ------------------------------------------------------------------------ */
/* Decorated: a plain function wrapped in a span, called through vectorcall  */

static PyObject *decorated_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kw)
{
	DecoratedObject *d = (DecoratedObject *)self;
	modstate *st;
	SpanObject *s;
	PyObject *r;

	if (surely_off())
		return PyObject_Vectorcall(d->fn, args, nargsf, kw);
	st = state_of_type(Py_TYPE(self));
	s = span_alloc(st);
	if (!s)
		return NULL;
	s->name_id = d->name_id;
	s->category = d->category;
	span_begin(st, s);
	span_activate(st, s);
	r = PyObject_Vectorcall(d->fn, args, nargsf, kw);
	if (!r) {
		/* Put the exception aside while the bookkeeping calls into the
		 * C API (a failed reset clears its own error), then restore it:
		 * it propagates unchanged. */
		PyObject *et, *ev, *tb;

		PyErr_Fetch(&et, &ev, &tb);
		if (et)
			span_record_error(st, s, et);
		span_deactivate(st, s);
		span_finish(s);
		PyErr_Restore(et, ev, tb);
	} else {
		span_deactivate(st, s);
		span_finish(s);
	}
	Py_DECREF(s);
	return r;
}

static PyObject *decorated_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	DecoratedObject *d;
	PyObject *fn, *sp;

	if (!PyArg_ParseTuple(args, "OO!:Decorated", &fn, state_of_type(type)->span_type, &sp))
		return NULL;
	d = (DecoratedObject *)type->tp_alloc(type, 0);
	if (!d)
		return NULL;
	d->fn = Py_NewRef(fn);
	d->name_id = ((SpanObject *)sp)->name_id;
	d->category = ((SpanObject *)sp)->category;
	d->vectorcall = decorated_vectorcall;
	d->dict = NULL;
	return (PyObject *)d;
}

static int decorated_traverse(DecoratedObject *d, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(d));
	Py_VISIT(d->fn);
	Py_VISIT(d->dict);
	return 0;
}

static int decorated_clear(DecoratedObject *d)
{
	Py_CLEAR(d->fn);
	Py_CLEAR(d->dict);
	return 0;
}

static void decorated_dealloc(DecoratedObject *d)
{
	PyTypeObject *t = Py_TYPE(d);

	PyObject_GC_UnTrack(d);
	decorated_clear(d);
	t->tp_free(d);
	Py_DECREF(t);
}

static PyObject *decorated_get(PyObject *self, PyObject *obj, PyObject *type)
{
	if (obj == NULL || obj == Py_None)
		return Py_NewRef(self);
	return PyMethod_New(self, obj);
}

static PyMemberDef decorated_members[] = {
	{ "__vectorcalloffset__", T_PYSSIZET, offsetof(DecoratedObject, vectorcall), READONLY, NULL },
	{ "__dictoffset__", T_PYSSIZET, offsetof(DecoratedObject, dict), READONLY, NULL },
	{ "__wrapped__", T_OBJECT, offsetof(DecoratedObject, fn), READONLY, "the function decorated" },
	{ NULL, 0, 0, 0, NULL }
};

static PyType_Slot decorated_slots[] = {
	{ Py_tp_new, decorated_new },
	{ Py_tp_dealloc, decorated_dealloc },
	{ Py_tp_traverse, decorated_traverse },
	{ Py_tp_clear, decorated_clear },
	{ Py_tp_call, PyVectorcall_Call },
	{ Py_tp_descr_get, decorated_get },
	{ Py_tp_members, decorated_members },
	{ Py_tp_doc, (void *)"A function recorded as a span at every call (made by @agentprof.span)." },
	{ 0, NULL }
};

static PyType_Spec decorated_spec = {
	.name = "agentprof.Decorated",
	.basicsize = sizeof(DecoratedObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE,
	.slots = decorated_slots,
};

/* ------------------------------------------------------------------------ */
/* Module functions                                                          */

/* A new span of (name with prefix p, category), not begun; the inert span
 * when profiling is off. */
static PyObject *make_span(modstate *st, PyObject *name, uint32_t p, PyObject *cat, int fixed_cat)
{
	SpanObject *s;
	uint64_t id;
	int c = fixed_cat;

	if (surely_off())
		return Py_NewRef(st->inert);
	if (name_id_of(st, name, p, &id))
		return NULL;
	if (fixed_cat < 0 && category_of(st, cat, &c))
		return NULL;
	s = span_alloc(st);
	if (!s)
		return NULL;
	s->name_id = id;
	s->category = c;
	return (PyObject *)s;
}

/* (name, category=None) from a vectorcall, keywords "name", "category". */
static int name_cat_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kw, PyObject **name, PyObject **cat,
			 const char *fn)
{
	*name = nargs > 0 ? args[0] : NULL;
	*cat = nargs > 1 ? args[1] : NULL;
	if (nargs > 2) {
		PyErr_Format(PyExc_TypeError, "%s() takes at most 2 positional arguments", fn);
		return -1;
	}
	if (kw) {
		Py_ssize_t nk = PyTuple_GET_SIZE(kw);

		for (Py_ssize_t i = 0; i < nk; i++) {
			PyObject *k = PyTuple_GET_ITEM(kw, i);

			if (PyUnicode_CompareWithASCIIString(k, "category") == 0 && !*cat)
				*cat = args[nargs + i];
			else if (PyUnicode_CompareWithASCIIString(k, "name") == 0 && !*name)
				*name = args[nargs + i];
			else {
				PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", fn, k);
				return -1;
			}
		}
	}
	if (!*name) {
		PyErr_Format(PyExc_TypeError, "%s() needs a name", fn);
		return -1;
	}
	return 0;
}

PyDoc_STRVAR(span_fn_doc,
"span($module, /, name, category=\"internal\")\n"
"--\n"
"\n"
"Return a Span.\n"
"\n"
"A span named `name` of `category` (\"llm\", \"tool\", \"memory\", \"internal\", or\n"
"agentprof.LLM, TOOL, MEMORY, INTERNAL). Use it as a context manager (with, async with)\n"
"or as a decorator of a def, async def, generator or async generator.\n"
"\n"
"Its parent is the span current in this context (a contextvars.ContextVar, never the\n"
"thread): concurrent asyncio tasks, tasks made with create_task and functions run with\n"
"contextvars.copy_context().run each nest under the span current where they started.\n"
"Without one, the span is a root, or the child of $TRACEPARENT in a process started\n"
"with agentprof.child_env(). An exception leaving the span records its type name as\n"
"the span's error and propagates unchanged. With profiling off (no segment), span()\n"
"returns one shared inert Span and every call does nothing.");

static PyObject *mod_span(PyObject *m, PyObject *const *args, Py_ssize_t nargs, PyObject *kw)
{
	modstate *st = state_of_module(m);
	PyObject *name, *cat;

	if (surely_off())
		return Py_NewRef(st->inert);
	if (!kw && nargs >= 1 && nargs <= 2) {
		name = args[0];
		cat = nargs == 2 ? args[1] : NULL;
	} else if (name_cat_args(args, nargs, kw, &name, &cat, "span")) {
		return NULL;
	}
	return make_span(st, name, 0, cat, -1);
}

static PyObject *prefixed(PyObject *m, PyObject *const *args, Py_ssize_t nargs, uint32_t p, int cat,
			  const char *fn)
{
	modstate *st = state_of_module(m);
	PyObject *s;

	if (nargs != 1) {
		PyErr_Format(PyExc_TypeError, "%s() takes one name", fn);
		return NULL;
	}
	s = make_span(st, args[0], p, NULL, cat);
	if (s && p == 1 && !((SpanObject *)s)->inert)
		name_id_of(st, args[0], 0, &((SpanObject *)s)->model_id);
	return s;
}

static PyObject *mod_llm(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	return prefixed(m, args, nargs, 1, AP_CAT_LLM, "llm");
}

static PyObject *mod_tool(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	return prefixed(m, args, nargs, 2, AP_CAT_TOOL, "tool");
}

static PyObject *mod_memory(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	return prefixed(m, args, nargs, 3, AP_CAT_MEMORY, "memory");
}

static PyObject *mod_start(PyObject *m, PyObject *const *args, Py_ssize_t nargs, PyObject *kw)
{
	modstate *st = state_of_module(m);
	PyObject *name, *cat, *s;

	if (name_cat_args(args, nargs, kw, &name, &cat, "start"))
		return NULL;
	s = make_span(st, name, 0, cat, -1);
	if (s && !((SpanObject *)s)->inert)
		span_begin(st, (SpanObject *)s);
	return s;
}

/* _span_id(name_id, category) and _begin_id(...): spans of a name already
 * interned (the decorators intern once, at decoration). */
static PyObject *span_from_id(PyObject *m, PyObject *const *args, Py_ssize_t nargs, int begin)
{
	modstate *st = state_of_module(m);
	unsigned long long id;
	long cat;
	SpanObject *s;

	if (surely_off())
		return Py_NewRef(st->inert);
	if (nargs != 2) {
		PyErr_SetString(PyExc_TypeError, "(name_id, category)");
		return NULL;
	}
	id = PyLong_AsUnsignedLongLong(args[0]);
	cat = PyLong_AsLong(args[1]);
	if (PyErr_Occurred())
		return NULL;
	s = span_alloc(st);
	if (!s)
		return NULL;
	s->name_id = id;
	s->category = cat >= 0 && cat < AP_CAT_COUNT ? (int)cat : AP_CAT_INTERNAL;
	if (begin)
		span_begin(st, s);
	return (PyObject *)s;
}

static PyObject *mod_span_id(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	return span_from_id(m, args, nargs, 0);
}

static PyObject *mod_begin_id(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	return span_from_id(m, args, nargs, 1);
}

static PyObject *mod_current_span(PyObject *m, PyObject *unused)
{
	PyObject *cur = current_value(state_of_module(m));

	return Py_NewRef(cur ? cur : Py_None);
}

static PyObject *mod_traceparent(PyObject *m, PyObject *unused)
{
	modstate *st = state_of_module(m);
	const struct ap_ctx *p = parent_ctx(st);
	struct ap_ctx c;
	char tp[56];

	if (p) {
		if (ap_ctx_traceparent(p, tp) == 0)
			return PyUnicode_FromStringAndSize(tp, 55);
		Py_RETURN_NONE;
	}
	if (ap_ctx_current(&c) == 0 && ap_ctx_traceparent(&c, tp) == 0)
		return PyUnicode_FromStringAndSize(tp, 55);
	Py_RETURN_NONE;
}

static PyObject *mod_adopt(PyObject *m, PyObject *arg)
{
	modstate *st = state_of_module(m);
	SpanObject *s;
	const char *tp;

	if (!PyUnicode_Check(arg)) {
		PyErr_SetString(PyExc_TypeError, "remote_parent() takes a traceparent str");
		return NULL;
	}
	tp = PyUnicode_AsUTF8(arg);
	if (!tp)
		return NULL;
	s = span_alloc(st);
	if (!s)
		return NULL;
	if (ap_ctx_parse(tp, &s->ctx) != 0) {
		Py_DECREF(s);
		PyErr_Format(PyExc_ValueError, "agentprof: not a W3C traceparent: %R", arg);
		return NULL;
	}
	s->state = SP_ADOPTED;
	return (PyObject *)s;
}

static PyObject *mod_enabled(PyObject *m, PyObject *unused)
{
	modstate *st = state_of_module(m);

	if (!ap_enabled() && !surely_off() && !st->attach_tried) {
		st->attach_tried = 1;
		ap_attach(NULL);	/* $AGENTPROF_SHM, as the first span would */
	}
	return PyBool_FromLong(ap_enabled());
}

static PyObject *mod_attach(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
	modstate *st = state_of_module(m);
	const char *seg = NULL;
	int ret;

	if (nargs > 1) {
		PyErr_SetString(PyExc_TypeError, "attach(segment=None)");
		return NULL;
	}
	if (nargs == 1 && args[0] != Py_None) {
		if (!PyUnicode_Check(args[0])) {
			PyErr_SetString(PyExc_TypeError, "attach() takes a segment name (str) or None");
			return NULL;
		}
		seg = PyUnicode_AsUTF8(args[0]);
		if (!seg)
			return NULL;
	}
	st->attach_tried = 1;
	ret = ap_attach(seg);
	if (ret != 0) {
		PyErr_Format(st->error, "agentprof: cannot attach to %s: %s", seg ? seg : "$AGENTPROF_SHM",
			     ap_strerror(ret));
		return NULL;
	}
	return PyBool_FromLong(ap_enabled());
}

static PyObject *mod_detach(PyObject *m, PyObject *unused)
{
	ap_detach();
	Py_RETURN_NONE;
}

static PyObject *mod_stats(PyObject *m, PyObject *unused)
{
	struct ap_stats s;

	ap_stats(&s);
	return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K}", "recorded", (unsigned long long)s.recorded,
			     "dropped_full", (unsigned long long)s.dropped_full,
			     "dropped_no_lane", (unsigned long long)s.dropped_no_lane,
			     "dropped_reentrant", (unsigned long long)s.dropped_reentrant,
			     "names_not_kept", (unsigned long long)s.names_not_kept);
}

static PyObject *mod_name_id(PyObject *m, PyObject *arg)
{
	uint64_t id;

	if (name_id_of(state_of_module(m), arg, 0, &id))
		return NULL;
	return PyLong_FromUnsignedLongLong(id);
}

static PyObject *mod_set_decorator(PyObject *m, PyObject *fn)
{
	modstate *st = state_of_module(m);

	Py_XSETREF(st->decorate, Py_NewRef(fn));
	Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
	{ "span", (PyCFunction)(void (*)(void))mod_span, METH_FASTCALL | METH_KEYWORDS, span_fn_doc },
	{ "llm", (PyCFunction)(void (*)(void))mod_llm, METH_FASTCALL,
	  "llm(model) -> Span: span(\"llm:<model>\", \"llm\"); set_tokens(input, output) uses the model." },
	{ "tool", (PyCFunction)(void (*)(void))mod_tool, METH_FASTCALL, "tool(name) -> Span: span(\"tool:<name>\", \"tool\")." },
	{ "memory", (PyCFunction)(void (*)(void))mod_memory, METH_FASTCALL,
	  "memory(name) -> Span: span(\"memory:<name>\", \"memory\")." },
	{ "start", (PyCFunction)(void (*)(void))mod_start, METH_FASTCALL | METH_KEYWORDS,
	  "start(name, category=\"internal\") -> Span: begun now under the current span, not made current;\n"
	  "end it with .end() from any task or thread." },
	{ "current_span", mod_current_span, METH_NOARGS, "The span current in this context, or None." },
	{ "traceparent", mod_traceparent, METH_NOARGS,
	  "W3C traceparent of the current span (this context, not the thread); else the inherited\n"
	  "$TRACEPARENT; None when there is none or profiling is off." },
	{ "_adopt", mod_adopt, METH_O, NULL },
	{ "_span_id", (PyCFunction)(void (*)(void))mod_span_id, METH_FASTCALL, NULL },
	{ "_begin_id", (PyCFunction)(void (*)(void))mod_begin_id, METH_FASTCALL, NULL },
	{ "enabled", mod_enabled, METH_NOARGS, "True when this process records spans (attaches from $AGENTPROF_SHM if it has not yet)." },
	{ "attach", (PyCFunction)(void (*)(void))mod_attach, METH_FASTCALL,
	  "attach(segment=None): attach to `segment` or $AGENTPROF_SHM; raises agentprof.Error on a bad segment." },
	{ "detach", mod_detach, METH_NOARGS, "Stop recording in this process." },
	{ "stats", mod_stats, METH_NOARGS, "This process's counters: events recorded and dropped (a span is two events)." },
	{ "name_id", mod_name_id, METH_O, "The name's id (XXH3-64), as the reader keys it." },
	{ "_set_decorator", mod_set_decorator, METH_O, NULL },
	{ NULL, NULL, 0, NULL }
};

/* ------------------------------------------------------------------------ */
/* Module                                                                    */

static int module_exec(PyObject *m)
{
	modstate *st = state_of_module(m);
	static const char *const cats[AP_CAT_COUNT] = { "internal", "llm", "tool", "memory" };
	static const char *const consts[AP_CAT_COUNT] = { "INTERNAL", "LLM", "TOOL", "MEMORY" };
	SpanObject *inert;

	memset(st, 0, sizeof(*st));
	st->span_type = PyType_FromModuleAndSpec(m, &span_spec, NULL);
	if (!st->span_type)
		return -1;
	st->off_type = PyType_FromModuleAndSpec(m, &off_spec, st->span_type);
	st->ready_type = PyType_FromModuleAndSpec(m, &ready_spec, NULL);
	st->decorated_type = PyType_FromModuleAndSpec(m, &decorated_spec, NULL);
	if (!st->off_type || !st->ready_type || !st->decorated_type ||
	    off_type_fill(m, (PyTypeObject *)st->off_type) < 0)
		return -1;
	if (PyModule_AddObjectRef(m, "Span", st->span_type) < 0 ||
	    PyModule_AddObjectRef(m, "Decorated", st->decorated_type) < 0)
		return -1;
	st->current = PyContextVar_New("agentprof.current_span", Py_None);
	st->error = PyErr_NewExceptionWithDoc("agentprof.Error",
					      "A segment that cannot be attached (agentprof.attach()).",
					      PyExc_RuntimeError, NULL);
	if (!st->current || !st->error || PyModule_AddObjectRef(m, "Error", st->error) < 0 ||
	    PyModule_AddObjectRef(m, "_current", st->current) < 0)
		return -1;
	for (int i = 0; i < AP_CAT_COUNT; i++) {
		st->cat_str[i] = PyUnicode_InternFromString(cats[i]);
		if (!st->cat_str[i] || PyModule_AddIntConstant(m, consts[i], i) < 0)
			return -1;
	}
	inert = PyObject_New(SpanObject, (PyTypeObject *)st->off_type);
	if (!inert)
		return -1;
	memset(&inert->ctx, 0, sizeof(inert->ctx));
	inert->name_id = inert->model_id = 0;
	inert->token = inert->prev = NULL;
	inert->category = AP_CAT_INTERNAL;
	inert->state = SP_FRESH;
	inert->inert = 1;
	st->inert = (PyObject *)inert;
	if (PyModule_AddStringConstant(m, "VERSION", AGENTPROF_VERSION) < 0)
		return -1;
	return 0;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg)
{
	modstate *st = state_of_module(m);

	if (!st)
		return 0;
	Py_VISIT(st->span_type);
	Py_VISIT(st->off_type);
	Py_VISIT(st->decorated_type);
	Py_VISIT(st->ready_type);
	Py_VISIT(st->current);
	Py_VISIT(st->inert);
	Py_VISIT(st->error);
	Py_VISIT(st->decorate);
	for (int i = 0; i < AP_CAT_COUNT; i++)
		Py_VISIT(st->cat_str[i]);
	for (uint32_t i = 0; i < NAME_CACHE; i++)
		Py_VISIT(st->names[i].key);
	return 0;
}

static int module_clear(PyObject *m)
{
	modstate *st = state_of_module(m);

	if (!st)
		return 0;
	Py_CLEAR(st->inert);
	Py_CLEAR(st->span_type);
	Py_CLEAR(st->off_type);
	Py_CLEAR(st->decorated_type);
	Py_CLEAR(st->ready_type);
	Py_CLEAR(st->current);
	Py_CLEAR(st->error);
	Py_CLEAR(st->decorate);
	for (int i = 0; i < AP_CAT_COUNT; i++)
		Py_CLEAR(st->cat_str[i]);
	for (uint32_t i = 0; i < NAME_CACHE; i++)
		Py_CLEAR(st->names[i].key);
	return 0;
}

static void module_free(void *m)
{
	module_clear((PyObject *)m);
}

static PyModuleDef_Slot module_slots[] = {
	{ Py_mod_exec, module_exec },
	{ 0, NULL }
};

static struct PyModuleDef agentprof_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "_agentprof",
	.m_doc = "agentprof's C extension; use the agentprof package.",
	.m_size = sizeof(modstate),
	.m_methods = module_methods,
	.m_slots = module_slots,
	.m_traverse = module_traverse,
	.m_clear = module_clear,
	.m_free = module_free,
};

PyMODINIT_FUNC PyInit__agentprof(void);
PyMODINIT_FUNC PyInit__agentprof(void)
{
	return PyModuleDef_Init(&agentprof_module);
}
