"""Fuzz inputs: grammar-aware random specs, and mutations of every shipped spec.

Everything is drawn from a `random.Random`, so a seed replays a campaign exactly. The
generator knows the grammar's shapes (imports, blocks, networks, chains, if/for/repeat,
calls with keywords) and the layer registry's argument names; its numbers lean on the
edges (0, negative, huge, inf, NaN, 2**64, 4,300-digit integers) and its strings on
hostile text (escape codes, NULs, paths outside the folder). Mutations work on tokens and
lines of real specs, which reach deep into elaboration before they break anything.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from netdsl.language.values import BUILTINS
from netdsl.layers.registry import REGISTRY
from tests.fuzz.runner import Case

ROOT = Path(__file__).resolve().parents[2]

EDGE_NUMBERS = ["0", "1", "-1", "2", "3", "7", "64", "0.5", "1e400", "1e-400", "1e308",
                "2**64", "2**63 - 1", "10**30", "(0 - 8) ** 0.5", "1e400 - 1e400",
                "2**31", "2000000000", "9" * 5000, "(2**64) ** 64", "-0", "0.0"]
EDGE_STRINGS = ['"same"', '"valid"', '"max"', '"\x1b[31mred\x1b[0m"', '"\x07\x1b]0;t\x07"',
                '""', '"/etc/passwd"', '"../../x"', '"basic"', '"bottleneck"', '"\x00"',
                '"' + "a" * 300 + '"']
KEYWORDS = ["import", "block", "network", "input", "if", "else", "for", "in", "repeat", "and",
            "or", "not", "true", "false"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "==", "<", "->", "(", ")", "[", "]", "{", "}",
             ",", "=", ":", ".", "\n", " "]


def shipped_specs() -> dict[str, str]:
    """Every shipped spec and standard library file, by path relative to the repository."""
    paths = sorted((ROOT / "specs").rglob("*.net")) + sorted((ROOT / "netdsl/stdlib").glob("*.net"))
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in paths}


def _blocks_folder() -> dict[str, str]:
    """specs/blocks/, so that a mutated spec's relative imports still resolve."""
    return {f"blocks/{p.name}": p.read_text(encoding="utf-8")
            for p in sorted((ROOT / "specs/blocks").glob("*.net"))}


# ------------------------------------------------------------------------ generation
class Generator:
    """Random programs in the shape of the grammar (most elaborate a little way at least)."""

    def __init__(self, rng: random.Random, edge: float = 0.4) -> None:
        self.rng = rng
        self.edge = edge  # how often a number is an edge value
        self.layers = sorted(REGISTRY)
        self.blocks: list[str] = []

    def number(self) -> str:
        r = self.rng.random()
        if r >= self.edge:
            return str(self.rng.choice([1, 1, 2, 3, 4, 8, 16, 32, 64, 3, 5, 7, 0]))
        return self.rng.choice(EDGE_NUMBERS)

    def expr(self, depth: int = 0) -> str:
        rng = self.rng
        r = rng.random()
        if depth > 3 or r < 0.35:
            return self.number()
        if r < 0.45:
            return rng.choice(EDGE_STRINGS)
        if r < 0.55:
            return rng.choice(["in.channels", "in.height", "in.width", "in.rank", "in.shape",
                               "true", "false", "none", "same", "x", "n"])
        if r < 0.75:
            op = rng.choice(["+", "-", "*", "/", "//", "%", "**", "==", "<", "and", "or"])
            return f"({self.expr(depth + 1)} {op} {self.expr(depth + 1)})"
        if r < 0.85:
            items = ", ".join(self.expr(depth + 1) for _ in range(rng.randint(0, 4)))
            return f"[{items}]"
        if r < 0.95:
            name = rng.choice(sorted(BUILTINS))
            args = ", ".join(self.expr(depth + 1) for _ in range(rng.randint(1, 2)))
            return f"{name}({args})"
        return f"[{self.expr(depth + 1)}] * {self.number()}"

    def layer_call(self) -> str:
        rng = self.rng
        name = rng.choice(self.layers + self.blocks)
        spec = REGISTRY.get(name)
        args: list[str] = []
        if spec is not None:
            for arg in spec.signature.args:
                if arg.default is ... or rng.random() < 0.3:
                    value = self.expr(2) if rng.random() < 0.4 else self.number()
                    args.append(f"{arg.name} = {value}" if rng.random() < 0.5 else value)
            if name in ("add", "mul", "concat"):
                args = [self.chain(1) for _ in range(rng.randint(0, 3))] + args
        elif rng.random() < 0.5:
            args.append(self.expr(1))
        if not args and rng.random() < 0.5:
            return name
        return f"{name}({', '.join(args)})"

    def step(self, depth: int) -> str:
        rng = self.rng
        r = rng.random()
        if depth < 2 and r < 0.08:
            return f"repeat({self.number()}) {{\n{self.chain(depth + 1)}\n}}"
        if depth < 2 and r < 0.14:
            return f"for x in {self.expr(2)} {{\n{self.chain(depth + 1)}\n}}"
        if depth < 2 and r < 0.2:
            return f"if {self.expr(2)} {{ {self.chain(depth + 1)} }} else {{ identity }}"
        return self.layer_call()

    def chain(self, depth: int = 0) -> str:
        return " -> ".join(self.step(depth) for _ in range(self.rng.randint(1, 5)))

    def shape(self) -> str:
        rank = self.rng.choice([1, 2, 3, 3, 3, 4])
        return "[" + ", ".join(self.number() if self.rng.random() < 0.2
                               else str(self.rng.choice([1, 3, 8, 16, 32, 224]))
                               for _ in range(rank)) + "]"

    def program(self) -> str:
        rng = self.rng
        out: list[str] = []
        if rng.random() < 0.3:
            out.append(f"import std.{rng.choice(['resnet', 'se', 'mobilenet', 'densenet'])}")
        self.blocks = []
        for i in range(rng.randint(0, 3)):
            name = f"b{i}"
            params = ", ".join(f"{p} = {self.number()}" for p in rng.sample(["n", "c", "k"],
                                                                               rng.randint(0, 2)))
            self.blocks.append(name)
            out.append(f"block {name}({params}) {{\n    {self.chain(1)}\n}}")
        params = "classes = 10" if rng.random() < 0.5 else ""
        body = [f"    input image: {self.shape()}"]
        if rng.random() < 0.3:
            body.append(f"    n = {self.expr()}")
        body.append(f"    image -> {self.chain()}")
        out.append(f"network net({params}) {{\n" + "\n".join(body) + "\n}")
        return "\n\n".join(out) + "\n"


