"""The servicetags library's one error class (caught at the nsgcheck CLI edge: exit 2)."""

from __future__ import annotations


class ServiceTagError(Exception):
    """A tag file that cannot be used, or a tag/region that does not exist.

    `file` and `pointer` locate the problem in the input when known.
    """

    def __init__(self, message: str, file: str | None = None, pointer: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.pointer = pointer
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
            if self.pointer:
                where += f" (at {self.pointer})"
            where += ": "
        return f"{where}{self.message}"
