"""Text from the inputs made safe for each output medium (terminal, Markdown, shell).

Names in templates and exports are attacker-controlled in a pull request: a control character
can rewrite a terminal, a newline can end a shell comment, an `@name` pings people from a PR
comment. Each function here escapes one medium; all of them also show a lone surrogate
(`"nsg\\udfff"`, valid JSON but not encodable) as its escape instead of crashing.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 and C1 controls, DEL, bidirectional overrides/isolates (Trojan-source), line/paragraph
#: separators, the BOM, the private-use markers the text renderer uses, lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ufeff\ufffe\uffff\ue000-\ue00f\ud800-\udfff]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape_char(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """One line of plain text: every control, bidi or unencodable character as a `\\x1b`-style escape."""
    s = "" if value is None else str(value)
    return _UNSAFE.sub(_escape_char, s) if _UNSAFE.search(s) else s


def has_unsafe(value: str) -> bool:
    return _UNSAFE.search(value) is not None


# -- Markdown (GitHub-flavoured) -------------------------------------------------------------

#: U+2060 WORD JOINER: invisible, and it stops GitHub's mention, issue-reference and autolink
#: recognisers, which need `@`, `#` or `://` directly followed by a word character
_WJ = "\u2060"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#~|!<>&])")
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")
_ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_inline(value: Any) -> str:
    """Inline Markdown text: specials escaped, HTML characters as entities, no mentions, issue
    references or links can form, whitespace runs with newlines folded to one space."""
    s = visible(re.sub(r"\s*[\r\n]+\s*", " ", "" if value is None else str(value)))
    s = _MD_SPECIAL.sub(lambda m: _ENTITY.get(m.group(1)) or "\\" + m.group(1), s)
    s = s.replace("\\#", "\\#" + _WJ)
    return _AUTOLINK.sub(lambda m: (m.group(1)[:-1] + _WJ + m.group(1)[-1:]) if m.group(1) != "@"
                         else "@" + _WJ, s)


def markdown_code(value: Any) -> str:
    """A code span (names, rules, files): nothing inside is Markdown, a link or a mention.

    Pipes are escaped for table cells (GitHub splits cells before parsing code spans)."""
    s = visible(re.sub(r"\s*[\r\n]+\s*", " ", "" if value is None else str(value)))
    if not s:
        return ""
    s = s.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


def html_text(value: Any) -> str:
    """Text inside raw HTML of a Markdown document (e.g. `<summary>`): entities, no mentions."""
    s = visible(re.sub(r"\s*[\r\n]+\s*", " ", "" if value is None else str(value)))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _AUTOLINK.sub(lambda m: (m.group(1)[:-1] + _WJ + m.group(1)[-1:]) if m.group(1) != "@"
                         else "@" + _WJ, s).replace("#", "#" + _WJ)


# -- shell -----------------------------------------------------------------------------------

def shell_word(value: Any) -> str:
    """One shell word that stays one word: single quotes, or bash `$'...'` when the value holds
    control characters (so a newline is shown as `\\n` and can never end the command line)."""
    s = "" if value is None else str(value)
    if not has_unsafe(s):
        import shlex   # (a shell command is shown for a few fixes only)

        return shlex.quote(s)
    body = visible(s.replace("\\", "\\\\")).replace("'", "\\'")
    return f"$'{body}'"


def comment_text(value: Any) -> str:
    """Text for a `#` or `//` comment: one line, nothing can end the comment."""
    return visible(value)
