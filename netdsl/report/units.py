"""Number formatting with stated units: K/M/G (powers of 1000) for counts, MiB for bytes."""

from __future__ import annotations

MIB = 1024 * 1024


def count(n: int | float) -> str:
    """A count with an SI suffix: 1,234 -> "1.23 K"; below 1000 as is."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {suffix}"
    return f"{n:,}" if isinstance(n, int) else f"{n:g}"


def share(part: int, whole: int) -> str:
    """`part` as a percentage of `whole`, one decimal: "12.3"; "<0.1" for a small nonzero
    share, "-" for none."""
    if not part or not whole:
        return "-"
    percent = 100 * part / whole
    return "<0.1" if percent < 0.05 else f"{percent:.1f}"


def memory_unit(largest: int) -> tuple[str, int]:
    """The unit a memory column is shown in: MiB, or KiB when everything is below 1 MiB."""
    return ("MiB", MIB) if largest >= MIB else ("KiB", 1024)


def in_unit(n: int, factor: int) -> str:
    """Bytes in the given unit, two decimals ("<0.01" rather than a misleading 0.00)."""
    return "<0.01" if 0 < n < factor / 200 else f"{n / factor:,.2f}"


def mib(n: int) -> str:
    """Bytes in MiB (2**20 bytes), two decimals ("<0.01" rather than a misleading 0.00)."""
    return "<0.01" if 0 < n < MIB / 200 else f"{n / MIB:,.2f}"


def bytes_long(n: int) -> str:
    """Bytes in MiB with the exact count: "6.12 MiB (6,422,528 bytes)"."""
    return f"{n / MIB:,.2f} MiB ({n:,} bytes)"


def shape(dims: tuple[int, ...] | list[int]) -> str:
    """[3, 224, 224] -> "3x224x224"."""
    return "x".join(str(d) for d in dims)


def axes(values: tuple) -> str:
    """One value when every axis agrees, else "a x b"."""
    if set(map(type, values)) == _INT:  # the common case, without the general formatting
        first = values[0]
        return str(first) if values.count(first) == len(values) else "x".join(map(str, values))
    shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    if not shown:
        return "-"
    return shown[0] if len(set(shown)) == 1 else "x".join(shown)


_INT = {int}
