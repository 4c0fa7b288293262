"""`python -m netdsl`."""

from netdsl.cli import entry

entry()
