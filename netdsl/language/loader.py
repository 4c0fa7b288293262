"""Source files to programs: imports resolved relative to the importer, each file parsed
once, cycles reported at the import that closes them, and the standard library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netdsl.errors import NetdslError, Note, SpecNotFoundError
from netdsl.language import syntax as ast
from netdsl.language.fastparse import parse_text as parse

STDLIB_PREFIX = "std"


@dataclass
class Program:
    """A parsed file with everything it imports: the blocks it can call, its networks."""

    path: str
    module: ast.Module
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    networks: dict[str, ast.BlockDef] = field(default_factory=dict)
    #: The blocks visible in each module (by display path): its own definitions, then
    #: everything its imports make visible. A block's body resolves names in its home
    #: module, so a spec's own `stage` never changes what a library block calls.
    namespaces: dict[str, dict[str, ast.BlockDef]] = field(default_factory=dict)
    #: Memoised block calls (see netdsl/language/memo.py), kept across analyses.
    templates: dict[tuple, object] = field(default_factory=dict)
    #: What each name of the program refers to (netdsl/language/resolve.py), on first use.
    names: object = None


def stdlib_dir() -> Path:
    """The folder of the standard library's `.net` files, inside the package."""
    return Path(__file__).resolve().parent.parent / "stdlib"


def load_file(path: str | Path) -> Program:
    """Parse a spec file and everything it imports."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecNotFoundError(f"cannot read {path}: {exc.strerror or exc}", str(path)) from None
    except UnicodeDecodeError:
        raise NetdslError(f"{path} is not UTF-8 text") from None
    return load_text(text, str(path))


def load_text(text: str, path: str = "<string>") -> Program:
    """Parse spec text (imports resolve relative to `path`'s folder)."""
    loader = _Loader()
    module = loader.parse_root(text, path)
    return loader.program(module)


class _Loader:
    """Parses each file once per load, following imports depth-first."""

    def __init__(self) -> None:
        self.modules: dict[str, ast.Module] = {}
        self.key_of: dict[str, str] = {}  # display path -> key
        self.visiting: list[str] = []

    def parse_root(self, text: str, path: str, key: str | None = None) -> ast.Module:
        key = key or _key(path)
        module = parse(text, path)
        self.modules[key] = module
        self.key_of[path] = key
        self.visiting.append(key)
        for imp in module.imports:
            self.follow(imp, path)
        self.visiting.pop()
        return module

    def follow(self, imp: ast.Import, importer: str) -> None:
        target = self.resolve(imp, importer)
        key = _key(target)
        if key in self.visiting:
            cycle = self.visiting[self.visiting.index(key):] + [key]
            raise NetdslError(f"import cycle: {' -> '.join(Path(c).name for c in cycle)}", imp.span)
        if key in self.modules:
            return
        try:
            text = Path(target).read_text(encoding="utf-8")
        except OSError:
            raise SpecNotFoundError(f"cannot import '{imp.target}': no file {target}", target,
                                    imp.span) from None
        # the standard library is shown as std/NAME.net, not by its install path
        display = f"std/{Path(target).name}" if imp.is_std else target
        self.parse_root(text, display, key)

    def resolve(self, imp: ast.Import, importer: str) -> str:
        """The file an import names (standard library modules inside the package)."""
        if imp.is_std:
            parts = imp.target.split(".")
            if parts[0] != STDLIB_PREFIX or len(parts) != 2:
                raise NetdslError(f"cannot import '{imp.target}': module imports are std.NAME; "
                                  'import files by path: import "blocks/file.net"', imp.span)
            target = stdlib_dir() / f"{parts[1]}.net"
            if not target.exists():
                names = sorted(p.stem for p in stdlib_dir().glob("*.net"))
                raise NetdslError(f"no standard library module '{imp.target}'; there are: "
                                  + ", ".join(f"std.{n}" for n in names), imp.span)
            return str(target)
        if importer.startswith("std/"):
            raise NetdslError("standard library modules import others as std.NAME", imp.span)
        base = Path(importer).parent if importer != "<string>" else Path.cwd()
        return str(base / imp.target)

    def program(self, root: ast.Module) -> Program:
        prog = Program(root.path, root)
        for module in self._in_import_order(root, set()):
            prog.namespaces[module.path] = self.namespace(module, prog.namespaces)
        prog.blocks = prog.namespaces[root.path]
        prog.networks = {d.name: d for d in root.definitions if d.is_network}
        return prog

    def _in_import_order(self, module: ast.Module, seen: set[str]) -> list[ast.Module]:
        """Imported modules first (depth-first), each once, then the module itself."""
        order: list[ast.Module] = []
        seen.add(self.key_of[module.path])
        for imp in module.imports:
            key = _key(self.resolve(imp, module.path))  # same key as when it was loaded
            if key not in seen:
                order.extend(self._in_import_order(self.modules[key], seen))
        order.append(module)
        return order

    def namespace(self, module: ast.Module,
                  done: dict[str, dict[str, ast.BlockDef]]) -> dict[str, ast.BlockDef]:
        """Blocks visible in `module`: its imports' namespaces, then its own definitions."""
        visible: dict[str, ast.BlockDef] = {}
        for imp in module.imports:
            imported = done[self.modules[_key(self.resolve(imp, module.path))].path]
            for name, block in imported.items():
                other = visible.get(name)
                if other is not None and other is not block:
                    raise NetdslError(f"'{name}' is defined in both {other.span.file} and "
                                      f"{block.span.file}", imp.span,
                                      [Note("one definition", other.span),
                                       Note("the other", block.span)])
                visible[name] = block
        own: dict[str, ast.BlockDef] = {}
        for definition in module.definitions:
            previous = own.get(definition.name)
            if previous is not None:
                raise NetdslError(f"'{definition.name}' is defined twice", definition.span,
                                  [Note("first defined here", previous.span)])
            own[definition.name] = definition
        visible.update((n, d) for n, d in own.items() if not d.is_network)
        return visible


def _key(path: str) -> str:
    return path if path.startswith("<") else str(Path(path).resolve())
