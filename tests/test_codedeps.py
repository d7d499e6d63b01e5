"""The import graph behind every rule's `code` inputs (diffusionlab.codedeps): what a script can
import, checked against Python's own modulefinder and against what an import really loads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from modulefinder import ModuleFinder
from pathlib import Path

import pytest

from diffusionlab.codedeps import ImportGraph

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def module_names(files: list[Path], src: Path = SRC) -> set[str]:
    return {".".join(f.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
            for f in files}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_module_modulefinder_reaches_is_an_input(script):
    """modulefinder reads the bytecode of every import, lazy ones included; with only src/ on
    its path it follows this package alone."""
    finder = ModuleFinder(path=[str(SRC)])
    finder.run_script(str(script))
    found = {name for name in finder.modules if name.split(".")[0] == "diffusionlab"}
    computed = module_names(ImportGraph(SRC).script_modules(script))
    assert found, script
    assert found <= computed


def test_what_importing_the_report_script_loads_is_an_input():
    """report.py reaches site modules through diffusionlab.site's lazy attributes
    (importlib.import_module), which no static finder sees."""
    script = ROOT / "scripts" / "report.py"
    code = (f"import json, runpy, sys; runpy.run_path({str(script)!r}, run_name='imported'); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('diffusionlab'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": ""})
    loaded = set(json.loads(out.stdout.splitlines()[-1]))
    assert {"diffusionlab.site.render", "diffusionlab.site.provenance"} <= loaded
    assert loaded <= module_names(ImportGraph(SRC).script_modules(script))


def test_the_graph_follows_every_kind_of_import(tmp_path):
    write(tmp_path / "diffusionlab", {
        "__init__.py": "",
        "top.py": "from .pkg import leaf\n",
        "pkg/__init__.py": "from . import sub\n",
        "pkg/sub.py": "def f():\n    from ..lazy import g  # only when called\n",
        "pkg/leaf.py": "import os\n",
        "lazy.py": "from diffusionlab.dyn import thing\n",
        "dyn/__init__.py": "import importlib\n\ndef __getattr__(n):\n"
                           "    return importlib.import_module(f'.{n}', __name__)\n",
        "dyn/thing.py": "",
        "dyn/deep/other.py": "",
        "unused.py": "",
    })
    script = tmp_path / "script.py"
    script.write_text("import json\nfrom diffusionlab.top import x\n")
    found = module_names(ImportGraph(tmp_path).script_modules(script), tmp_path)
    assert found == {
        "diffusionlab", "diffusionlab.top", "diffusionlab.pkg", "diffusionlab.pkg.sub",
        "diffusionlab.pkg.leaf", "diffusionlab.lazy", "diffusionlab.dyn",
        "diffusionlab.dyn.thing", "diffusionlab.dyn.deep.other",
    }


def test_each_load_sees_edits_made_since_the_last(tmp_path):
    write(tmp_path / "diffusionlab", {"__init__.py": "", "a.py": "", "b.py": ""})
    script = tmp_path / "script.py"
    script.write_text("from diffusionlab import a\n")
    before = ImportGraph(tmp_path).script_modules(script)
    (tmp_path / "diffusionlab" / "a.py").write_text("from . import b\n")
    after = ImportGraph(tmp_path).script_modules(script)
    assert module_names(after, tmp_path) - module_names(before, tmp_path) == {"diffusionlab.b"}
