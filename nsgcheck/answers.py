"""Typed answer pieces shared by the engine and the audit: who decided, the path, advisories.

They sit below both (the engine fills them for routes and firewalls, the audit for NSG
layers) so the engine never imports the audit. `nsgcheck.audit.results` re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nsgcheck.model import Origin

PASS = "pass"
PARTIAL = "partial"
FAIL = "fail"
UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"


def status_from_shares(allowed: float, denied: float, unknown: float) -> str:
    """Status of a requirement from the shares of its flow family (exact or unknown).

    * nothing denied, nothing undecided: pass
    * something certainly denied: fail when nothing else is left, else partial
      (partial is certain: some part is denied and not all of it is allowed)
    * nothing certainly denied but part undecided: unknown

    Shares are ratios (or sums of ratios) of exact packet counts, so any share above zero is a real
    part: no tolerance (one of 1e-12 let a denied part of a large family pass).
    """
    if denied > 0:
        return FAIL if allowed <= 0 and unknown <= 0 else PARTIAL
    if unknown > 0:
        return UNKNOWN
    return PASS


def origin_json(origin: Origin | None) -> dict[str, Any] | None:
    if origin is None:
        return None
    out: dict[str, Any] = {"file": origin.file, "pointer": origin.pointer, "line": origin.line}
    if origin.end_line is not None:
        out["end_line"] = origin.end_line
    if origin.address:
        out["address"] = origin.address
    return out


@dataclass(frozen=True)
class Decision:
    """One device's rule (or route) that decided part of a required flow family."""

    device: str             # display name of the device, e.g. 'nsg-app'
    device_kind: str        # 'admin-rules' | 'nic-nsg' | 'subnet-nsg' | 'route' | 'firewall' | 'appliance' |
                            # 'url-allowlist' | 'egress' | 'proxy' | 'outside' (+ '-out' / '-in' on a VM pair)
    rule: str               # rule / route / collection name ('' when no device: e.g. no NSG)
    priority: int | None
    access: str             # 'allow' | 'deny' | 'unknown' | 'partial' | route next hop type
    share: float            # fraction of the required family this rule decided at this device
    location: Origin | None = None
    prefixes: tuple[str, ...] = ()   # destination CIDRs this rule decided (full list)
    reason: str = ""
    device_id: str = ""     # resource id of the device (NSG, route table, firewall) when it has one

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "device_kind": self.device_kind, "device_id": self.device_id,
                "rule": self.rule,
                "priority": self.priority, "access": self.access, "share": round(self.share, 6),
                "location": origin_json(self.location), "prefixes": list(self.prefixes),
                "reason": self.reason}


@dataclass(frozen=True)
class PathStep:
    """A device on the path of a required flow, in the order the packet meets it."""

    kind: str      # a Decision's device_kind
    name: str
    verdict: str   # summary verdict of this device for the family: allow/deny/partial/unknown/absent/not reached
    id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "id": self.id, "verdict": self.verdict}


@dataclass(frozen=True)
class Advisory:
    """A finding that is not a requirement verdict (warning or note), with its rationale."""

    id: str                 # e.g. 'ADV-INBOUND-FOR-ASR'
    level: str              # 'warning' | 'note'
    message: str
    subject: str = ""       # name of what it is about (NSG, subnet, VM)
    location: Origin | None = None
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "subject": self.subject, "message": self.message,
                "location": origin_json(self.location), "details": list(self.details)}


def new_advisory(id: str, level: str, message: str, subject: str = "", location: Origin | None = None,
                 details: tuple[str, ...] = ()) -> Advisory:
    """`Advisory(id, level, message, subject, location, details)` without the frozen class's
    guarded `__init__` (a third of the time): some advisories are made once per VM (30,000 in
    a large audit). The same object: its fields are its `__dict__`, in field order."""
    advisory = _NEW(Advisory)
    _SET(advisory, "__dict__", {"id": id, "level": level, "message": message, "subject": subject,
                                "location": location, "details": details})
    return advisory


_NEW = object.__new__
_SET = object.__setattr__
