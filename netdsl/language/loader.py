"""Source files to programs: imports resolved relative to the importer, each file parsed
once, cycles reported at the import that closes them, and the standard library.

Import policy (docs/language.md, "Imports"): a file import names a `.net` file inside the
folder tree of the root spec (the folder of the file given to `load`, or the current folder
for text), or inside a folder allowed explicitly (`allow_import_paths`, the CLI's
`--allow-import-path DIR`); links are followed before the check. Anything else is refused
at the import, without reading the file, so a spec cannot make netdsl read (or quote in an
error) a file outside its tree. Every source is read the same way: a regular file (not a
folder, device or FIFO), at most MAX_SOURCE_BYTES (a --params file: 1 MiB), UTF-8.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from netdsl.errors import (
    LimitError,
    NetdslError,
    Note,
    SeveralErrors,
    Span,
    SpecNotFoundError,
    remember_source,
)
from netdsl.language import syntax as ast
from netdsl.language.fastparse import MAX_SOURCE_BYTES  # the parser's limit on text
from netdsl.language.fastparse import parse_text as parse

STDLIB_PREFIX = "std"
#: Imports nest at most this deep (a chain of files each importing the next).
MAX_IMPORT_DEPTH = 32
#: Files in one program, the root and everything it imports.
MAX_IMPORT_FILES = 256


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
    #: Recorded elaborations of its networks (netdsl/language/replay.py): None before
    #: the first elaboration, the network's name after it, then a `Replays`.
    replays: object = None
    #: What each name of the program refers to (netdsl/language/resolve.py), on first use.
    names: object = None
    #: Decision calls written with literal scalars alone (`choice([3, 5, 7])`), by the
    #: call's id (the program keeps its syntax tree): their domain, default and name,
    #: which no evaluation can change (`Evaluator.decision_parts`).
    decision_parts: dict[int, tuple[Any, Any, str | None]] = field(default_factory=dict)
    #: The ids of those calls' domains, and what a candidate keeps of one of them
    #: reached: its `Decision` by (name, domain id), and the (decision, value) pair by
    #: (name, domain id, frozen value) (`Evaluator.kept_read`).
    kept_domains: set[int] = field(default_factory=set)
    kept_decisions: dict[tuple[str, int], Any] = field(default_factory=dict)
    kept_reads: dict[tuple[str, int, Any], tuple[Any, Any]] = field(default_factory=dict)


@functools.cache  # the package does not move while it runs; resolving costs ~40 us
def stdlib_dir() -> Path:
    """The folder of the standard library's `.net` files, inside the package."""
    return Path(__file__).resolve().parent.parent / "stdlib"


