"""Names from the inputs escaped for each medium: terminal, Markdown, raw HTML in Markdown, shell."""

from __future__ import annotations

import re
import subprocess

import pytest

from nsgcheck.escape import comment_text, html_text, markdown_code, markdown_inline, shell_word, visible

HOSTILE = "nsg\n$(touch x) # \x1b[31m\x07 @octocat www.evil.example https://e.example #12 [x](y) \u202e \udfff"


def test_visible_escapes_controls_bidi_and_surrogates():
    assert visible("a\x1bb") == "a\\x1bb"
    assert visible("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert visible("\x9b") == "\\x9b"
    assert visible("x\u202ey") == "x\\u202ey"
    assert visible("nsg\udfff") == "nsg\\udfff"
    assert visible("ünïcode ✓") == "ünïcode ✓"
    out = visible(HOSTILE)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202e\ud800-\udfff]", out)
    out.encode("utf-8")      # encodable


def _outside_code(md: str) -> str:
    return re.sub(r"(`+).*?\1", "", md)


@pytest.mark.parametrize("fn", [markdown_inline, html_text])
def test_markdown_text_has_no_mention_link_or_reference(fn):
    out = fn(HOSTILE)
    assert "\n" not in out and "\x1b" not in out
    assert not re.search(r"@[A-Za-z0-9]", out)          # GitHub mentions need @ + word character
    assert not re.search(r"#[0-9]", out)                 # issue references
    assert "://" not in out and "www." not in out        # autolinks
    assert "<" not in out.replace("&lt;", "")
    if fn is markdown_inline:
        assert "](" not in out.replace("\\](", "")      # inline links cannot form


def test_markdown_code_span_holds_anything():
    out = markdown_code("a`b|c\nd")
    assert out.startswith("``") and out.endswith("``") and "\\|" in out and "\n" not in out
    assert markdown_code("") == ""
    assert not re.search(r"@[A-Za-z0-9]", _outside_code(markdown_code(HOSTILE)))


def test_shell_word_is_one_word_and_never_ends_the_line():
    word = shell_word(HOSTILE)
    assert "\n" not in word and word.startswith("$'")
    assert shell_word("plain-name") == "plain-name"
    assert shell_word("a b'c") == "'a b'\"'\"'c'"
    # bash reads it back as exactly one argument with the original characters (surrogate aside)
    value = HOSTILE.replace("\udfff", "")
    got = subprocess.run(["bash", "-c", f"printf '%s' {shell_word(value)}"], capture_output=True, check=True).stdout
    assert got.decode("utf-8") == value


def test_comment_text_is_one_line():
    assert "\n" not in comment_text(HOSTILE) and "\r" not in comment_text("a\rb")
