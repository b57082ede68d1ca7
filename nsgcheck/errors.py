"""The project's error types. Each is caught once, at the CLI edge (exit code 2).

Every error can name the file, the location in it (JSON pointer and/or line) and what was
expected, so a user can fix the input without a traceback.
"""

from __future__ import annotations


class NsgcheckError(Exception):
    """Base class: an unusable input or usage. Rendered as `file:line (pointer): message`."""

    def __init__(self, message: str, file: str | None = None, pointer: str | None = None,
                 line: int | None = None, column: int | None = None, address: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.pointer = pointer
        self.line = line
        self.column = column
        #: the resource's address in the tool that wrote the file (a Terraform resource address)
        self.address = address

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            if self.address:
                where += f" {self.address}"
            if self.pointer:
                where += f" (at {self.pointer})"
            where += ": "
        elif self.pointer:
            where = f"at {self.pointer}: "
        return f"{where}{self.message}"


class UsageError(NsgcheckError):
    """Bad command-line usage (missing flag, conflicting options)."""


class InputError(NsgcheckError):
    """An input file that cannot be read or does not have the expected shape."""


class LoaderError(InputError):
    """A network export or template that cannot be translated into the model."""


class RejectedByAzure(LoaderError):
    """A template value Azure itself refuses (e.g. an ARM expression ARM does not accept): an input
    error where the audit reads it, never a value nsgcheck makes up."""


class LimitError(InputError):
    """An input past one of nsgcheck's resource limits (size, expansion): refused whole, never
    read in part (a limit is never downgraded to doubt about one value)."""


class ScenarioError(InputError):
    """A scenario file or scenario flags that are invalid."""


class RulesError(InputError):
    """A requirement pack that does not validate."""


class InputErrors(InputError):
    """Every input error of a run, reported together (exit code 2): never only the first one.

    Behaves as its first error (file, line, pointer) for callers that look at one; `errors`
    holds them all, in the order found.
    """

    def __init__(self, errors: "list[NsgcheckError]"):
        if not errors:
            raise ValueError("InputErrors needs at least one error")
        first = errors[0]
        super().__init__(first.message, first.file, first.pointer, first.line, first.column, first.address)
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def raise_all(errors: "list[NsgcheckError]") -> None:
    """Raise the errors found (one as itself, several as InputErrors); nothing when there are none."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)

