"""Input errors found while loading (and checking the scenario) become one exit-2 failure.

Loaders record field-level input errors as `Finding(level="error")` in `Estate.findings` and
keep going, so a run sees every error at once. The commands write their report first (with the
affected results `unknown` and the errors among its findings), then call `fail_on_input_errors`.
"""

from __future__ import annotations

from typing import Any, Iterable

from nsgcheck.errors import InputError, NsgcheckError, raise_all


def finding_error(finding: Any) -> InputError:
    """An error Finding as an InputError naming file, line, resource address and pointer."""
    o = finding.origin
    if o is None:
        return InputError(finding.message)
    return InputError(finding.message, o.file or None, o.pointer or None, o.line, None, o.address or None)


def error_finding(error: NsgcheckError) -> Any:
    """An error raised for a whole file (unreadable, not JSON) as an error Finding for the report."""
    from nsgcheck.model import Finding, Origin

    where = f" (column {error.column})" if error.column else ""
    origin = Origin(error.file, error.pointer or "", error.line, address=error.address or "") if error.file else None
    return Finding("error", f"{error.message}{where}", origin)


def input_errors(findings: Iterable[Any]) -> list[NsgcheckError]:
    """The error-level findings, once each, in the order found."""
    out: list[NsgcheckError] = []
    seen: set[tuple] = set()
    for f in findings:
        if f.level != "error":
            continue
        key = (f.message, f.origin)
        if key not in seen:
            seen.add(key)
            out.append(finding_error(f))
    return out


def fail_on_input_errors(findings: Iterable[Any], more: Iterable[str] = ()) -> None:
    """Raise every input error among `findings` (and the `more` messages) at once, exit code 2;
    nothing when there is none."""
    raise_all(input_errors(findings) + [InputError(m) for m in more])


def add_input_size_option(parser: Any) -> None:
    """`--max-input-size SIZE`: the most one input file may hold, plain or inflated (default 256 MiB)."""
    parser.add_argument("--max-input-size", metavar="SIZE", type=_size_arg, default=None,
                        help="largest input file accepted, plain or after gunzip (default 256M; e.g. 1G)")


def _size_arg(text: str) -> int:
    import argparse

    from nsgcheck.loaders.jsonpos import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

