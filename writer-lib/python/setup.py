# SPDX-License-Identifier: MIT
"""pip install --no-build-isolation ./writer-lib/python (offline, with the
setuptools already installed). The extension links libagentprof.so.1 of
this tree: build/ at the top of the checkout (built here with make when it
is missing), or AGENTPROF_LIB_DIR; the installed module finds it through
its rpath, so keep that directory, or install libagentprof.so.1 where the
dynamic linker looks."""
import os
import subprocess

from setuptools import Extension, setup

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.normpath(os.path.join(here, "..", ".."))
libdir = os.environ.get("AGENTPROF_LIB_DIR", os.path.join(top, "build"))
if not os.path.exists(os.path.join(libdir, "libagentprof.so.1")) and os.path.exists(os.path.join(top, "Makefile")):
    subprocess.check_call(["make", "-C", top, "build/libagentprof.so.1"])

setup(
    ext_modules=[
        Extension(
            "agentprof._agentprof",
            sources=["_agentprof.c"],
            include_dirs=[os.path.join(here, "..", "include")],
            library_dirs=[libdir],
            runtime_library_dirs=[libdir],
            extra_link_args=["-l:libagentprof.so.1"],
        )
    ],
)
