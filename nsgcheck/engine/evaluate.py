"""The one entry point of the engine: evaluate a path for a flow family (`evaluate_path`).

A path is named by a `PathSpec`: the sender's devices (its NIC NSG and subnet NSG outbound,
the route, an Azure Firewall or appliance, a URL allow-list), the receiver's devices (its
subnet NSG and NIC NSG inbound), or both for traffic between two VMs (multi-VM TCP 20004).
Each end is an `Endpoint`: the ids of what its evaluation reads. A `Flow` is the packet set:
protocol x source addresses x source ports x destination addresses x destination ports,
plus the URL form of the destination (for firewall application rules and allow-lists).

`evaluate_path` returns a `PathResult` (nsgcheck.engine.pathresult): every piece of the flow
with one step per device and the deciding rule of each. `audit`, `flow` and the tests all go
through it; `PathMemo` is the one place evaluations are remembered (see its docstring).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, Mapping

from nsgcheck.estate import Estate
from nsgcheck.model import NetworkSecurityGroup, Unknown, ref
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from .admin import admin_layer
from .catalog import TagCatalog
from .context import asg_membership, build_context, nsg_export_of
from .egress import Egress, egress_for
from .firstmatch import EITHER
from .membership import BoxIndex, single_v4
from .nsg import INBOUND, OUTBOUND, TermCache, flow_space, nsg_device, through_nsgs
from .path import Beyond, beyond_nsgs
from .pathresult import Device, DeviceKind, Leg, PathPiece, PathResult, Step
from .resolve import ResolveContext, rule_protocols
from .routing import EffectiveRoutes, route_partition, subnet_routes
from .space import Box

if TYPE_CHECKING:   # an allow-list's module comes with the allow-list (nsgcheck.loaders.urllist)
    from .allowlist import UrlAllowList


@dataclass(frozen=True)
class Endpoint:
    """One VM end of a path, by the ids of everything its evaluation reads.

    * `subnet_id`: the subnet (its route table and routes, service endpoints, VNet, peerings:
      the routes and the VirtualNetwork/Internet tags); None when not in the inputs.
    * `nic_nsg_id`, `subnet_nsg_id`: the NSGs (`ref()`-ed ids; one the inputs do not hold is
      evaluated as an NSG whose rules are not known).
    * `nic_id`: set only for a NIC with an effective export: its effective-NSG export (which
      then decides its NSGs) and effective-route export.
    * `asgs`: the evaluated NIC's ASG ids; None when membership is not known (a subnet's "any
      VM placed here", a failed-over VM, an NSG attached to nothing).
    * `outside`: for an NSG attached to nothing in the inputs: why the devices beyond it are not
      known (its packets then go nowhere certain: allowed packets stay in doubt).
    * `egress`: how its packets routed to the Internet leave Azure (`egress.egress_for`, with the
      NIC's public IP and load-balancer pools); None: decided by the subnet alone (any VM placed
      there, without NIC-level methods).
    """

    subnet_id: str | None = None
    nic_nsg_id: str | None = None
    subnet_nsg_id: str | None = None
    nic_id: str | None = None
    asgs: frozenset[str] | None = None
    outside: str = ""
    egress: Egress | None = None

    def __hash__(self) -> int:
        return _cached_hash(self, (self.subnet_id, self.nic_nsg_id, self.subnet_nsg_id, self.nic_id, self.asgs,
                                   self.outside, self.egress))


@dataclass(frozen=True)
class PathSpec:
    """Which devices: a sender's outbound path, a receiver's inbound NSGs, or both (VM to VM)."""

    sender: Endpoint | None = None
    receiver: Endpoint | None = None

    def __hash__(self) -> int:
        return _cached_hash(self, (self.sender, self.receiver))


def _cached_hash(obj: Any, fields: tuple) -> int:
    """The hash of a frozen key object, worked out once (memo keys are hashed at every look-up)."""
    h = obj.__dict__.get("_hash")
    if h is None:
        h = hash(fields)
        object.__setattr__(obj, "_hash", h)
    return h


@dataclass(frozen=True)
class Flow:
    """A flow family and the URL form of its destination."""

    protocol: str
    src: AddressSet
    dst: AddressSet
    dport: PortSet
    sport: PortSet = field(default_factory=PortSet.everything)
    urls: tuple[str, ...] = ()
    accepted_urls: tuple[str, ...] = ()
    #: the packets go to a forward proxy (this name) that sends the URLs on: its URL allow-list
    #: decides beyond it (none given: its policy is not in the inputs)
    via: str = ""

    def __hash__(self) -> int:
        return _cached_hash(self, (self.protocol, self.src, self.dst, self.dport, self.sport, self.urls,
                                   self.accepted_urls, self.via))

    def space(self) -> list:
        return flow_space(self.protocol, self.src, self.dst, self.dport, self.sport)


@dataclass(frozen=True)
class Scope:
    """Every remote address the flows of a run may have: destinations of outbound traffic,
    sources of inbound traffic, and optionally their protocols and destination ports. A caller
    that knows all its flows upfront (the audit) declares it; NSG rules that can meet none of
    these packets cannot decide any packet of the run and are never resolved. A flow outside
    the scope is refused (ValueError)."""

    outbound: AddressSet
    inbound: AddressSet
    protocols: frozenset[str] = frozenset()    # with `dports`: every protocol and destination port
    dports: PortSet = field(default_factory=PortSet)   # of the run's flows (empty: not declared)

    def channel(self) -> tuple[frozenset[str], PortSet] | None:
        return (self.protocols, self.dports) if self.protocols else None


@dataclass(frozen=True, eq=False)
class Environment:
    """What is fixed for a whole run: the estate, the tag file, a URL allow-list, named appliances,
    and optionally the scope of remote addresses of the run's flows."""

    estate: Estate
    catalog: TagCatalog | None = None
    allow_urls: UrlAllowList | None = None
    appliances: Mapping[str, str] = field(default_factory=dict)   # next-hop address -> firewall/NVA name
    scope: Scope | None = None


