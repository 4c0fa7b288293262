"""Run one fuzz case in a forked worker, under a time and a memory limit, and classify it.

A case is a set of files (the spec `main.net` and whatever it imports) and the command
line after `netdsl`. The worker is a `fork` of the calling process, so a case costs a few
milliseconds and no interpreter start-up; it runs `netdsl.cli.main` in a fresh temporary
folder with stdout and stderr captured, with `RLIMIT_AS` set to its current size plus the
memory limit and a CPU-time alarm, and sends back (exit code, stderr head) through a pipe.

Outcome classes (`OUTCOMES`):

- ``ok``: exit 0.
- ``located``: exit 1 with `file:line:col: error:` first (a located mistake in a spec), or
  `file.net: error:` for a mistake of the whole file (it defines no network).
- ``unreadable``: exit 1 with `netdsl: error: cannot read FILE` (the spec file itself).
- ``unlocated``: any other exit 1 without `file:line:col` (a finding).
- ``usage``: exit 2 (a command-line mistake).
- ``internal``: exit 3 (the CLI's catch-all reached: a bug), or an exception escaping it.
- ``timeout``: past the CPU-time limit, or blocked past the wall-clock one (killed).
- ``memory``: a MemoryError or a kill by the memory limit.
- ``raw-escape``: any outcome whose output carries a raw terminal control character.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

OUTCOMES = ("ok", "located", "unreadable", "usage", "unlocated", "internal", "timeout", "memory",
            "raw-escape")
#: The outcomes a correct netdsl may give; the others are bugs (exit 1 promises
#: `file:line:col`, but for a spec file that cannot be read at all).
GOOD = frozenset({"ok", "located", "unreadable", "usage"})

# `file:line:col: error: ...`, or `file: error: ...` for a mistake of the whole file (a file
# that defines no network points at the file, not at a column after its last comment)
_LOCATED = re.compile(r"^([^\n]+:\d+:\d+|[^\n]+\.net): (error|warning): ", re.S)
# Control characters other than tab and newline, raw in the output: an escape sequence from
# the input reached the terminal unescaped.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Case:
    """Files to write (relative path -> text or bytes) and the netdsl arguments."""

    files: dict[str, str | bytes]
    argv: list[str] = field(default_factory=lambda: ["analyze", "main.net"])
    name: str = ""


@dataclass
class Outcome:
    """What a case did: its class, exit code, seconds, and the head of its stderr."""

    kind: str
    code: int | None
    seconds: float
    stderr: str

    def headline(self) -> str:
        """The first line of stderr (the error message), or the kind."""
        return self.stderr.splitlines()[0] if self.stderr.strip() else self.kind


def classify(code: int | None, stdout: str, stderr: str) -> str:
    """The outcome class of a finished run (see the module docstring)."""
    if "MemoryError" in stderr:
        kind = "memory"
    elif code == 0:
        kind = "ok"
    elif code == 1:
        kind = "located" if _LOCATED.match(stderr) else \
            "unreadable" if stderr.startswith("netdsl: error: cannot read ") else "unlocated"
    elif code == 2:
        kind = "usage"
    else:
        kind = "internal"
    if _CONTROL.search(stderr) or _CONTROL.search(stdout):
        return "raw-escape"
    return kind


def _child(case: Case, workdir: Path, memory: int, seconds: float, out_fd: int) -> None:
    """The forked worker: write the files, run the CLI, report; never returns."""
    code: int | None = 3
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        for rel, content in case.files.items():
            path = workdir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogateescape")
        os.chdir(workdir)
        soft = _address_space() + memory
        resource.setrlimit(resource.RLIMIT_AS, (soft, resource.getrlimit(resource.RLIMIT_AS)[1]))
        # the limit is on CPU time (user + system: SIGPROF ends the worker), so that a
        # loaded machine does not turn slow cases into timeouts; the parent adds a
        # wall-clock limit for a worker that sleeps or blocks
        signal.setitimer(signal.ITIMER_PROF, seconds)
        from netdsl.cli import main

        sys.stdout, sys.stderr = stdout, stderr
        try:
            code = main(case.argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
        except MemoryError:
            stderr.write("MemoryError (escaped the CLI)\n")
        except BaseException as exc:  # noqa: BLE001 - anything escaping main is a finding
            stderr.write(f"escaped the CLI: {type(exc).__name__}: {exc}\n")
            code = 3
    except MemoryError:
        stderr = io.StringIO("MemoryError\n")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        try:
            message = json.dumps({"code": code, "stdout": stdout.getvalue()[:2000],
                                  "stderr": stderr.getvalue()[:4000]})
        except MemoryError:
            message = json.dumps({"code": 3, "stdout": "", "stderr": "MemoryError"})
        os.write(out_fd, message.encode())
        os.close(out_fd)
        os._exit(0)


def _address_space() -> int:
    """This process's virtual size in bytes (the memory limit is on top of it)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


_WARM = False
#: A worker may take this many times its CPU limit in wall-clock time (a loaded machine).
WALL_FACTOR = 10


def warm() -> None:
    """Import and exercise the CLI's analysis path once in this process, so that forked
    workers start with it loaded (a case then costs milliseconds, not an import)."""
    global _WARM
    if _WARM:
        return
    import netdsl
    import netdsl.analysis.report
    import netdsl.cli
    import netdsl.overrides
    import netdsl.report.formats
    import netdsl.report.table  # noqa: F401 - imported for the workers

    netdsl.cli.make_parser()  # imports every subcommand's module (verify's, ...)
    spec = netdsl.loads("import std.resnet\nnetwork n() {\n input x: [3, 32, 32]\n"
                        " x -> resnet_stem -> relu\n}\n")
    netdsl.report.table.plain_report(spec.analyze(), None)
    _WARM = True


def run_case(case: Case, *, seconds: float = 2.0, memory: int = 1 << 30) -> Outcome:
    """Run `case` in a forked worker and classify what it did.

    `seconds` limits the worker's CPU time; its wall-clock time is limited to
    `WALL_FACTOR` times that (a blocked worker). `Outcome.seconds` is the CPU time used.
    """
    warm()
    workdir = Path(tempfile.mkdtemp(prefix="netdsl-fuzz-"))
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        _child(case, workdir, memory, seconds, write_fd)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = start + max(WALL_FACTOR * seconds, 10.0)
    timed_out = False
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if ready:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    os.close(read_fd)
    elapsed = usage.ru_utime + usage.ru_stime
    shutil.rmtree(workdir, ignore_errors=True)
    if timed_out:
        return Outcome("timeout", None, elapsed, "")
    try:
        result = json.loads(b"".join(chunks).decode())
    except ValueError:  # killed before it could answer: the alarm, or the memory limit
        signalled = os.WIFSIGNALED(status) and os.WTERMSIG(status)
        kind = "timeout" if signalled in (signal.SIGPROF, signal.SIGXCPU) else "memory"
        return Outcome(kind, None, elapsed, f"worker died (signal {signalled})")
    code, stdout, stderr = result["code"], result["stdout"], result["stderr"]
    return Outcome(classify(code, stdout, stderr), code, elapsed, stderr)
