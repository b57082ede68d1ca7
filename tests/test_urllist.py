"""--allow-urls FILE: one pattern per line, comments, Squid dstdomain."""

import pytest

from nsgcheck.errors import InputError
from nsgcheck.engine.allowlist import check, missing_message
from nsgcheck.loaders.urllist import load_allow_urls, parse_allow_urls

TEXT = """# proxy allow-list
.blob.core.windows.net      # squid: domain and subdomains
login.microsoftonline.com
https://*.hypervrecoverymanager.windowsazure.com/
cache1.servicebus.windows.net
"""


def test_squid_and_wildcards(tmp_path):
    f = tmp_path / "allow.txt"
    f.write_text(TEXT)
    al = load_allow_urls(f)
    res = {c.url: c.status for c in check(al, ["*.blob.core.windows.net", "login.microsoftonline.com",
                                                "*.hypervrecoverymanager.windowsazure.com",
                                                "*.servicebus.windows.net", "*.vault.azure.net"])}
    assert res == {"*.blob.core.windows.net": "full", "login.microsoftonline.com": "full",
                   "*.hypervrecoverymanager.windowsazure.com": "full",
                   "*.servicebus.windows.net": "partial", "*.vault.azure.net": "none"}
    msg = missing_message(check(al, ["*.servicebus.windows.net", "*.vault.azure.net"]), al.file)
    assert "*.vault.azure.net (not listed)" in msg
    assert "*.servicebus.windows.net (only specific names: cache1.servicebus.windows.net)" in msg


def test_wildcard_does_not_cover_apex():
    al = parse_allow_urls("*.blob.core.windows.net\n", "l.txt")
    assert check(al, ["blob.core.windows.net"])[0].status == "none"


def test_bad_line_names_file_and_line():
    with pytest.raises(InputError) as e:
        parse_allow_urls("ok.com\nwww.contoso.*\n", "l.txt")
    assert e.value.line == 2 and e.value.file == "l.txt"


def test_unreadable_file(tmp_path):
    with pytest.raises(InputError):
        load_allow_urls(tmp_path / "missing.txt")