class PathMemo:
    """The one memo of path evaluations for a run (one `Environment`).

    `path(spec, flow)` is keyed by (`PathSpec`, `Flow`). That is everything an evaluation
    reads: the spec names, by id, every device of the path and every input that shapes its
    meaning (the NSGs, or the NIC's effective export that replaces them; the subnet, hence its
    route table and routes, service endpoints, VNet, peerings and any effective-route export of
    its NICs, hence the route choice, the firewall or appliance and the VirtualNetwork tag; the
    NIC's ASG membership, which decides VM-side ASG rules; its egress, the NIC-level way out, or
    None for the subnet's own, which the subnet id already names); the flow is the whole packet set,
    sources included, so a source-scoped NSG rule, a firewall rule with source addresses or an
    ASG rule is never answered for packets it was not evaluated on. Everything else (estate,
    tag file, allow-list, appliance names, the scope of remote addresses) is the environment,
    fixed for the memo's life.

    Each end's part of a path is remembered the same way, by (end, flow): every receiver of
    one flow shares the sender's part and every sender the receiver's (a packet's path between
    two VMs is the product of the two parts, see `_evaluate`). The derived tables are pure
    functions of the environment and their keys: ASG membership (per estate), resolve contexts
    (per endpoint), NSG layers (per endpoint, direction and leg), subnet routes (per subnet and
    export NIC) and their partition of a destination set, a subnet's own egress (per subnet), resolved NSG rules (`TermCache`: per NSG, direction and the flow's protocols
    and ports the rules that can meet them, per remote address set and context their terms).

    The audit evaluates each (device set, flow family) once over the union of the sources of
    the subjects that share it, and reads each subject out of the result with
    `PathResult.project` (exact).

    A changed estate needs a new memo: path results are keyed by device ids, not contents.
    Only the resolved NSG rules (`terms`) may be handed on to the memo of an estate that
    differs in NSGs alone (`PathMemo(env, terms=old.terms)`, as fix verification does): that
    cache is keyed by the NSG and rule objects themselves (frozen, held by the keys), so a
    changed NSG, a new object, never meets the terms of the one it replaced.
    """

    def __init__(self, env: Environment, terms: TermCache | None = None):
        self.env = env
        self.terms = terms if terms is not None else TermCache()
        self._paths: dict[tuple[PathSpec, Flow], PathResult] = {}
        self._stages: dict[tuple[str, Endpoint, Flow, bool], _Stage] = {}
        self._contexts: dict[Endpoint, ResolveContext] = {}
        self._routes: dict[tuple[str, str | None], EffectiveRoutes] = {}
        self._egress: dict[str, Egress] = {}
        self._asgs: Any = None
        self._within: dict[tuple[int, int], tuple[AddressSet, AddressSet, bool]] = {}
        self._scoped: dict[tuple[int, bool, bool], tuple[Flow, bool]] = {}
        self._families: dict[tuple[int, int], tuple[Flow, Flow, bool]] = {}
        self._layers: dict[tuple, tuple[list, tuple[str, ...]]] = {}
        self._parts: dict[tuple[int, int], tuple[EffectiveRoutes, AddressSet, list]] = {}
        self.evaluations = 0

    def for_changed_nsgs(self, env: Environment) -> "PathMemo":
        """A memo for `env`, whose estate differs from this memo's in NSG objects alone (every
        other table of the estate the same objects, the rest of the environment the same): it
        shares the resolved rules (`terms`) and the derived tables that read no NSG (ASG
        membership, resolve contexts, subnet routes and their partitions, egress), so that the
        terms of unchanged NSGs are found again under the same contexts. Path results, stages and
        NSG layers read NSGs: none is handed on (`adopt_stage` takes a stage the caller shows
        alike)."""
        memo = PathMemo(env, terms=self.terms)
        memo._asgs = self._asgs
        memo._contexts = self._contexts
        memo._routes = self._routes
        memo._egress = self._egress
        memo._parts = self._parts
        memo.evaluations = self.evaluations
        return memo

    def adopt_stage(self, side: str, end: Endpoint, flow: Flow, pair: bool, stage: "_Stage") -> None:
        """Take a stage ('sender' or 'receiver' part) evaluated by another memo whose estate the
        caller has shown decides it alike (fix verification: `nsg.decides_alike` for its changed
        NSGs): `sender_stage` / `receiver_stage` then return it."""
        self._stages.setdefault((side, end, flow, pair), stage)

    def path(self, spec: PathSpec, flow: Flow) -> PathResult:
        key = (spec, flow)
        hit = self._paths.get(key)
        if hit is None:
            hit = self._paths[key] = _evaluate(spec, flow, self)
        return hit

    def projected(self, spec: PathSpec, flow: Flow, src: AddressSet, dst: AddressSet,
                  receiver_flow: Flow | None = None) -> PathResult:
        """`path(spec, flow).project(src=src, dst=dst)`, without building the whole product of a
        VM-to-VM path: its ends' parts are remembered and projected first. The receiver's part
        may be evaluated over `receiver_flow` instead (any flow of the same family whose packets
        include `src` x `dst`), so that senders and receivers share their parts."""
        if spec.sender is None or spec.receiver is None:
            return self.path(spec, flow).project(src=src, dst=dst)
        for f in (flow, receiver_flow or flow):
            if not (self.same_family(f, flow) and self.within(src, f.src) and self.within(dst, f.dst)):
                raise ValueError("the projected packets must be in both flows of the same family")
        return _evaluate(spec, flow, self, src, dst, receiver_flow)

    def sender_stage(self, end: Endpoint, flow: Flow, pair: bool) -> "_Stage":
        """The sender's part of a path (shared by every receiver of the same flow)."""
        key = ("sender", end, flow, pair)
        hit = self._stages.get(key)
        if hit is None:
            hit = self._stages[key] = _sender_stage(end, flow, pair, self)
        return hit

    def receiver_stage(self, end: Endpoint, flow: Flow, pair: bool) -> "_Stage":
        """The receiver's part of a path (shared by every sender of the same flow)."""
        key = ("receiver", end, flow, pair)
        hit = self._stages.get(key)
        if hit is None:
            hit = self._stages[key] = _receiver_stage(end, flow, pair, self)
        return hit

    # -- derived tables ---------------------------------------------------------------
    def same_family(self, a: Flow, b: Flow) -> bool:
        """Whether two flows differ in their addresses alone, remembered per pair (by identity;
        the flows are held)."""
        key = (id(a), id(b))
        hit = self._families.get(key)
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = self._families[key] = (a, b, a is b or replace(a, src=b.src, dst=b.dst) == b)
        return hit[2]

    def in_scope(self, flow: Flow, sending: bool, receiving: bool) -> bool:
        """Whether a flow lies in the run's declared scope (`Scope`) for a path with a sender and/or
        a receiver, remembered per flow (by identity; the flow is held): a multi-VM table projects
        thousands of pairs out of the same few flows."""
        key = (id(flow), sending, receiving)
        hit = self._scoped.get(key)
        if hit is None or hit[0] is not flow:
            scope = self.env.scope
            out = not ((sending and not self.within(flow.dst, scope.outbound))
                       or (receiving and not self.within(flow.src, scope.inbound))
                       or (scope.protocols and not (rule_protocols(flow.protocol) <= scope.protocols
                                                    and flow.dport.issubset(scope.dports))))
            hit = self._scoped[key] = (flow, out)
        return hit[1]

    def within(self, part: AddressSet, whole: AddressSet) -> bool:
        """`part <= whole`, remembered per pair of sets (by identity; the sets are held)."""
        key = (id(part), id(whole))
        hit = self._within.get(key)
        if hit is None or hit[0] is not part or hit[1] is not whole:
            hit = self._within[key] = (part, whole, part <= whole)
        return hit[2]

    def context(self, end: Endpoint) -> ResolveContext:
        ctx = self._contexts.get(end)
        if ctx is None:
            estate = self.env.estate
            if self._asgs is None:
                self._asgs = asg_membership(estate)
            subnet = estate.subnets.get(end.subnet_id) if end.subnet_id else None
            nic = estate.nics.get(end.nic_id) if end.nic_id else None
            ctx = build_context(estate, subnet, self.env.catalog, nic=nic, asgs=self._asgs, subject=end.asgs,
                                nic_id=end.nic_id)
            self._contexts[end] = ctx
        return ctx

    def routes(self, end: Endpoint) -> EffectiveRoutes | None:
        if not end.subnet_id or end.subnet_id not in self.env.estate.subnets:
            return None
        key = (end.subnet_id, end.nic_id)
        hit = self._routes.get(key)
        if hit is None:
            hit = self._routes[key] = subnet_routes(self.env.estate.subnets[end.subnet_id], self.env.estate,
                                                    self.env.catalog, nic_id=end.nic_id)
        return hit

    def route_parts(self, routes: EffectiveRoutes, dst: AddressSet) -> list:
        """The route partition of a destination set (by identity of both; they are held)."""
        key = (id(routes), id(dst))
        hit = self._parts.get(key)
        if hit is None or hit[0] is not routes or hit[1] is not dst:
            hit = self._parts[key] = (routes, dst, route_partition(dst, routes))
        return hit[2]

    def egress(self, end: Endpoint) -> Egress | None:
        """The endpoint's way out: its own, else its subnet's (any VM placed there)."""
        if end.egress is not None:
            return end.egress
        if not end.subnet_id:
            return None
        hit = self._egress.get(end.subnet_id)
        if hit is None:
            hit = self._egress[end.subnet_id] = egress_for(self.env.estate, self.env.estate.subnets.get(end.subnet_id))
        return hit

    def layers(self, end: Endpoint, direction: str, leg: Leg | None,
               notes: list[str]) -> list[tuple[Device, NetworkSecurityGroup | None]]:
        """The endpoint's NSG layers in the order packets meet them in `direction` (and notes)."""
        key = (end, direction, leg)
        hit = self._layers.get(key)
        if hit is None:
            found: list[str] = []
            hit = self._layers[key] = (self._find_layers(end, direction, leg, found), tuple(found))
        notes.extend(n for n in hit[1] if n not in notes)
        return hit[0]

    def _find_layers(self, end: Endpoint, direction: str, leg: Leg | None,
                     notes: list[str]) -> list[tuple[Device, NetworkSecurityGroup | None]]:
        estate = self.env.estate
        nic_nsg = _nsg(estate, end.nic_nsg_id, "the NIC")
        sub_nsg = _nsg(estate, end.subnet_nsg_id, "the subnet")
        export = nsg_export_of(estate, end.nic_id)
        admin = None
        if export is not None and end.nic_id:
            from .effective import export_layers   # only estates with an effective-NSG export

            got = export_layers(export, end.nic_id)
            nic_nsg, sub_nsg, admin = got.nic, got.subnet, got.admin
            note = "NSGs from the effective-NSG export of the NIC (its effective rules and expanded prefixes)"
            if note not in notes:
                notes.append(note)
            notes.extend(f"not evaluated: {o}" for o in got.other if f"not evaluated: {o}" not in notes)
        nic = (nsg_device(DeviceKind.NIC_NSG, nic_nsg, leg), nic_nsg)
        if end.outside and export is None:
            return [nic]     # an NSG attached to nothing: the only device of the inputs
        sub = (nsg_device(DeviceKind.SUBNET_NSG, sub_nsg, leg), sub_nsg)
        layers = [sub, nic] if direction == INBOUND else [nic, sub]
        subnet = estate.subnets.get(end.subnet_id) if end.subnet_id else None
        if subnet is not None and export is None:
            admin = admin_layer(estate, subnet.vnet_id)
        if admin is not None:
            # security admin rules come before the NSGs (an effective export lists those applied)
            layers.insert(0, (Device(DeviceKind.ADMIN_RULES, admin.name, admin.id, leg), admin))
        return layers


