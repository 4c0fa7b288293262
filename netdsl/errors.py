"""Diagnostics: one exception family, each error carrying a source span and notes.

For callers, every mistake netdsl reports is a `NetdslError`; catch a kind by its class:

- `UsageError`: a bad argument (a command-line option, an API keyword, `--set NAME=...`);
- `LimitError`: a documented limit was exceeded (repeat count, nesting depth, tensor size);
- `SpecNotFoundError`: a spec file cannot be read (also a `FileNotFoundError`);
- `UnknownLayerError`: `Report.layer(name)` of a name the report lacks (also a `KeyError`);
- `Diagnostic`: a warning, reported next to the results (never raised by an analysis).

`str(error)` is the message, after `file:line:col: ` when the error is located; the span
is also there as attributes (`error.span`, `error.file`, `error.line`, `error.column`),
with `error.notes` for the secondary messages. `error.render()` is what the command line
prints, like a compiler::

    specs/broken.net:14:9: error: add() got branches of different shapes: ...
       14 |         add(
          |         ^~~
    note: in block 'basic' called from 'stage' at specs/broken.net:21:5
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from typing import TypeVar

#: How to install PyTorch without its CUDA packages (named by every "needs torch" message).
TORCH_CPU_INSTALL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"

# Source texts by display path, filled by the loader, so that any error can show
# its line without the raiser having to carry the text around.
_SOURCES: dict[str, str] = {}


def remember_source(path: str, text: str) -> None:
    """Record the text of a source file so diagnostics can quote its lines."""
    _SOURCES[path] = text


def remembered_source(path: str) -> str | None:
    """The whole text remembered for a source file (`remember_source`), or None."""
    return _SOURCES.get(path)


def source_line(path: str, line: int) -> str | None:
    """The text of line `line` (1-based) of a remembered file, or None."""
    text = _SOURCES.get(path)
    if text is None:
        return None
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


_Dataclass = TypeVar("_Dataclass", bound=type)


def slot_init(cls: _Dataclass) -> _Dataclass:
    """`cls`, a frozen dataclass with slots and no field defaults, given an `__init__` of
    the same signature that stores each field through its slot's own setter.

    The dataclass's own stores each field through object.__setattr__, a lookup by name:
    Span() took twice as long, and parsing a 50,000-layer spec makes 250,000 spans and
    nodes. (Compiling one costs what making a few hundred objects with it saves: only the
    classes made by the thousand have one.)
    """
    if any(f.default is not MISSING or f.default_factory is not MISSING for f in fields(cls)):
        raise TypeError(f"{cls.__name__} has a field with a default")
    names = [f.name for f in fields(cls)]
    scope = {f"_set_{name}": getattr(cls, name).__set__ for name in names}
    exec(f"def __init__(self, {', '.join(names)}) -> None:\n"
         + "".join(f"    _set_{name}(self, {name})\n" for name in names), scope)
    init = scope["__init__"]
    init.__module__, init.__qualname__ = cls.__module__, f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls


@slot_init
@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file: 1-based line and column, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        if self.line < 1:  # the whole file (`Span.of_file`)
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    @staticmethod
    def of_file(path: str) -> Span:
        """A span for a whole file (line 0): the error is about the file, not a place in it."""
        return Span(path, 0, 0, 0, 0)

    def to_dict(self) -> dict[str, object]:
        """The span as the JSON report's `source` object."""
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True, slots=True)
class Note:
    """A secondary message attached to a diagnostic, optionally located."""

    message: str
    span: Span | None = None


@dataclass
class NetdslError(Exception):
    """A mistake in a spec or in an argument, located at `span` when known."""

    message: str
    span: Span | None = None
    notes: list[Note] = field(default_factory=list)
    severity: str = "error"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.span}: {self.message}" if self.span else self.message

    @property
    def file(self) -> str | None:
        """The file of the error's span (None when the error is not located)."""
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        """The 1-based line of the error's span (None when the error is not located)."""
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        """The 1-based column of the error's span (None when the error is not located)."""
        return self.span.column if self.span else None

    def with_note(self, message: str, span: Span | None = None) -> NetdslError:
        """Append a note and return self (for re-raising)."""
        self.notes.append(Note(message, span))
        return self

    def render(self) -> str:
        """Render as `file:line:col: error: message`, the quoted line, a caret, notes."""
        out = [_headline(self.span, self.severity, self.message)]
        out.extend(_quote(self.span))
        for note in self.notes:
            where = f" at {note.span}" if note.span else ""
            out.append(f"note: {note.message}{where}")
        return printable("\n".join(out))


# Control characters (but tab and newline) and bidirectional overrides: a spec's strings
# and lines must never drive the terminal that shows an error about them.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control characters written as escapes (`\\x1b`), safe on a terminal."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256
                            else f"\\u{ord(m[0]):04x}", text)


class UsageError(NetdslError):
    """A bad command-line or API argument (exit code 2 on the CLI)."""


class LimitError(NetdslError):
    """A documented limit (repeat count, nesting depth, tensor size) was exceeded."""


class SpecNotFoundError(NetdslError, FileNotFoundError):
    """A spec file (or a file it imports) cannot be read; `filename` is its path."""

    def __init__(self, message: str, filename: str, span: Span | None = None) -> None:
        super().__init__(message, span)
        self.filename = filename


class UnknownLayerError(NetdslError, KeyError):
    """A layer name that a report does not have; the message suggests the nearest ones."""


def _headline(span: Span | None, severity: str, message: str) -> str:
    where = f"{span}: " if span else "netdsl: "
    return f"{where}{severity}: {message}"


def _quote(span: Span | None) -> list[str]:
    """The source line of `span` with a caret under the span's first line."""
    if span is None:
        return []
    text = source_line(span.file, span.line)
    if text is None:
        return []
    text = text.expandtabs(1)
    start = max(span.column - 1, 0)
    end = span.end_column - 1 if span.end_line == span.line else len(text.rstrip())
    width = max(end - start, 1)
    gutter = " " * len(str(span.line))
    return [
        f" {span.line} | {text}",
        f" {gutter} | {' ' * start}^{'~' * (width - 1)}",
    ]


class SeveralErrors(NetdslError):
    """Independent errors found in one run (each located), reported together.

    It reads as its first error (message, span, notes: code that looks at one error keeps
    working); `render()` shows every error, then how many there were.
    """

    def __init__(self, errors: list[NetdslError]) -> None:
        first = errors[0]
        super().__init__(first.message, first.span, first.notes, first.severity)
        self.errors = errors

    def render(self) -> str:
        shown = "\n".join(e.render() for e in self.errors)
        return f"{shown}\n{len(self.errors)} errors"


class Diagnostic(NetdslError):
    """A warning: reported next to the results, never stops the analysis."""

    def __init__(self, message: str, span: Span | None = None,
                 notes: list[Note] | None = None) -> None:
        super().__init__(message, span, notes or [], "warning")
