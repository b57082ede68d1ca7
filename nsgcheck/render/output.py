"""Write a rendered report to a file or stdout without ever losing an earlier report.

A file is written to a temporary file in the same folder and renamed over the target only
when the whole report was written: a crash, a full disk or Ctrl-C leaves the previous report
as it was. Characters UTF-8 cannot encode (a lone surrogate from a JSON `\\udfff` escape) are
written as their `\\udfff` escape, which is also the JSON escape of the same string.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any, Callable

from nsgcheck.errors import InputError

ENCODING_ERRORS = "backslashreplace"


def write_report(output: str | None, write: Callable[[Any], None]) -> None:
    """Call `write(stream)` on the output file (atomically replaced) or on stdout."""
    if not output:
        stream = sys.stdout
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=ENCODING_ERRORS)
        write(stream)
        stream.flush()
        return
    folder = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nsgcheck-", suffix=".partial", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", file=output) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=ENCODING_ERRORS, newline="") as stream:
            write(stream)
        _keep_mode(output, tmp)
        os.replace(tmp, output)
    except OSError as exc:
        _remove(tmp)
        raise InputError(f"cannot write the report: {exc.strerror or exc}", file=output) from None
    except BaseException:
        _remove(tmp)
        raise


def write_format(fmt: str, report: dict[str, Any], output: str | None, **options: Any) -> None:
    """Render `report` in `fmt` and write it; JSON is streamed (a large report never exists as
    one string)."""
    if fmt == "json":
        from nsgcheck.render.json import write as write_json

        write_report(output, lambda stream: write_json(report, stream))
        return
    from nsgcheck.render import render

    text = render(fmt, report, **options)
    write_report(output, lambda stream: stream.write(text))


def parse_also(values: list[str], formats: tuple[str, ...]) -> list[tuple[str, str]]:
    """`--also FORMAT=FILE` values as (format, file) pairs; a bad one is a usage error."""
    from nsgcheck.errors import UsageError

    out = []
    for value in values or []:
        fmt, sep, file = str(value).partition("=")
        if not sep or fmt not in formats or not file:
            raise UsageError(f"--also {value!r}: expected FORMAT=FILE with FORMAT one of {', '.join(formats)}")
        out.append((fmt, file))
    return out


def _keep_mode(target: str, tmp: str) -> None:
    """The new file gets the old file's permissions, else the usual ones for a new file (umask)."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
