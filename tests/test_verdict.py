"""The one status function: shares, status, coverage, deciding rules and the path of a result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings, strategies as st

from nsgcheck.answers import Decision
from nsgcheck.audit.destinations import Cap, apply_cap

from nsgcheck.engine.firstmatch import ALLOWED, DENIED, EITHER
from nsgcheck.engine.pathresult import AllowListDecision, Device, DeviceKind, PathPiece, PathResult, Step, StepState
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


@dataclass(frozen=True)
class _Rule:
    """A deciding rule as the engine's typed rules offer it (an NSG rule, a firewall rule)."""

    display_name: str
    priority: int | None = 100
    origin: Any = None
    is_default: bool = False


_DEVICES = (NIC, Device(DeviceKind.SUBNET_NSG, "nsg-s", "/nsg/s"), Device(DeviceKind.FIREWALL, "fw", "/fw"), LIST)
_RULES = (None, RULE, _Rule("allow-a"), _Rule("allow-b", 200), _Rule("DenyAll", 65500, is_default=True))
_OUTCOMES = {"allow": ALLOWED, "deny": DENIED, "either": EITHER, "absent": frozenset()}
_STEP = st.builds(lambda device, outcome, rule, doubts, reason, partial: Step(
    device, _OUTCOMES[outcome], rule if outcome != "absent" else None, doubts if outcome == "either" else (),
    reason if outcome == "either" else "", StepState.ABSENT if outcome == "absent" else StepState.DECIDED,
    partial=partial and outcome != "absent"),
    st.sampled_from(_DEVICES), st.sampled_from(["allow", "allow", "deny", "either", "absent"]),
    st.sampled_from(_RULES), st.sampled_from([(), (_Rule("maybe", 150),)]),
    st.sampled_from(["", "rule r: tag X not in the file"]), st.booleans())
_PIECE = st.builds(lambda dsts, steps: PathPiece.of([_box(d) for d in dsts], steps), _DST,
                   st.lists(_STEP, min_size=1, max_size=4, unique_by=lambda s: s.device))
_CAP = st.one_of(st.none(), st.builds(Cap, st.sampled_from(["fail", "unknown"]), st.just("the zone is not linked"),
                                      st.just(Decision("dns", "dns-zone", "zone", None, "deny", 1.0)), st.booleans()))


def _relied_on(v: Any) -> set:
    return {(d.device, d.device_kind, d.rule, d.access) for d in v.decided_by}


@settings(max_examples=400)
@given(st.lists(_PIECE, min_size=1, max_size=5), st.sampled_from(["some", "none", "all"]), _CAP, st.booleans())
def test_a_pass_with_its_rules_only_has_the_full_summarys_status_and_rules(pieces, notes, cap, prefixes):
    """`summarize(explain_pass=False, pass_rules=True)` (what fix verification's re-audits keep of
    a pass): the full summary's status, shares and deciding rules whatever the pieces (partial,
    undecided, several devices, a firewall, none); anything but a pass is the full summary; and a
    cap lowers both alike (a lowered pass is never left a pass)."""
    result = PathResult(pieces, sum(p.volume() for p in pieces), _DEVICES,
                        notes=() if notes == "none" else ("a note",))
    full = summarize(result, "T", prefixes=prefixes)
    lean = summarize(result, "T", prefixes=prefixes, explain_pass=False, pass_rules=True)
    assert (lean.status, lean.coverage, lean.unknown_share, lean.denied_share) == \
        (full.status, full.coverage, full.unknown_share, full.denied_share)
    if full.status != "pass":
        assert lean == full
    else:
        assert _relied_on(lean) == _relied_on(full) and len(lean.decided_by) == len(full.decided_by)
    assert apply_cap(lean, cap).status == apply_cap(full, cap).status
