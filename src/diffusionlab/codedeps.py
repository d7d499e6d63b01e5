"""The package modules a script can import, read from the source with `ast` (nothing imported).

Snakemake does not track imports: each rule lists the modules of this package that its script
can reach as `code=` inputs, so that editing one reruns exactly the jobs that run it. The graph
over-approximates on purpose: imports inside functions, `if TYPE_CHECKING:` blocks and either
branch of a job's dispatch all count, every package `__init__` on the way is executed, and an
`importlib.import_module` whose name is not a literal may load any module of its package.
Modules outside this package (torch, pandas, ...) are the environment's, not inputs.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "diffusionlab"


class ImportGraph:
    """The import graph of the package under `src` (the folder that holds `diffusionlab/`).

    Each file is parsed once per instance: one instance per workflow load keeps Snakemake's
    start-up fast and still sees edits made between two loads.
    """

    def __init__(self, src: str | Path):
        self.src = Path(src)
        self._imports: dict[Path, frozenset[str]] = {}
        self._scripts: dict[Path, list[Path]] = {}

    def script_modules(self, script: str | Path) -> list[Path]:
        """Files of every package module `script` can import, directly or not, sorted."""
        script = Path(script)
        if script not in self._scripts:
            seen: set[str] = set()
            todo = list(self._direct(script, package=None))
            while todo:
                name = todo.pop()
                if name in seen or self.file(name) is None:
                    continue
                seen.add(name)
                todo += self._direct(self.file(name), package=self._package_of(name))
            self._scripts[script] = sorted(self.file(name) for name in seen)
        return list(self._scripts[script])

    def file(self, module: str) -> Path | None:
        """The source file of a dotted module name of the package, or None if there is none."""
        parts = module.split(".")
        if parts[0] != PACKAGE:
            return None
        base = self.src.joinpath(*parts)
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def _package_of(self, module: str) -> str:
        """The package relative imports of `module` start from."""
        is_package = self.file(module).name == "__init__.py"
        return module if is_package else module.rpartition(".")[0]

    def _direct(self, path: Path, package: str | None) -> frozenset[str]:
        """Package modules the file at `path` imports itself, with the packages above each."""
        if path not in self._imports:
            names = set()
            for name in _imported_names(ast.parse(path.read_bytes(), str(path)), package):
                names |= self._with_parents(name, package)
            self._imports[path] = frozenset(names)
        return self._imports[path]

    def _with_parents(self, name: str, package: str | None) -> set[str]:
        if name.endswith(".*"):  # a computed name: any module of the package may load
            folder = self.src.joinpath(*name[:-2].split("."))
            name, found = name[:-2], {
                ".".join(p.relative_to(self.src).with_suffix("").parts).removesuffix(".__init__")
                for p in folder.rglob("*.py")
            }
        else:
            found = {name}
        parts = name.split(".")
        return found | {".".join(parts[:i]) for i in range(1, len(parts))}


def _imported_names(tree: ast.AST, package: str | None) -> set[str]:
    """Dotted names of every module the tree may import: the module of `from x import y` and
    `x.y` (y may be a submodule; names that are not modules are dropped later, as they have
    no file). `package` resolves relative imports (None for a script)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is not None:
                names.add(base)
                names |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
        elif isinstance(node, ast.Call) and _calls_import_module(node) and node.args:
            names.add(_dynamic(node.args[0], package))
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def _absolute(module: str | None, level: int, package: str | None) -> str | None:
    if level == 0:
        return module
    if package is None:
        return None
    parts = package.split(".")
    if level - 1 >= len(parts):
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


def _calls_import_module(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__")


def _dynamic(arg: ast.expr, package: str | None) -> str:
    """The module an import_module call loads: its literal name, else every module of the
    package it names relatively (or of the whole package)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        level = len(arg.value) - len(arg.value.lstrip("."))
        return _absolute(arg.value[level:] or None, level, package) or PACKAGE
    head = arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else None
    relative = isinstance(head, ast.Constant) and str(head.value).startswith(".")
    return f"{package}.*" if relative and package else f"{PACKAGE}.*"
