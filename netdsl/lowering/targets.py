"""Checks of `netdsl build`'s output arguments, made before anything is built.

A path whose folder is missing, a folder where a file is to be written, `--onnx` without
the onnx package and a class name that is not a free Python identifier are usage errors
(exit 2) that name the argument, instead of an exception from deep inside torch. (A
class name the generated module itself uses is refused by the code generator, later.)
"""

from __future__ import annotations

import importlib.util
import keyword
from pathlib import Path

from netdsl.errors import UsageError


def check_target(option: str, path: str | None) -> None:
    """A file `option` will write: its folder exists, and it is not itself a folder."""
    if path is None:
        return
    target = Path(path)
    if "\x00" in path:
        raise UsageError(f"{option} {path!r}: a file name cannot contain a NUL character")
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name inside it")
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")


def check_build_arguments(output: str | None, weights: str | None, onnx: str | None,
                          class_name: str | None = None) -> None:
    """Every output of a build can be written (checked before the model is built)."""
    if class_name is not None and not (class_name.isascii() and class_name.isidentifier()
                                       and not keyword.iskeyword(class_name)):
        raise UsageError(_BAD_CLASS.format(class_name))
    check_target("-o", output)
    check_target("--weights", weights)
    check_target("--onnx", onnx)
    if onnx is not None and importlib.util.find_spec("onnx") is None:
        raise UsageError("--onnx needs the onnx package: pip install onnx")


_BAD_CLASS = ("--class-name {!r}: not a free Python identifier (ASCII letters, digits and _, "
              "not a keyword or a name the module uses)")
