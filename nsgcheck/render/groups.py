"""Root-cause grouping: results that share a verdict, a cause and a fix become one line.

A large estate repeats one mistake for hundreds of VMs ("rule deny-all-out breaks Event Hubs
for 67 VMs"). Text, Markdown and HTML show one group per (status, requirement, deciding rule
or reason, fixes, suppression, baseline state), failures first and largest first, instead of
one row per result. The cause of a fail/partial is its first denying rule (or the path device
that denies it); of an unknown, its first reason; of a pass, the rule that allows it. Pure
functions of the report JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from nsgcheck.render import common as c

#: result counts per subject kind, for "67 VMs"
KIND_WORDS = {"vm": ("VM", "VMs"), "nic": ("NIC", "NICs"), "subnet": ("subnet", "subnets"),
              "nsg": ("NSG", "NSGs")}
#: NSG default rules (no location in the inputs)
DEFAULT_RULES = {"allowvnetinbound", "allowazureloadbalancerinbound", "denyallinbound",
                 "allowvnetoutbound", "allowinternetoutbound", "denyalloutbound"}


@dataclass
class Cause:
    """What decided a group's results: a rule (with its place), a path device, or a reason."""

    kind: str                    # 'rule' | 'default-rule' | 'device' | 'reason' | 'none'
    device: str = ""
    device_kind: str = ""
    rule: str = ""
    priority: int | None = None
    location: dict[str, Any] | None = None
    reason: str = ""

    def key(self) -> tuple:
        loc = self.location or {}
        return (self.kind, self.device, self.device_kind, self.rule, self.priority,
                str(loc.get("file", "")), loc.get("line"), self.reason)

    def label(self, name: Callable[[str], str] = str, text: Callable[[str], str] = str) -> str:
        """'rule nsg-web/deny-all-out (4096) at net.json:40', 'default rule DenyAllOutBound of nsg-web'...

        `name` formats names and places from the inputs, `text` everything else (each format
        passes its own escaping: code spans in Markdown)."""
        where = c.location_text(self.location)
        at = f" at {name(where)}" if where else ""
        if self.kind == "rule":
            prio = f" ({self.priority})" if self.priority is not None else ""
            return f"rule {name(self.device + '/' + self.rule)}{prio}{at}"
        if self.kind == "default-rule":
            return f"default rule {name(self.rule)} of {name(self.device)}"
        if self.kind == "device":
            rule = f" {name(self.rule)}" if self.rule else ""
            why = f" ({text(self.reason)})" if self.reason else ""
            return f"{text(self.device_kind.replace('-', ' '))} {name(self.device)}{rule}{at}{why}".strip()
        if self.kind == "reason":
            return text(self.reason)
        return "nothing on the path allows it"


@dataclass
class Group:
    """Results with one status, requirement, cause, fix set, suppression and baseline state."""

    status: str
    requirement: str
    title: str
    severity: str
    cause: Cause
    suppressed: str
    baseline: str
    fix_keys: tuple[tuple[str, str], ...]
    results: list[dict[str, Any]] = field(default_factory=list)
    index: int = 0

    @property
    def first(self) -> dict[str, Any]:
        return self.results[0]

    @property
    def counted(self) -> bool:
        """A problem that gates (not suppressed, not already in the baseline)."""
        return self.status in c.PROBLEM_STATUSES and not self.suppressed and self.baseline != "old"

    def subjects(self) -> list[dict[str, Any]]:
        """Distinct subjects, in report order."""
        seen: dict[tuple, dict[str, Any]] = {}
        for r in self.results:
            seen.setdefault(c.subject_key(r["subject"]), r["subject"])
        return list(seen.values())

    def who(self) -> str:
        """'67 VMs', '2 VMs and 1 subnet'."""
        counts: dict[str, int] = {}
        for s in self.subjects():
            counts[s.get("kind", "")] = counts.get(s.get("kind", ""), 0) + 1
        parts = []
        for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            one, many = KIND_WORDS.get(kind, (kind or "subject", (kind or "subject") + "s"))
            parts.append(f"{n:,} {one if n == 1 else many}")
        return " and ".join(parts)

    def coverage_text(self) -> str:
        """'coverage 80%' / 'coverage 20-80%'; for unknown 'undecided 75% (allowed 25%)', never 'coverage 0%'."""
        cov = [float(r.get("coverage") or 0) for r in self.results]
        if self.status == "unknown":
            und = [float(r.get("unknown_share") or 0) for r in self.results]
            text = f"undecided {_range(und)}"
            return text + (f" (allowed {_range(cov)})" if max(cov) > 0 else "")
        if self.status in ("fail", "not_applicable"):
            return ""
        return f"coverage {_range(cov)}"

    def flow_text(self) -> str:
        r = self.first
        if r.get("side") == "group":
            return f"{str(r.get('protocol', '')).upper()} {r.get('port', '')} between group members"
        return f"{str(r.get('protocol', '')).upper()} {r.get('port', '')} to {r.get('destination', '')}"

    def sentence(self) -> str:
        """One line: what breaks what for whom."""
        if self.status in ("fail", "partial"):
            verb = "denies" if self.status == "fail" else "denies part of"
            return f"{self.cause.label()} {verb} {self.flow_text()}"
        if self.status == "unknown":
            return f"undecided: {self.cause.label()}"
        if self.status == "pass":
            return f"allowed by {self.cause.label()}" if self.cause.kind != "none" else "allowed"
        return str(self.first.get("message") or "not applicable")


