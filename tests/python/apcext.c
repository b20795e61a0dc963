/* SPDX-License-Identifier: MIT */
/*
 * apcext.c - a C extension that records with agentprof's C API (ap_begin,
 * the thread stack), as a library written in C would: the test of a C span
 * recorded inside a Python span. It links the same libagentprof.so.1 as
 * the agentprof module, so the process has one writer state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "agentprof.h"

/* c_span(name): a span named `name` with one child "<name>/child". */
static PyObject *c_span(PyObject *m, PyObject *arg)
{
	char child[128];
	const char *name = PyUnicode_AsUTF8(arg);
	uint64_t s, c;

	if (!name)
		return NULL;
	snprintf(child, sizeof(child), "%s/child", name);
	s = ap_begin(ap_name(name), AP_CAT_TOOL);
	c = ap_begin(ap_name(child), AP_CAT_INTERNAL);
	ap_end(c);
	ap_end(s);
	return PyLong_FromUnsignedLongLong(s);
}

static PyMethodDef methods[] = {
	{ "c_span", c_span, METH_O, NULL },
	{ NULL, NULL, 0, NULL }
};

static struct PyModuleDef mod = { PyModuleDef_HEAD_INIT, "apcext", NULL, 0, methods, NULL, NULL, NULL, NULL };

PyMODINIT_FUNC PyInit_apcext(void);
PyMODINIT_FUNC PyInit_apcext(void)
{
	return PyModule_Create(&mod);
}
