"""The one status function: a path result -> pass / partial / fail / unknown, coverage, deciding rules.

Shares are fractions of the evaluated flow family (counted in packets of the family; for a
VM's family — one source, one port — that is counted in destination addresses). A piece is
allowed when every device can only allow it, denied when some device can only deny it, and
undecided (unknown) when both remain possible. Status (DESIGN.md): pass when everything is
allowed; fail when everything is denied; partial when part is denied (or a firewall's
application rules allow only some names of a required URL); otherwise unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servicetags import intervals as iv
from servicetags.catalog import intervals_to_cidrs

from nsgcheck.answers import FAIL, PARTIAL, PASS, UNKNOWN, Decision, PathStep, status_from_shares
from nsgcheck.values.addresses import AddressSet

from .firstmatch import ALLOW, ALLOWED, DENIED, DENY, EITHER
from .pathresult import Device, PathResult, RuleShare, StepState
from .space import Box

WHOLE = 1.0 - 1e-12   # a share this large is the whole family


@dataclass(frozen=True)
class Verdict:
    """A path result summed up: what a result of the audit (or `flow`) reports."""

    status: str
    coverage: float
    unknown_share: float
    decided_by: tuple[Decision, ...] = ()
    denied_prefixes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    path: tuple[PathStep, ...] = ()
    message: str = ""
    denied_share: float = 0.0


def unknown_verdict(reason: str, path: tuple[PathStep, ...] = ()) -> Verdict:
    return Verdict(UNKNOWN, 0.0, 1.0, (), (), (reason,), path, reason)


def fast_cidrs(a: AddressSet) -> list[str]:
    """Minimal CIDR list (IPv4 first), formatted without netaddr (hot in large audits)."""
    out = [f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/{p}" for n, p in iv.to_prefixes(a.v4, 32)]
    if a.v6:
        out += intervals_to_cidrs(6, a.v6)
    return out


def dst_cidrs(boxes: tuple[Box, ...] | list[Box], memo: dict | None = None) -> tuple[str, ...]:
    """The destinations of the boxes as a minimal CIDR list. `memo` (one per run) keeps the list
    per destination set (by value): a run's deciding rules and denials cut few distinct sets out
    of its service tags, each thousands of prefixes long."""
    v4: list = []
    v6: list = []
    for b in boxes:
        v4.extend(b.dst.v4)
        v6.extend(b.dst.v6)
    dst = AddressSet.from_intervals(v4, v6)
    if memo is None:
        return tuple(fast_cidrs(dst))
    hit = memo.get(dst)
    if hit is None:
        hit = memo[dst] = tuple(fast_cidrs(dst))
    return hit


def decision(rs: RuleShare, prefixes: bool = True, cidrs: dict | None = None) -> Decision:
    """A typed rule share as the report's Decision (a rule deciding the whole family lists no prefixes)."""
    rule = rs.rule
    return Decision(device=rs.device.name, device_kind=rs.device.kind_text,
                    rule=rule.display_name if rule is not None else "",
                    priority=rule.priority if rule is not None else None, access=rs.access, share=rs.share,
                    location=rule.origin if rule is not None else None,
                    prefixes=dst_cidrs(rs.boxes, cidrs) if prefixes and rs.share < WHOLE else (),
                    reason=rs.reason, device_id=rs.device.id)


def device_verdicts(result: PathResult) -> tuple[PathStep, ...]:
    """Per device of the path, in order: what it did to the family overall."""
    # per device (by equality): the outcomes of its decided steps, whether it was absent, partial
    seen: dict[Device, list[Any]] = {d: [set(), False, False] for d in result.devices}
    for p in result.pieces:
        for s in p.steps:
            slot = seen.get(s.device)
            if slot is None:
                continue
            if s.state is StepState.ABSENT:
                slot[1] = True
            elif s.state is StepState.DECIDED:
                slot[0].add("either" if s.outcomes == EITHER else next(iter(s.outcomes)))
                slot[2] = slot[2] or s.partial
    out = []
    for device in result.devices:
        outs, absent, partial = seen[device]
        if not outs:
            verdict = "absent" if absent else "not reached"
        elif outs == {ALLOW}:
            verdict = "allow"
        elif outs == {DENY}:
            verdict = "deny"
        elif DENY in outs or partial:
            verdict = "partial"
        else:
            verdict = "unknown"
        out.append(PathStep(device.kind_text, device.name, verdict, device.id))
    return tuple(out)