# -------------------------------------------------------------------------- mutation
_TOKEN = re.compile(r'"[^"\n]*"|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|->|\*\*|//|[=!<>]=|'
                    r'\S|\n')


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _join(tokens: list[str]) -> str:
    out = []
    for t in tokens:
        out.append(t if t == "\n" else t + " ")
    return "".join(out)


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of a spec: tokens dropped, duplicated, swapped, replaced."""
    for _ in range(rng.randint(1, 3)):
        text = rng.choice(MUTATORS)(text, rng)
    return text


def _drop_token(text: str, rng: random.Random) -> str:
    toks = _tokens(text)
    if toks:
        del toks[rng.randrange(len(toks))]
    return _join(toks)


def _replace_number(text: str, rng: random.Random) -> str:
    numbers = list(re.finditer(r"(?<![\w.])\d+(?:\.\d+)?", text))
    if not numbers:
        return text
    m = rng.choice(numbers)
    return text[:m.start()] + rng.choice(EDGE_NUMBERS) + text[m.end():]


def _replace_string(text: str, rng: random.Random) -> str:
    strings = list(re.finditer(r'"[^"\n]*"', text))
    if not strings:
        return text + "\n" + rng.choice(EDGE_STRINGS)
    m = rng.choice(strings)
    return text[:m.start()] + rng.choice(EDGE_STRINGS) + text[m.end():]


def _insert_token(text: str, rng: random.Random) -> str:
    toks = _tokens(text)
    new = rng.choice(KEYWORDS + OPERATORS + EDGE_NUMBERS[:8] + list(REGISTRY)[:6])
    toks.insert(rng.randrange(len(toks) + 1), new)
    return _join(toks)


def _swap_tokens(text: str, rng: random.Random) -> str:
    toks = _tokens(text)
    if len(toks) > 2:
        i, j = rng.randrange(len(toks)), rng.randrange(len(toks))
        toks[i], toks[j] = toks[j], toks[i]
    return _join(toks)


def _duplicate_line(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return "\n".join(lines)


def _delete_line(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def _truncate(text: str, rng: random.Random) -> str:
    return text[:rng.randrange(len(text) + 1)]


def _splice_layer(text: str, rng: random.Random) -> str:
    """Insert a random layer call (with edge arguments) after some `->`."""
    arrows = [m.end() for m in re.finditer(r"->", text)]
    if not arrows:
        return text
    at = rng.choice(arrows)
    return text[:at] + " " + Generator(rng).layer_call() + " ->" + text[at:]


def _glue(text: str, rng: random.Random) -> str:
    """Remove the space after a keyword (`import std.se` -> `importstd.se`)."""
    spots = [m.end() - 1 for m in re.finditer(r"\b(import|block|network|for|in|if|not) ", text)]
    if not spots:
        return text
    at = rng.choice(spots)
    return text[:at] + text[at + 1:]


MUTATORS: list[Callable[[str, random.Random], str]] = [
    _drop_token, _replace_number, _replace_number, _replace_string, _insert_token, _swap_tokens,
    _duplicate_line, _delete_line, _truncate, _splice_layer, _splice_layer, _glue,
]


# ---------------------------------------------------------------------------- cases
def _network_for(library: str) -> str:
    """For a standard library file (no network): a network calling its first block."""
    if re.search(r"^network ", library, re.M):
        return ""
    block = re.search(r"^block (\w+)", library, re.M)
    call = block.group(1) if block else "relu"
    return f"\nnetwork fuzz() {{\n    input image: [16, 32, 32]\n    image -> {call}\n}}\n"


def _argv_variant(rng: random.Random) -> list[str]:
    extra: list[str] = []
    r = rng.random()
    if r < 0.1:
        extra = ["--set", f"classes={rng.choice(['0', '-1', '10**30', '9' * 5000, '[1, 2]', 'x'])}"]
    elif r < 0.15:
        extra = ["--batch", rng.choice(["0", "8", str(10**30)])]
    elif r < 0.2:
        extra = ["--format", rng.choice(["json", "yaml", "csv"])]
    elif r < 0.23:
        extra = ["--ir"]
    return ["analyze", "main.net", *extra]


def cases(seed: int, count: int) -> Iterator[Case]:
    """`count` cases from `seed`: generated programs and mutated shipped specs, alternately."""
    rng = random.Random(seed)
    shipped = shipped_specs()
    names = sorted(shipped)
    blocks = _blocks_folder()
    for i in range(count):
        if i % 2 == 0:
            text = Generator(rng, rng.choice([0.02, 0.1, 0.4])).program()
            if rng.random() < 0.3:
                text = mutate(text, rng)
            name = f"generated#{i}"
        else:
            source = names[(i // 2) % len(names)]
            text = mutate(shipped[source] + _network_for(shipped[source]), rng)
            name = f"{source}#{i}"
        yield Case({"main.net": text, **blocks}, _argv_variant(rng), name)