def _nsg(estate: Estate, nsg_id: str | None, owner: str) -> NetworkSecurityGroup | None:
    """The NSG of an id; one the inputs do not hold is an NSG whose rules are not known."""
    if not nsg_id:
        return None
    nsg = estate.nsgs.get(ref(nsg_id))
    if nsg is not None:
        return nsg
    name = nsg_id.rstrip("/").rsplit("/", 1)[-1]
    return NetworkSecurityGroup(nsg_id, name, (), (), rules_unknown=Unknown(
        f"NSG {name} of {owner} is referenced but not in the inputs"))


def evaluate_path(spec: PathSpec, flow: Flow, env: Environment, memo: PathMemo | None = None) -> PathResult:
    """Every piece of `flow` on the path `spec` and what each device did to it (module docstring).

    With a memo the result is remembered (keyed by spec and flow); without, it is computed afresh.
    """
    if memo is None:
        return _evaluate(spec, flow, PathMemo(env))
    assert memo.env is env, "a PathMemo serves one environment"
    return memo.path(spec, flow)


class _PartResult(PathResult):
    """A stage's part as a path result whose `total` (the pieces' volume) is worked out when
    read: the multi-VM pair tables read only its pieces and segments."""

    def __init__(self, pieces: list[PathPiece], devices: tuple[Device, ...], notes: tuple[str, ...]):
        self.pieces, self.devices, self.notes, self._bounds = pieces, devices, notes, {}

    @cached_property
    def total(self) -> int:  # type: ignore[override]
        return sum(p.volume() for p in self.pieces)


