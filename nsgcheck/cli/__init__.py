"""The command line. Errors of the project's own types are caught here, once: exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from nsgcheck import __version__
from nsgcheck.errors import InputErrors, NsgcheckError

#: one module per command; each exposes `register(subparsers)` which sets `func` on its parser
COMMANDS = ("audit", "flow", "lint", "tags", "rules")

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as exit code 2 with a one-line message."""

    def error(self, message: str) -> None:  # noqa: D401 - argparse API
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; with `only`, just that command's (a run parses one command, and
    building every command's options costs more than a look-up)."""
    parser = _Parser(prog="nsgcheck", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"nsgcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"nsgcheck.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from servicetags.errors import ServiceTagError

    argv = sys.argv[1:] if argv is None else argv
    # the command named first gets its parser alone; anything else (help, a typo) sees them all
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except InputErrors as exc:
        for err in exc.errors:
            print(f"nsgcheck: error: {err}", file=sys.stderr)
        print(f"nsgcheck: {len(exc.errors)} input errors (all listed above); fix them and run again",
              file=sys.stderr)
        return EXIT_USAGE
    except (NsgcheckError, ServiceTagError) as exc:
        print(f"nsgcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nsgcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
