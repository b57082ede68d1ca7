"""The one status function: shares, status, coverage, deciding rules and the path of a result."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from nsgcheck.engine.firstmatch import ALLOWED, DENIED, EITHER
from nsgcheck.engine.pathresult import AllowListDecision, Device, DeviceKind, PathPiece, PathResult, Step
from nsgcheck.engine.space import PROTOCOLS, Box
from nsgcheck.engine.verdict import dst_cidrs, summarize
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

NIC = Device(DeviceKind.NIC_NSG, "nsg-a", "/nsg/a")
LIST = Device(DeviceKind.URL_ALLOWLIST, "allow.txt", "allow.txt")


def _box(dst: str) -> Box:
    return Box(frozenset({"tcp"}), AddressSet.parse("10.0.0.4"), PortSet.everything(), AddressSet.parse(dst),
               PortSet.single(443))


def _result(*pieces: PathPiece) -> PathResult:
    return PathResult(list(pieces), sum(p.volume() for p in pieces), (NIC, LIST))


RULE = AllowListDecision("allow.txt", ".blob.core.windows.net")


def test_statuses_from_outcomes():
    allow = PathPiece.of([_box("20.0.0.0/25")], [Step(NIC, ALLOWED, RULE)])
    deny = PathPiece.of([_box("20.0.0.128/25")], [Step(NIC, DENIED, RULE)])
    doubt = PathPiece.of([_box("20.0.1.0/24")], [Step(NIC, EITHER, RULE, reason="rule r: tag X not in the file")])
    assert summarize(_result(allow), "T").status == "pass"
    assert summarize(_result(deny), "T").status == "fail"
    v = summarize(_result(allow, deny), "T")
    assert (v.status, v.coverage, v.denied_prefixes) == ("partial", 0.5, ("20.0.0.128/25",))
    v = summarize(_result(allow, doubt), "T")
    assert (v.status, v.coverage, v.unknown_share) == ("unknown", 1 / 3, 2 / 3)
    assert v.reasons == ("rule r: tag X not in the file",)
    assert [(d.device_kind, d.access) for d in v.decided_by] == [("nic-nsg", "unknown"), ("nic-nsg", "allow")]


def test_partly_allowed_names_make_a_result_partial_and_the_path_says_so():
    part = PathPiece.of([_box("20.0.0.0/24")], [Step(NIC, ALLOWED, RULE), Step(LIST, EITHER, RULE, partial=True)])
    v = summarize(_result(part), "T")
    assert v.status == "partial" and v.coverage == 0.0
    assert [(p.kind, p.verdict) for p in v.path] == [("nic-nsg", "allow"), ("url-allowlist", "partial")]


def test_empty_family_is_unknown():
    assert summarize(PathResult([], 0), "T").status == "unknown"
    assert PROTOCOLS


def test_a_pass_without_explanation_keeps_status_and_shares_and_nothing_else_changes():
    allow = PathPiece.of([_box("20.0.0.0/25")], [Step(NIC, ALLOWED, RULE)])
    deny = PathPiece.of([_box("20.0.0.128/25")], [Step(NIC, DENIED, RULE)])
    doubt = PathPiece.of([_box("20.0.1.0/24")], [Step(NIC, EITHER, RULE, reason="rule r: tag X not in the file")])
    full = summarize(_result(allow), "T", prefixes=False)
    lean = summarize(_result(allow), "T", prefixes=False, explain_pass=False)
    assert full.decided_by and not lean.decided_by
    assert (lean.status, lean.coverage, lean.unknown_share, lean.denied_share) == \
        (full.status, full.coverage, full.unknown_share, full.denied_share) == ("pass", 1.0, 0.0, 0.0)
    for pieces in ((deny,), (allow, deny), (allow, doubt)):
        assert summarize(_result(*pieces), "T", prefixes=False, explain_pass=False) == \
            summarize(_result(*pieces), "T", prefixes=False)


_DST = st.lists(st.sampled_from(["20.0.0.0/25", "20.0.0.128/26", "20.0.1.0/24", "10.1.0.4/32", "2001:db8::/64",
                                 "2001:db8:1::/48", "52.0.0.0/8"]), min_size=1, max_size=3)


@settings(max_examples=300)
@given(st.lists(_DST, min_size=1, max_size=6), st.lists(st.booleans(), min_size=1, max_size=6))
def test_prefix_lists_remembered_per_destination_set_are_the_plain_ones(dsts, denied):
    """`dst_cidrs` with a run's memo gives what it gives without, and so does `summarize`: the
    memo is keyed by the whole destination set (both families)."""
    memo: dict = {}
    results = []
    for n, cidrs in enumerate(dsts):
        boxes = [_box(c) for c in cidrs]
        assert dst_cidrs(boxes, memo) == dst_cidrs(boxes)
        outcome = DENIED if denied[n % len(denied)] else ALLOWED
        results.append(_result(PathPiece.of(boxes, [Step(NIC, outcome, RULE)]),
                               PathPiece.of([_box("99.0.0.0/30")], [Step(NIC, ALLOWED, RULE)])))
    for _ in range(2):
        for r in results:
            assert summarize(r, "x", cidrs=memo) == summarize(r, "x")


def test_a_denied_part_however_small_of_a_large_family_is_never_a_pass():
    """Status comes from exact volumes: one denied packet beside ~2**47 allowed ones (shares of
    about 7e-15, below any float tolerance) is partial, and one undecided packet is unknown."""
    def box(src: str, dst: str) -> Box:
        return Box(frozenset({"tcp"}), AddressSet.parse(src), PortSet.everything(), AddressSet.parse(dst),
                   PortSet.single(443))
    allow = PathPiece.of([box("10.0.0.0/16", "0.0.0.0/1")], [Step(NIC, ALLOWED, RULE)])
    deny = PathPiece.of([box("10.0.0.4", "128.0.0.1")], [Step(NIC, DENIED, RULE)])
    doubt = PathPiece.of([box("10.0.0.4", "128.0.0.1")], [Step(NIC, EITHER, RULE, reason="r")])
    assert 0 < summarize(_result(allow, deny), "T").denied_share < 1e-12
    assert summarize(_result(allow, deny), "T").status == "partial"
    assert summarize(_result(allow, doubt), "T").status == "unknown"
    assert summarize(_result(allow), "T").status == "pass"