def read_source(path: Path, what: str, kind: type[NetdslError] = NetdslError,
                span: Span | None = None, limit: int = MAX_SOURCE_BYTES) -> str:
    """The text of a source file, checked before it is read: a regular file of at most
    `limit` bytes, UTF-8. Errors start with `what` ("cannot read x.net"); they never
    quote the content."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if kind is NetdslError:  # a spec or an import: catchable as FileNotFoundError too
            raise SpecNotFoundError(f"{what}: {exc.strerror or exc}", str(path), span) from None
        raise kind(f"{what}: {exc.strerror or exc}", span) from None
    except ValueError:  # a NUL in the path
        raise kind(f"{what}: a file name cannot contain a NUL character", span) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise kind(f"{what}: it is a folder, not a file", span)
        if not stat.S_ISREG(info.st_mode):
            raise kind(f"{what}: it is not a regular file (a device, FIFO or socket)", span)
        too_big = LimitError if kind is NetdslError else kind
        if info.st_size > limit:
            raise too_big(f"{what}: it has {info.st_size:,} bytes, past the limit of "
                             f"{limit:,} bytes for a source file", span)
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while we read it
        raise (LimitError if kind is NetdslError else kind)(f"{what}: it is past the limit of {limit:,} bytes for a source "
                         "file", span)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise kind(f"{what}: it is not UTF-8 text (byte {exc.start + 1}, line {line})", span) from None


def load_file(path: str | Path, allow_import_paths: Sequence[str | Path] = ()) -> Program:
    """Parse a spec file and everything it imports (see the import policy above)."""
    path = Path(path)
    text = read_source(path, f"cannot read {path}")
    return load_text(text, str(path), allow_import_paths)


def load_text(text: str, path: str = "<string>",
              allow_import_paths: Sequence[str | Path] = ()) -> Program:
    """Parse spec text (imports resolve relative to `path`'s folder)."""
    loader = _Loader(path, allow_import_paths)
    module = loader.parse_root(text, path)
    return loader.program(module)


class _Loader:
    """Parses each file once per load, following imports depth-first."""

    def __init__(self, root: str = "<string>", allowed: Sequence[str | Path] = ()) -> None:
        self.modules: dict[str, ast.Module] = {}
        self.key_of: dict[str, str] = {}  # display path -> key
        self.visiting: list[str] = []
        # (importer, import) -> the imported file's key: each import is resolved once per
        # load (resolving a path reads the file system: ~40 us each, a dozen per ResNet)
        self.import_keys: dict[tuple[str, str, bool], tuple[str, str]] = {}
        # the folders imports may read from: the root spec's tree, and the allowed ones
        self.top = Path.cwd() if root.startswith("<") else Path(root).parent
        self.allowed = [Path(p).resolve() for p in (self.top, *allowed)]

    def parse_root(self, text: str, path: str, key: str | None = None) -> ast.Module:
        key = key or _key(path)
        module = parse_reporting_all(text, path)
        self.modules[key] = module
        self.key_of[path] = key
        self.visiting.append(key)
        errors: list[NetdslError] = []
        for imp in module.imports:  # each import that fails is reported
            try:
                self.follow(imp, path)
            except SeveralErrors as exc:
                errors.extend(exc.errors)
            except NetdslError as exc:
                errors.append(exc)
        self.visiting.pop()
        _raise_all(errors)
        return module

    def import_key(self, imp: ast.Import, importer: str) -> tuple[str, str]:
        """The file an import names and its key (the resolved path), once per load."""
        asked = (importer, imp.target, imp.is_std)
        found = self.import_keys.get(asked)
        if found is None:
            target = self.resolve(imp, importer)
            found = self.import_keys[asked] = (target, _key(target))
        return found

    def follow(self, imp: ast.Import, importer: str) -> None:
        target, key = self.import_key(imp, importer)
        if key in self.visiting:
            cycle = self.visiting[self.visiting.index(key):] + [key]
            raise NetdslError(f"import cycle: {' -> '.join(Path(c).name for c in cycle)}", imp.span)
        if key in self.modules:
            return
        if len(self.visiting) > MAX_IMPORT_DEPTH:
            raise LimitError(f"imports nest more than {MAX_IMPORT_DEPTH} files deep (the limit)",
                             imp.span)
        if len(self.modules) >= MAX_IMPORT_FILES:
            raise LimitError(f"a program imports more than {MAX_IMPORT_FILES} files (the limit)",
                             imp.span)
        if not Path(target).exists():
            raise SpecNotFoundError(f"cannot import '{imp.target}': no file {target}", target,
                                    imp.span)
        text = read_source(Path(target), f"cannot import '{imp.target}'", span=imp.span)
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
        return self.check_policy(imp, importer)

    def check_policy(self, imp: ast.Import, importer: str) -> str:
        """The file a path import names, if the import policy lets it be read."""
        if "\x00" in imp.target:
            raise NetdslError(f"cannot import {imp.target!r}: a file name cannot contain a NUL "
                              "character", imp.span)
        if not imp.target.endswith(".net"):
            raise NetdslError(f"cannot import '{imp.target}': imports name .net spec files",
                              imp.span)
        base = Path(importer).parent if not importer.startswith("<") else Path.cwd()
        target = base / imp.target
        real = target.resolve()
        if not any(real.is_relative_to(folder) for folder in self.allowed):
            raise NetdslError(f"cannot import '{imp.target}': it is outside the spec's folder "
                              f"tree ({self.top}); allow another folder with "
                              "--allow-import-path DIR", imp.span)
        return str(target)

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
            key = self.import_key(imp, module.path)[1]  # as when it was loaded
            if key not in seen:
                order.extend(self._in_import_order(self.modules[key], seen))
        order.append(module)
        return order

    def namespace(self, module: ast.Module,
                  done: dict[str, dict[str, ast.BlockDef]]) -> dict[str, ast.BlockDef]:
        """Blocks visible in `module`: its imports' namespaces, then its own definitions."""
        visible: dict[str, ast.BlockDef] = {}
        for imp in module.imports:
            imported = done[self.modules[self.import_key(imp, module.path)[1]].path]
            for name, block in imported.items():
                other = visible.get(name)
                if other is not None and other is not block:
                    raise NetdslError(f"'{name}' is defined in both {other.span.file} and "
                                      f"{block.span.file}", imp.span,
                                      [Note("one definition", other.span),
                                       Note("the other", block.span)])
                visible[name] = block
        own: dict[str, ast.BlockDef] = {}
        twice: list[NetdslError] = []
        for definition in module.definitions:
            previous = own.get(definition.name)
            if previous is not None:
                twice.append(NetdslError(f"'{definition.name}' is defined twice",
                                         definition.span, [Note("first defined here",
                                                                previous.span)]))
                continue
            own[definition.name] = definition
        _raise_all(twice)
        visible.update((n, d) for n, d in own.items() if not d.is_network)
        return visible


def parse_reporting_all(text: str, path: str) -> ast.Module:
    """`parse`, but a file with syntax errors in several top-level items (imports, blocks,
    networks) reports each of them (at most MAX_ERRORS), not only the first.

    Recovery: the file is cut before every line that starts with `import`, `block` or
    `network` at column 1, and each piece is parsed alone (its errors moved to the piece's
    lines). The reserved words cannot start a line inside an item, so the pieces are the
    items; a mistake that spans items (an unclosed `{`) shows in the piece where it is.
    """
    try:
        return parse(text, path)
    except NetdslError as first:
        errors = _errors_by_item(text, path) if first.span is not None else []
        remember_source(path, text)  # the pieces were remembered under the same name
        if len(errors) <= 1:
            raise
        if len(errors) > MAX_ERRORS:
            errors = errors[:MAX_ERRORS]
            errors[-1].with_note(f"stopped after {MAX_ERRORS} errors")
        raise SeveralErrors(errors) from None


def _raise_all(errors: list[NetdslError]) -> None:
    """Raise the one error, or all of them (at most MAX_ERRORS), if there are any."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SeveralErrors(errors[:MAX_ERRORS])


#: Independent errors reported at most in one run.
MAX_ERRORS = 10
_ITEM_START = re.compile(r"^(?:import|block|network)\b", re.M)


def _errors_by_item(text: str, path: str) -> list[NetdslError]:
    starts = [m.start() for m in _ITEM_START.finditer(text)]
    if len(starts) < 2:
        return []
    starts[0] = 0  # comments and blank lines before the first item go with it
    errors: list[NetdslError] = []
    for begin, end in zip(starts, [*starts[1:], len(text)]):
        offset = text.count("\n", 0, begin)
        try:
            parse(text[begin:end], path)
        except NetdslError as exc:
            errors.append(_moved(exc, offset))
            if len(errors) > MAX_ERRORS:
                break
    return errors


def _moved(error: NetdslError, lines: int) -> NetdslError:
    """`error` with its spans (and its notes') `lines` lines further down."""
    def move(span: Span | None) -> Span | None:
        return span and replace(span, line=span.line + lines, end_line=span.end_line + lines)

    return type(error)(error.message, move(error.span),
                       [Note(n.message, move(n.span)) for n in error.notes], error.severity)


def _key(path: str) -> str:
    return path if path.startswith("<") else str(Path(path).resolve())