_ACCESS_ORDER = {"deny": 0, "unknown": 1, "partial": 1, "allow": 2}


def decision_order(d: Decision) -> tuple:
    """The order of a verdict's deciding rules: denials first, then by device and priority."""
    return (_ACCESS_ORDER.get(d.access, 3), d.device_kind, d.device, d.priority if d.priority is not None else -1,
            d.rule)


def summarize(result: PathResult, label: str, prefixes: bool = True, explain_pass: bool = True,
              cidrs: dict | None = None, pass_rules: bool = False) -> Verdict:
    """Status, coverage, deciding rules, reasons and the path of a result (module docstring).

    `explain_pass=False`: a pass is only its status and shares (no deciding rules, reasons, path
    or message), for callers that read nothing else of a pass (a multi-VM pair verdict); with
    `pass_rules` too, it keeps its deciding rules, unsorted and without prefixes (for a caller that
    reads which rules a pass relies on: fix planning in verification's re-audits).
    `cidrs`: a memo of prefix lists for `dst_cidrs` (one per run)."""
    if result.total == 0:
        return unknown_verdict(f"the required flow family is empty ({label})")
    total = result.total
    allowed = denied = 0
    partial = False
    denied_boxes: list[Box] = []
    for p in result.pieces:
        if p.partial:
            partial = True
        elif p.outcomes == ALLOWED:
            allowed += p.volume()
        elif p.outcomes == DENIED:
            denied += p.volume()
            denied_boxes.extend(p.boxes)
    a, d = allowed / total, denied / total
    u = max(0.0, (total - allowed - denied) / total)
    status = status_from_shares(a, d, u)
    if partial and status in (PASS, UNKNOWN):
        status = PARTIAL   # a firewall allows only some of the required names: certainly not all
    if status == PASS and not explain_pass:
        if pass_rules:
            return Verdict(PASS, a, u, tuple(decision(rs, False) for rs in result.final_decisions()), denied_share=d)
        return Verdict(PASS, a, u, denied_share=d)
    denied_prefixes = dst_cidrs(denied_boxes, cidrs) if denied_boxes and d < WHOLE and prefixes else ()
    decisions = sorted((decision(rs, prefixes, cidrs) for rs in result.final_decisions()), key=decision_order)
    reasons = result.reasons() + [n for n in result.notes if n not in result.reasons()]
    if status == PASS:
        msg = f"allowed to all of {label}"
    elif status == FAIL:
        first = next((x for x in decisions if x.access == DENY), None)
        msg = f"denied to all of {label}" + (f" by {first.device}/{first.rule}" if first and first.rule else "")
        if first is not None and first.reason and first.device_kind.startswith("egress"):
            msg += f": {first.reason}"
    elif status == UNKNOWN:
        msg = f"cannot be decided from the inputs for {u:.4%} of {label}"
    else:
        msg = f"only {a:.4%} of {label} allowed; {d:.4%} denied" + (f", {u:.4%} undecided" if u else "")
    return Verdict(status, a, u, tuple(decisions), denied_prefixes, tuple(reasons), device_verdicts(result),
                   msg, d)


__all__ = ["FAIL", "PARTIAL", "PASS", "UNKNOWN", "Verdict", "decision", "decision_order", "device_verdicts", "dst_cidrs",
           "fast_cidrs", "summarize", "unknown_verdict"]