@dataclass(frozen=True)
class _Stage:
    """One end's part of a path: the pieces it decided, those still walking, its devices, notes."""

    finals: tuple[PathPiece, ...]
    walking: tuple[tuple[tuple[Box, ...], tuple[Step, ...]], ...]
    devices: tuple[Device, ...]
    notes: tuple[str, ...]

    @cached_property
    def result(self) -> PathResult:
        """The part as a result of its own (what `segment` reads; its total when read)."""
        return _PartResult(list(self.finals) + [PathPiece.of(b, s) for b, s in self.walking],
                           self.devices, self.notes)

    @cached_property
    def index(self) -> BoxIndex:
        """Its boxes (finals', then walking pieces') by the sources that hold an address."""
        return BoxIndex([p.boxes for p in self.finals] + [b for b, _ in self.walking],
                        partial(self.result.membership, "src"), partial(self.result.membership, "dst"))

    def project_point(self, src: AddressSet, x: int, dst: AddressSet, y: int) -> PathResult:
        """`result.project(src=src, dst=dst)` for the single IPv4 addresses `x` (`src`) and `y`
        (`dst`), through the index: only the boxes that hold both are touched (a multi-VM pair)."""
        pieces = []
        nf = len(self.finals)
        for g, boxes in self.index.cut_point(src, x, dst, y):
            if g < nf:
                p = self.finals[g]
                pieces.append(PathPiece(boxes, p.steps, p.outcomes, p.partial))
            else:
                pieces.append(PathPiece.of(boxes, self.walking[g - nf][1]))
        return PathResult(pieces, sum(p.volume() for p in pieces), self.devices, self.notes)

    def cut(self, src: AddressSet, x: int, cut_dst: Any,
            point: tuple[AddressSet, int] | None = None) -> tuple[list[PathPiece], list]:
        """(finals, walking) restricted to the single source address `x` (`src`) and to what
        `cut_dst` keeps of the destinations: what `_cut_boxes` makes of every piece, through the
        index (the boxes that hold `x` alone are touched). `point`: (the destinations, `y`) when
        they are the single IPv4 address `y`: the boxes that hold both alone are touched."""
        finals: list[PathPiece] = []
        walking: list = []
        nf = len(self.finals)
        found = self.index.cut(src, x, cut_dst) if point is None else self.index.cut_point(src, x, *point)
        for g, boxes in found:
            if g < nf:
                p = self.finals[g]
                finals.append(PathPiece(boxes, p.steps, p.outcomes, p.partial))
            else:
                walking.append((boxes, self.walking[g - nf][1]))
        return finals, walking


