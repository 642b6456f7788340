"""Memory sizes as people write them ("4Gi", "512Mi", "2G") and as run pages show them."""

import re

MEMORY_PATTERN = r"^\s*\d+(\.\d+)?\s*([KMGT]i?|[kmgt]i?|B)?\s*$"
_SIZE = re.compile(MEMORY_PATTERN)
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "KI": 1 << 10,
    "MI": 1 << 20,
    "GI": 1 << 30,
    "TI": 1 << 40,
}


def parse_memory(value: object) -> int:
    """Bytes from an int or a string such as "4Gi" (binary), "4G" (decimal) or "4096"."""
    if isinstance(value, bool):
        raise ValueError("a memory size is a number of bytes or a string such as '4Gi'")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str) or not _SIZE.match(value):
        raise ValueError(
            f"{value!r} is not a memory size; write it like '4Gi', '512Mi' or '2G' "
            "(Ki/Mi/Gi/Ti are powers of 1024, K/M/G/T powers of 1000) or as a number of bytes"
        )
    text = value.strip()
    number = re.match(r"\d+(\.\d+)?", text)
    assert number is not None  # the pattern matched
    unit = text[number.end() :].strip().upper()
    return int(float(number.group()) * _UNITS[unit])


def format_memory(size: int) -> str:
    """'4.0 GiB', '512 MiB': the size in the largest binary unit it fills."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 or unit == "GiB" else f"{value:.0f} {unit}"
    return f"{size} bytes"
