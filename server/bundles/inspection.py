"""Checks a code bundle (tar.gz) without extracting it: nothing may land outside the bundle's
own directory when a worker unpacks it, and nothing may be a device or a decompression bomb."""

import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from server.errors import InvalidInput, PayloadTooLarge


@dataclass(frozen=True)
class BundleLimits:
    max_members: int
    max_unpacked_bytes: int


@dataclass(frozen=True)
class BundleReport:
    members: int
    unpacked_bytes: int


def _reject(reason: str) -> InvalidInput:
    return InvalidInput(f"code bundle rejected: {reason}", loc=["body", "bundle"])


def _escapes(path: str) -> bool:
    """Whether a member path is absolute or climbs out of the bundle."""
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return True
    depth = 0
    for part in PurePosixPath(path.replace("\\", "/")).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in (".", ""):
            depth += 1
    return False


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    if _escapes(name) or ".." in PurePosixPath(name).parts:
        raise _reject(f"member {name!r} has an absolute path or '..'; use relative paths")
    if member.ischr() or member.isblk() or member.isfifo():
        raise _reject(f"member {name!r} is a device or fifo; bundles hold files and folders")
    if member.issym():
        target = str(PurePosixPath(name).parent / member.linkname)
        if member.linkname.startswith("/") or _escapes(target):
            raise _reject(f"symlink {name!r} points outside the bundle ({member.linkname!r})")
    elif member.islnk():
        if _escapes(member.linkname) or ".." in PurePosixPath(member.linkname).parts:
            raise _reject(f"hard link {name!r} points outside the bundle ({member.linkname!r})")
    elif not (member.isfile() or member.isdir()):
        raise _reject(f"member {name!r} is of an unsupported type")


def inspect_bundle(path: Path, limits: BundleLimits) -> BundleReport:
    members = 0
    unpacked = 0
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            while (member := archive.next()) is not None:
                members += 1
                if members > limits.max_members:
                    raise _reject(f"more than {limits.max_members} members")
                _check_member(member)
                unpacked += member.size
                if unpacked > limits.max_unpacked_bytes:
                    raise PayloadTooLarge(
                        f"code bundle unpacks to more than {limits.max_unpacked_bytes} bytes; "
                        "leave data and checkpoints out of it"
                    )
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _reject(f"not a readable gzip-compressed tar archive ({exc})") from exc
    return BundleReport(members=members, unpacked_bytes=unpacked)
