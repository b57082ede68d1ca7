"""The command line. Errors of the project's own types are caught here, once: exit code 2."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

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


def main(argv: list[str] | None = None, exit_process: bool = False) -> int:
    """Run one command and return its exit code. With `exit_process` (the `nsgcheck` program, not a
    caller in the same process) a command may end the process through `args.finish(code)` once its
    output is written; otherwise `args.finish` hands the code back."""
    from servicetags.errors import ServiceTagError

    argv = sys.argv[1:] if argv is None else argv
    # the command named first gets its parser alone; anything else (help, a typo) sees them all
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.finish = exit_now if exit_process else int
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


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once the output is flushed, skipping the freeing of everything
    the command built (an audit's estate and report: ~0.2 s at 30,000 VMs) and interpreter
    teardown. Reached only with every output written and closed."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:     # the reader went away: as `main` answers it
        code = EXIT_OK
    sys.stderr.flush()
    os._exit(code)


def run() -> NoReturn:
    """The `nsgcheck` program: `main` for this process's arguments, then exit."""
    sys.exit(main(exit_process=True))


if __name__ == "__main__":  # pragma: no cover
    run()
