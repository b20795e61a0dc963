# SPDX-License-Identifier: MIT
"""pip installs the module offline with the setuptools already there
(--no-build-isolation --no-index), and the installed copy records."""
import os
import subprocess

from conftest import AGENTPROF, PYTHON

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", "..", "writer-lib", "python"))


def test_pip_install_offline(tmp_path):
    target = tmp_path / "site"
    p = subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index",
                        "--target", str(target), SRC], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (target / "agentprof" / "__init__.pyi").exists() and (target / "agentprof" / "py.typed").exists()
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("AGENTPROF_SHM", None)
    prog = ("import agentprof as ap\n"
            "with ap.span('installed', 'tool') as s:\n"
            "    pass\n"
            "print(ap.__file__.startswith(%r), s.recording)\n" % str(target))
    out = tmp_path / "out"
    r = subprocess.run([AGENTPROF, "record", "-q", "-o", str(out), "--", PYTHON, "-c", prog], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True True"
    with open(out / "report.json") as f:
        assert '"name": "installed"' in f.read()