def _evaluate(spec: PathSpec, flow: Flow, memo: PathMemo, src: AddressSet | None = None,
              dst: AddressSet | None = None, receiver_flow: Flow | None = None) -> PathResult:
    """The path result of `flow` on `spec`, or its projection onto `src` x `dst` when given
    (computed from the projections of the ends' parts: projection commutes with their product,
    so the receiver's part may come from another flow that also covers `src` x `dst`)."""
    memo.evaluations += 1
    if memo.env.scope is not None and not memo.in_scope(flow, spec.sender is not None, spec.receiver is not None):
        raise ValueError("flow outside the run's declared scope")
    pair = spec.sender is not None and spec.receiver is not None
    walking: list = []
    if spec.sender is None and spec.receiver is None:      # (else the ends' stages give the pieces)
        space = tuple(b for b in flow.space() if not b.is_empty())
        walking = [(space, ())] if space else []
    finals: list[PathPiece] = []
    notes: list[str] = []
    devices: list[Device] = []
    devices_in: list[Device] = []
    if spec.sender is not None:
        stage = memo.sender_stage(spec.sender, flow, pair)
        finals += stage.finals
        walking = list(stage.walking)
        notes += stage.notes
        devices += stage.devices
    if spec.receiver is not None:
        rstage = memo.receiver_stage(spec.receiver, receiver_flow or flow, pair)
        notes += [n for n in rstage.notes if n not in notes]
        devices_in = list(rstage.devices)
        if spec.sender is None:
            finals += rstage.finals
            walking = list(rstage.walking)
        else:
            # what the receiver does to a packet does not depend on the sender's devices: the
            # two stages were evaluated over the same flow, and a packet's path is their product
            x = single_v4(src)
            if x is not None:
                # one sender address (a pair's): only the boxes whose source holds it are cut
                # (and, for one receiver address, whose destination holds that)
                y = single_v4(dst)
                cut_dst = _cutter(dst) if y is None else None
                point = (dst, y) if y is not None else None
                finals, walking = stage.cut(src, x, cut_dst, point)
                rfinals, rwalking = rstage.cut(src, x, cut_dst, point)
                received = [(p.boxes, p.steps) for p in rfinals] + rwalking
            else:
                received = [(p.boxes, p.steps) for p in rstage.finals] + list(rstage.walking)
            if x is None and (src is not None or dst is not None):
                walking = _cut(walking, src, dst)
                received = _cut(received, src, dst)
                cut_src, cut_dst = _cutter(src), _cutter(dst)
                finals = [PathPiece(b, p.steps, p.outcomes, p.partial) for p in finals
                          for b in [_cut_boxes(p.boxes, cut_src, cut_dst)] if b]
            walking = [(tuple(inter), ss + rs) for sb, ss in walking for rb, rs in received
                       if (inter := _meet_all(sb, rb))]
    finals.extend(PathPiece.of(b, s) for b, s in walking)
    # devices in the order packets meet them: the sender's, whatever the pieces met, the receiver's
    seen: dict[Device, None] = dict.fromkeys(devices)
    receiving = set(devices_in)
    for p in finals:
        for st in p.steps:
            if st.device not in receiving:
                seen.setdefault(st.device, None)
    for d in devices_in:
        seen.setdefault(d, None)
    result = PathResult(finals, sum(p.volume() for p in finals), tuple(seen), tuple(notes))
    if (src is not None or dst is not None) and not pair:
        return result.project(src, dst)
    return result


