"""Objects the evaluator fills field by field equal the data classes made plainly.

A multi-VM member's result (`_member_result`) and a subject's target-side subject
(`_target_subject`) are made by filling the instance dictionary in field order (one per member
and one per subject with a target: the data classes' `__init__` sets each field through
`object.__setattr__`). Each must equal, field for field and in the same order, what the data
class's constructor makes from the same values; a member's message names its peers as the plain
list of every name would (`_names` looks up only the three it shows).
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, strategies as st

from nsgcheck.answers import PASS
from nsgcheck.audit.evaluate import GROUP, _member_result, _names, _Tally, _target_subject
from nsgcheck.audit.requirements import load_requirements
from nsgcheck.audit.results import Result, Subject
from nsgcheck.audit.subjects import AuditSubject, Placement
from nsgcheck.values.addresses import AddressSet

GROUP_REQ = next(r for r in load_requirements([]) if r.side == GROUP)
texts = st.text("abcXYZ-_ .0", max_size=6)
regions = st.sampled_from([None, "", "eastus", "westeurope"])


def _state(obj: object) -> list:
    return list(obj.__dict__.items())


@given(texts, texts, texts, st.lists(texts, max_size=2).map(tuple), st.one_of(st.none(), texts), regions,
       regions, regions)
def test_target_subject_is_the_plain_subject(name, ident, address, others, target_text, source_region,
                                             target_region, scenario_region):
    subject = Subject("vm", name, ident, address, source_region or "", others)
    source = Placement(AddressSet.empty(), address, region=source_region)
    target = Placement(AddressSet.empty(), target_text, region=target_region) if target_text is not None else None
    subj = AuditSubject(subject, source, target)
    scenario = SimpleNamespace(target_region=scenario_region)
    made = _target_subject(subj, scenario)
    if target is None:
        assert made is None
        return
    tgt_region = scenario_region or target.region          # (the expression it replaces)
    plain = Subject(subject.kind, subject.name, subject.id, target.address_text, target.region or tgt_region or "",
                    subject.other_nics)
    assert type(made) is Subject and made == plain and _state(made) == _state(plain)
    assert hash(made) == hash(plain)


def _plain_names(members: list, peers: list[int]) -> str:
    names = [members[j].subject.name for j in peers]
    return ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")


@st.composite
def tallies(draw, size: int):
    members = list(range(size))
    bad = []
    for _ in range(draw(st.integers(0, 6))):
        cls = draw(st.lists(st.sampled_from(members), min_size=1, max_size=size, unique=True))
        own = draw(st.booleans())
        bad.append((draw(st.sampled_from(["to", "from"])), cls if own else None, "" if own else "peers",
                    draw(st.integers(1, 9))))
    reasons = tuple(draw(st.lists(texts, max_size=3)))
    return _Tally(draw(st.sampled_from([PASS, "fail", "partial", "unknown"])),
                  draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(st.integers(0, 40)), bad, (), reasons)


@given(st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), tallies(n), st.integers(0, n - 1),
                                                      st.lists(st.integers(0, n - 1), max_size=n))), texts)
def test_member_result_is_the_plain_result(case, gname):
    size, tally, i, peers = case
    members = [SimpleNamespace(subject=Subject("vm", f"vm{k}", f"id{k}")) for k in range(size)]
    table = SimpleNamespace(members=members)
    assert _names(table, peers) == _plain_names(members, peers)
    made = _member_result(table, GROUP_REQ, gname, members, [], list(range(size)), i, 0, tally)
    plain = Result(requirement=GROUP_REQ.id, title=GROUP_REQ.title, subject=members[i].subject, side=GROUP,
                   status=tally.status, coverage=tally.coverage, destination=f"group {gname}",
                   protocol=GROUP_REQ.protocol, port=GROUP_REQ.port_text, decided_by=tally.decided_by,
                   message=made.message, unknown_share=tally.unknown_share, reasons=tally.reasons)
    assert type(made) is Result and made == plain and _state(made) == _state(plain)
    if tally.status != PASS and tally.bad:
        shown = "; ".join(f"{d} {_plain_names(members, [k for k in cls if k != i]) if cls is not None else names}"
                          for d, cls, names, _ in tally.bad[:4]) + (" ..." if len(tally.bad) > 4 else "")
        assert shown in made.message