def _range(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return c.pct(lo) if c.pct(lo) == c.pct(hi) else f"{c.pct(lo)}–{c.pct(hi)}"


def cause_of(r: dict[str, Any]) -> Cause:
    """The cause a result is grouped by (see the module docstring)."""
    status = r.get("status")
    decisions = r.get("decided_by", []) or []
    if status == "unknown":
        reasons = r.get("reasons", []) or []
        return Cause("reason", reason=str(reasons[0] if reasons else r.get("message") or "undecided"))
    want = {"fail": "deny", "partial": "deny", "pass": "allow"}.get(str(status))
    if want is None:
        return Cause("none")
    d = next((d for d in decisions if d.get("access") == want and (want == "deny" or d.get("rule"))), None)
    if d is None:
        return Cause("none")
    kind = str(d.get("device_kind") or "")
    rule = str(d.get("rule") or "")
    if "nsg" in kind:
        if rule.lower() in DEFAULT_RULES and not d.get("location"):
            return Cause("default-rule", str(d.get("device") or ""), kind, rule, d.get("priority"))
        if rule:
            return Cause("rule", str(d.get("device") or ""), kind, rule, d.get("priority"), d.get("location"))
    return Cause("device", str(d.get("device") or ""), kind, rule, d.get("priority"), d.get("location"),
                 reason=str(d.get("reason") or ""))


def fix_key(f: dict[str, Any]) -> tuple[str, str]:
    return (str(f.get("nsg_id", "")).lower(), str(f.get("name", "")).lower())


def group_results(results: Iterable[dict[str, Any]], requirements: dict[str, dict[str, Any]] | None = None) -> list[Group]:
    """Groups in display order: problems that gate first (fail, partial, unknown), then
    suppressed and baseline ones, then passes and not-applicable; largest first within a status."""
    groups: dict[tuple, Group] = {}
    for r in results:
        status = str(r.get("status", ""))
        if status == "not_applicable":
            cause = Cause("none")
        else:
            cause = cause_of(r)
        fixes = tuple(fix_key(f) for f in r.get("fixes", []) or [])
        suppressed = str(r.get("suppressed") or "")
        baseline = str(r.get("baseline") or "")
        severity = str(r.get("severity") or "")
        key = (status, r.get("requirement"), cause.key(), fixes, suppressed, baseline == "old", severity)
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(status, str(r.get("requirement", "")), str(r.get("title", "")), severity,
                                    cause, suppressed, baseline, fixes)
        elif baseline in ("new", "worse") and g.baseline not in ("new", "worse"):
            g.baseline = baseline
        g.results.append(r)
    order = [g for g in groups.values()]
    order.sort(key=lambda g: (0 if g.counted else 1, c.RANK.get(g.status, 9), bool(g.suppressed),
                              -len(g.results), g.requirement, g.cause.label(), g.fix_keys, g.suppressed))
    for i, g in enumerate(order):
        g.index = i
    return order


@dataclass
class FixUse:
    """A distinct fix and how many gating findings (and groups) it is part of."""

    fix: dict[str, Any]
    findings: int = 0
    groups: list[int] = field(default_factory=list)
    index: int = 0


def fix_uses(groups: list[Group]) -> list[FixUse]:
    """Every distinct fix of the gating groups, most findings first."""
    uses: dict[tuple[str, str], FixUse] = {}
    for g in groups:
        if not g.counted:
            continue
        for f in g.first.get("fixes", []) or []:
            u = uses.get(fix_key(f))
            if u is None:
                u = uses[fix_key(f)] = FixUse(f)
            u.findings += len(g.results)
            u.groups.append(g.index)
    out = sorted(uses.values(), key=lambda u: (-u.findings, str(u.fix.get("nsg", "")).lower(),
                                               str(u.fix.get("name", ""))))
    for i, u in enumerate(out):
        u.index = i
    return out


@dataclass
class Overview:
    """The numbers every format states: subjects, requirements, decided and undecided results."""

    subjects: int
    requirements: int
    results: int
    counts: dict[str, int]
    gating: int                 # problems that gate (not suppressed, not old)
    suppressed: int
    old: int                    # already in the baseline
    with_fix: int               # gating findings some planned fix clears
    fixes: int                  # distinct fixes
    verified: bool = False      # the fixes were applied to the model and audited again

    @property
    def decided(self) -> int:
        return self.results - self.counts.get("unknown", 0)

    def summary_line(self, advisories: int = 0) -> str:
        """'2 subjects × 13 requirements: 26 results, 26 decided (1 fail, 1 partial, 16 pass,
        8 not applicable), 0 unknown; 3 advisories'."""
        n = self.counts
        decided = ", ".join(f"{n.get(s, 0):,} {c.STATUS_LABEL[s]}" for s in ("fail", "partial", "pass", "not_applicable"))
        text = (f"{self.subjects:,} subject{'s' if self.subjects != 1 else ''} × {self.requirements} "
                f"requirement{'s' if self.requirements != 1 else ''}: {self.results:,} results, "
                f"{self.decided:,} decided ({decided}), {n.get('unknown', 0):,} unknown")
        if self.suppressed:
            text += f"; {self.suppressed:,} suppressed"
        if advisories:
            text += f"; {advisories:,} advisor{'ies' if advisories != 1 else 'y'}"
        return text

    def fixes_line(self) -> str:
        """'1 fix clears 201 of the 201 findings (each checked: ...)' when the fixes were verified by a
        re-audit; otherwise they are only 'planned'."""
        if not self.fixes:
            return ""
        rest = self.gating - self.with_fix
        n = f"{self.fixes:,} fix{'es' if self.fixes != 1 else ''}"
        of = f"{self.with_fix:,} of the {self.gating:,} finding{'s' if self.gating != 1 else ''}"
        if self.verified:
            text = f"{n} clear{'s' if self.fixes == 1 else ''} {of} (applied to the model together and audited again)"
        else:
            text = f"{n} planned for {of} (not checked by a re-audit)"
        if rest:
            text += f"; {rest:,} without a fix"
        return text


def overview(report: dict[str, Any], groups: list[Group]) -> Overview:
    results = report.get("results", []) or []
    counts = {s: 0 for s in c.STATUS_ORDER}
    subjects: set[tuple] = set()
    reqs: set[str] = set()
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        subjects.add(c.subject_key(r["subject"]))
        reqs.add(str(r.get("requirement")))
    gating = sum(len(g.results) for g in groups if g.counted)
    with_fix = sum(len(g.results) for g in groups if g.counted and g.fix_keys)
    suppressed = sum(len(g.results) for g in groups if g.suppressed and g.status in c.PROBLEM_STATUSES)
    old = sum(len(g.results) for g in groups if g.baseline == "old" and not g.suppressed)
    fixes = len({k for g in groups if g.counted for k in g.fix_keys})
    return Overview(len(subjects), len(reqs), len(results), counts, gating, suppressed, old, with_fix, fixes,
                    verified=bool(report.get("fix_check")))