def _cut_boxes(boxes: tuple[Box, ...], src: Any, dst: Any) -> tuple[Box, ...]:
    """The boxes restricted to `src` x `dst` (address sets, None: all, or `_cutter`s)."""
    cut_src = src if callable(src) else _cutter(src)
    cut_dst = dst if callable(dst) else _cutter(dst)
    out = []
    for b in boxes:
        s = cut_src(b.src)
        if not s:
            continue
        d = cut_dst(b.dst)
        if d:
            out.append(Box(b.protocols, s, b.sport, d, b.dport))
    return tuple(out)


def _cutter(part: AddressSet | None) -> Any:
    """`lambda x: x & part` (`x` for None). A single IPv4 address (a pair's ends: the hot case)
    is a binary search instead of an intersection: the result is `part` itself or empty."""
    if part is None:
        return _same
    if len(part.v4) == 1 and not part.v6 and part.v4[0][0] == part.v4[0][1]:
        x = part.v4[0][0]

        def one(whole: AddressSet) -> AddressSet:
            ivs = whole.v4
            k = bisect_right(ivs, (x, _INF)) - 1
            return part if k >= 0 and ivs[k][1] >= x else _NONE
        return one
    return part.__and__


def _same(x: AddressSet) -> AddressSet:
    return x


_INF = float("inf")
_NONE = AddressSet.empty()


