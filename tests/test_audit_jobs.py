"""`run_jobs` gives every job what evaluating its own source alone gives.

A job group is evaluated once over the union of its jobs' sources and each job's result is read
out of it; jobs alike but for the subject (the same kind, the same segment of the result) share
one result, and jobs of one IPv4 address each all in the result's common segment are answered by
their kind alone (remembered across runs of one kind). Random source-scoped rules (so segments
differ or all addresses fall in one), jobs of several kinds (a cap, notes, another port text)
interleaved, some sources ranges rather than one address: each result must equal the plain one,
the union's result projected onto that job's source alone, summarized, capped and made into a
result, and its verdict that of the path evaluated for that source alone.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st

from nsgcheck.answers import UNKNOWN, Decision
from nsgcheck.audit.destinations import Cap, apply_cap
from nsgcheck.audit.requirements import load_requirements
from nsgcheck.audit.evaluate import Evaluator, _Group, _kind, _result, run_jobs
from nsgcheck.audit.results import Subject
from nsgcheck.engine.evaluate import Endpoint, Environment, Flow, PathMemo, PathSpec, evaluate_path
from nsgcheck.engine.membership import single_v4
from nsgcheck.engine.verdict import summarize
from nsgcheck.estate import Estate
from nsgcheck.model import ref
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from audit_helpers import NET, add_vnet, nsg, rule, small_catalog, subnet_id

SOURCES = ["*", "10.0.0.0/28", "10.0.0.16/28", "10.0.0.8/29", "10.0.0.0/26", "10.0.0.5"]
DESTS = ["*", "20.0.0.0/8", "20.1.0.0/16", "VirtualNetwork"]
REQ = next(r for r in load_requirements() if r.side == "source")
CAP = Cap(UNKNOWN, "the zone may not be linked", Decision("zone", "dns-zone", "", None, "unknown", 1.0))


@st.composite
def cases(draw):
    rules = []
    for n in range(draw(st.integers(0, 5))):
        rules.append(rule(f"r{n}", 100 + 10 * n, draw(st.sampled_from(DESTS)), draw(st.sampled_from(["443", "*"])),
                          draw(st.sampled_from(["allow", "deny"])), src=draw(st.sampled_from(SOURCES))))
    sources = []
    for _ in range(draw(st.integers(1, 12))):
        lo = draw(st.integers(1, 40))
        text = f"10.0.0.{lo}" if draw(st.integers(0, 5)) else f"10.0.0.{lo & ~3}/30"
        sources.append((text, draw(st.integers(0, 2))))
    return rules, sources


@settings(max_examples=150)
@given(cases())
def test_each_job_gets_what_its_own_source_alone_gives(case):
    rules, sources = case
    e = Estate()
    e.add("nsgs", nsg("n", *rules))
    add_vnet(e, "v", "eastus", "10.0.0.0/16", {"a": ("10.0.0.0/24", "n")})
    env = Environment(e, small_catalog())
    ev = Evaluator(env)
    req = REQ
    kinds = [_kind(ev, req, "source", "Storage", (), "443", None, (), False),
             _kind(ev, req, "source", "Storage", (), "443", CAP, ("a note",), False),
             _kind(ev, req, "source", "Storage", (), "443 (own)", None, ("another note",), True)]
    spec = PathSpec(sender=Endpoint(ref(subnet_id("v", "a")), None, ref(f"{NET}/networkSecurityGroups/n"), None,
                                    frozenset()))
    family = Flow("tcp", AddressSet.empty(), AddressSet.parse("20.1.0.0/16"), PortSet.parse("443"))
    group = _Group(spec, family, "Storage")
    jobs = []
    for n, (text, k) in enumerate(sources):
        address = AddressSet.parse(text)
        subject = Subject("vm", f"vm{n}", f"{NET}/vm{n}", text, "eastus")
        jobs.append((n, subject, address, single_v4(address), 0, kinds[k]))
    group.jobs = jobs
    out: list = [None] * len(jobs)
    left = [len(jobs)]
    done = []
    run_jobs(ev, {"g": group}, out, done.append, left)
    assert left == [0] and done == [1]
    union = PathMemo(env).path(spec, replace(family, src=AddressSet.union_of([j[2] for j in jobs])))
    for (n, subject, address, _, _, kind), got in zip(jobs, out):
        # plain: the union's result projected onto this job's source, nothing shared
        plain = _result(kind.req, subject, kind.side,
                        apply_cap(summarize(union.project(src=address), "Storage"), kind.cap, kind.notes),
                        "Storage", kind.urls, port=kind.port, flow=family if kind.own_flow else None)
        assert got == plain, (n, str(address), kind.port)
        # and the path evaluated for this source alone gives the same verdict (its path steps
        # stop at the first device that denies all, where the projection says 'not reached')
        alone = apply_cap(summarize(evaluate_path(spec, replace(family, src=address), env), "Storage"), kind.cap,
                          kind.notes)
        assert (got.status, got.coverage, got.unknown_share, got.decided_by, got.denied_prefixes, got.reasons,
                got.message) == (alone.status, alone.coverage, alone.unknown_share, alone.decided_by,
                                 alone.denied_prefixes, alone.reasons, alone.message), (n, str(address))


@settings(max_examples=100)
@given(st.lists(st.lists(st.sampled_from(["10.0.0.4", "10.0.0.5", "10.0.0.9", "10.0.0.16/30", "10.0.0.33"]),
                         min_size=1, max_size=4), min_size=1, max_size=5),
       st.lists(st.integers(0, 4), max_size=5))
def test_each_group_is_evaluated_over_the_union_of_its_own_jobs_sources(lists, same):
    # `run_jobs` works out a union once for groups whose jobs hold the same address objects (a
    # device set's requirements) and keeps it with the group for re-evaluations: each group's
    # flow must be the union of its own jobs' addresses, whichever groups share objects, in a
    # second run of the same groups, and after a group's jobs are replaced
    e = Estate()
    e.add("nsgs", nsg("n", rule("deny-some", 100, "*", "443", "deny", src="10.0.0.4/31")))
    add_vnet(e, "v", "eastus", "10.0.0.0/16", {"a": ("10.0.0.0/24", "n")})
    ev = Evaluator(Environment(e, small_catalog()))
    kind = _kind(ev, REQ, "source", "Storage", (), "443", None, (), False)
    spec = PathSpec(sender=Endpoint(ref(subnet_id("v", "a")), None, ref(f"{NET}/networkSecurityGroups/n"), None,
                                    frozenset()))
    family = Flow("tcp", AddressSet.empty(), AddressSet.parse("20.1.0.0/16"), PortSet.parse("443"))
    made = [[AddressSet.parse(t) for t in texts] for texts in lists]
    # some groups take another group's very address objects (as a device set's requirements do)
    addresses = [made[same[g] % len(made)] if g < len(same) and same[g] < g else made[g] for g in range(len(made))]
    groups, n = {}, 0
    for g, held in enumerate(addresses):
        group = groups[g] = _Group(spec, family, "Storage")
        for a in held:
            group.jobs.append((n, Subject("vm", f"vm{n}", f"{NET}/vm{n}", str(a), "eastus"), a, single_v4(a), 0, kind))
            n += 1
    seen = []
    memo_path = ev.memo.path

    def path(spec_, flow):
        seen.append(flow.src)
        return memo_path(spec_, flow)
    ev.memo.path = path
    for again in range(3):
        if again == 2:        # a group's jobs replaced: its union is worked out again
            groups[0].jobs = groups[0].jobs[:1]
        seen.clear()
        run_jobs(ev, groups, [None] * n)
        assert seen == [AddressSet.union_of([j[2] for j in group.jobs]) for group in groups.values()], again
