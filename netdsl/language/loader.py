"""Source files to programs: imports resolved relative to the importer, each file parsed
once, cycles reported at the import that closes them, and the standard library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netdsl.errors import NetdslError, Note
from netdsl.language import syntax as ast
from netdsl.language.parser import parse

STDLIB_PREFIX = "std"


@dataclass
class Program:
    """A parsed file with everything it imports: the blocks it can call, its networks."""

    path: str
    module: ast.Module
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    networks: dict[str, ast.BlockDef] = field(default_factory=dict)


def stdlib_dir() -> Path:
    """The folder of the standard library's `.net` files, inside the package."""
    return Path(__file__).resolve().parent.parent / "stdlib"


def load_file(path: str | Path) -> Program:
    """Parse a spec file and everything it imports."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NetdslError(f"cannot read {path}: {exc.strerror or exc}") from None
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
            raise NetdslError(f"cannot import '{imp.target}': no file {target}", imp.span) from None
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
            for definition in module.definitions:
                self.define(prog, definition, module is root)
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

    @staticmethod
    def define(prog: Program, definition: ast.BlockDef, is_root: bool) -> None:
        table = prog.networks if definition.is_network else prog.blocks
        previous = prog.blocks.get(definition.name) or prog.networks.get(definition.name)
        if previous is not None and (is_root == (previous.span.file == prog.path)):
            raise NetdslError(f"'{definition.name}' is defined twice", definition.span,
                              [Note("first defined here", previous.span)])
        if definition.is_network and not is_root:
            return  # networks of imported files are not this file's networks
        table[definition.name] = definition  # the importing file's own definitions win


def _key(path: str) -> str:
    return path if path.startswith("<") else str(Path(path).resolve())