def _cut(walking: list, src: AddressSet | None, dst: AddressSet | None) -> list:
    cut_src, cut_dst = _cutter(src), _cutter(dst)
    return [(cut, steps) for boxes, steps in walking if (cut := _cut_boxes(boxes, cut_src, cut_dst))]


def _meet_all(a: tuple[Box, ...], b: tuple[Box, ...]) -> list[Box]:
    out = []
    for x in a:
        for y in b:
            c = x.intersect(y)
            if c is not None:
                out.append(c)
    return out


def _nsg_walk(end: Endpoint, flow: Flow, direction: str, leg: Leg | None, memo: PathMemo
              ) -> tuple[list[PathPiece], list, list[Device], list[str]]:
    """One end's NSG layers in `direction` over the whole flow: (pieces certainly denied, pieces
    still walking with their steps, the devices passed, notes)."""
    env = memo.env
    space = [b for b in flow.space() if not b.is_empty()]
    finals: list[PathPiece] = []
    notes: list[str] = []
    layers = memo.layers(end, direction, leg, notes)
    if env.scope is not None:
        remote = env.scope.inbound if direction == INBOUND else env.scope.outbound
    else:
        remote = flow.src if direction == INBOUND else flow.dst
    channel = env.scope.channel() if env.scope is not None else None
    walking = through_nsgs([(tuple(space), ())] if space else [], layers, direction, memo.context(end), memo.terms,
                           finals, remote, channel)
    return finals, walking, [d for d, _ in layers], notes


def _receiver_stage(end: Endpoint, flow: Flow, pair: bool, memo: PathMemo) -> _Stage:
    """The receiver's NSGs inbound over the whole flow (or `outside` for an unattached NSG)."""
    leg = Leg.RECEIVER if pair else None
    finals, walking, devices, notes = _nsg_walk(end, flow, INBOUND, leg, memo)
    if end.outside:
        outside = Device(DeviceKind.OUTSIDE, "before the NSG", "", leg)
        devices.insert(0, outside)
        walking = [(b, (Step(outside, EITHER, None, reason=end.outside),) + s) for b, s in walking]
    return _Stage(tuple(finals), tuple(walking), tuple(devices), tuple(notes))


def _sender_stage(end: Endpoint, flow: Flow, pair: bool, memo: PathMemo) -> _Stage:
    """The sender's NSGs outbound, then its route and whatever lies beyond (or `outside`)."""
    env = memo.env
    leg = Leg.SENDER if pair else None
    finals, walking, devices, notes = _nsg_walk(end, flow, OUTBOUND, leg, memo)
    if end.outside:
        outside = Device(DeviceKind.OUTSIDE, "beyond the NSG", "", leg)
        devices.append(outside)
        walking = [(b, s + (Step(outside, EITHER, None, reason=end.outside),)) for b, s in walking]
    else:
        subnet = env.estate.subnets.get(end.subnet_id) if end.subnet_id else None
        beyond = Beyond(env.estate, env.catalog, env.allow_urls, env.appliances, flow.urls, flow.accepted_urls,
                        memo.egress(end), flow.via)
        routes = memo.routes(end)
        parts = memo.route_parts(routes, flow.dst) if routes is not None else None
        walking = _settle(beyond_nsgs(walking, subnet, routes, beyond, notes, leg, parts), finals)
    return _Stage(tuple(finals), tuple(walking), tuple(devices), tuple(notes))


def _settle(walking: list, finals: list[PathPiece]) -> list:
    """Move pieces a device certainly denied to `finals`; return those still walking."""
    out = []
    for boxes, steps in walking:
        piece = PathPiece.of(boxes, steps)
        if piece.outcomes == frozenset({"deny"}):
            finals.append(piece)
        else:
            out.append((boxes, steps))
    return out
