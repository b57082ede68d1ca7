"""`nsgcheck flow`: offline IP flow verify for a NIC or a whole subnet, exact over address sets.

A flow is one ad-hoc requirement for one subject, evaluated by the engine's one entry point
(`evaluate_path`) and summed up by the same status function as the audit. Prints the verdict,
every device on the path (NSG layers, route, firewall or appliance) with its deciding rules;
for a set destination (CIDR or service tag) the share allowed and, per denying rule, the part
of the set it denies as CIDRs.
`--src`/`--dst` are the packet's source and destination: the remote side is required
(`--dst` outbound, `--src` inbound); the VM side defaults to the subject's address.
"""

from __future__ import annotations

import json
from typing import Any

from nsgcheck.errors import UsageError

DIRECTIONS = ("outbound", "inbound")
PROTOCOL_CHOICES = ("tcp", "udp", "icmp", "esp", "ah", "*")
MAX_CIDRS = 8


def register(sub: Any) -> None:
    p = sub.add_parser("flow", help="offline IP flow verify: which NSG rules decide a flow",
                       description="Evaluate a flow (or a family of flows to a CIDR or service tag) through "
                                   "the NSG layers of a NIC or a subnet, exactly, and name the deciding rules. "
                                   "Exit 0: allowed; 1: denied in part or whole, or unknown; 2: unusable input.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="inputs (default: `paths` of .nsgcheck.yaml)")
    p.add_argument("--tags", metavar="FILE", help="service-tag file (default: newest downloaded one)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--nic", metavar="NAME", help="network interface (name or resource id)")
    who.add_argument("--subnet", metavar="NAME", help="subnet (name, VNET/SUBNET, or resource id): its whole range")
    who.add_argument("--nsg", metavar="NAME",
                     help="a VM behind this NSG (its NIC-level NSG; what lies beyond it is not known)")
    p.add_argument("--direction", choices=DIRECTIONS, default="outbound")
    p.add_argument("--protocol", type=str.lower, choices=PROTOCOL_CHOICES, default="tcp")
    p.add_argument("--dst", metavar="ADDR|CIDR|TAG", help="destination (required outbound)")
    p.add_argument("--src", metavar="ADDR|CIDR|TAG", help="source (required inbound)")
    p.add_argument("--port", metavar="N|N-M", default="*", help="destination port or range (default: all)")
    p.add_argument("--source-port", metavar="N|N-M", default="*", help="source port or range (default: all)")
    p.add_argument("--url", action="append", default=[], metavar="PATTERN",
                   help="URL form of the destination (e.g. *.blob.core.windows.net), for firewall application rules")
    p.add_argument("--appliance", action="append", default=[], metavar="IP=NAME",
                   help="the firewall (of the inputs) or third-party appliance a route's next-hop address is")
    p.add_argument("--parameters", action="append", default=[], metavar="FILE", help="ARM parameter file(s)")
    p.add_argument("--format", choices=("text", "json"), default=None, help="output format (default: text)")
    from nsgcheck.cli.inputcheck import add_input_size_option

    add_input_size_option(p)
    p.set_defaults(func=run)


# --------------------------------------------------------------------------- subject
def _pick(estate: Any, table: str, name: str, what: str) -> Any:
    found = estate.find_by_name(table, name)
    if "/" in name and not found and table == "subnets":
        vnet, _, sub = name.rpartition("/")
        found = [s for s in estate.find_by_name("subnets", sub)
                 if s.vnet_id.rstrip("/").rsplit("/", 1)[-1].lower() == vnet.lower()]
    if not found:
        have = sorted({o.name for o in getattr(estate, table).values()})
        raise UsageError(f"no {what} named {name!r} in the inputs" + (f" (found: {', '.join(have[:10])})" if have else ""))
    if len(found) > 1:
        raise UsageError(f"{len(found)} {what}s are named {name!r}; pass the resource id instead: "
                         + ", ".join(o.id for o in found))
    return found[0]


def _subnet_range(subnet: Any) -> Any:
    from nsgcheck.values.addresses import AddressSet
    from nsgcheck.model import Unknown

    acc = AddressSet.empty()
    for p in subnet.prefixes:
        if isinstance(p, Unknown):
            raise UsageError(f"the address range of subnet {subnet.name} is not determined: {p.reason}")
        acc = acc | AddressSet.parse(p, strict=False)
    return acc


def _address(text: str, catalog: Any, ctx: Any, flag: str) -> tuple[Any, str]:
    from nsgcheck.engine.resolve import classify_address, resolve_address_token
    from nsgcheck.model import Unknown

    tok = classify_address(text)
    r = resolve_address_token(tok, ctx)
    if isinstance(r, Unknown):
        raise UsageError(f"{flag} {text!r}: {r.reason}")
    return r, tok.kind


# --------------------------------------------------------------------------- evaluation
def subject_path(args: Any, estate: Any) -> tuple[Any, Any, dict[str, Any], list[str]]:
    """(engine Endpoint, the subject's own addresses, subject JSON, notes) for --nic / --subnet / --nsg."""
    from nsgcheck.engine.context import subject_asgs
    from nsgcheck.engine.evaluate import Endpoint
    from nsgcheck.engine.routing import route_export_for
    from nsgcheck.engine.context import nsg_export_of
    from nsgcheck.model import ref
    from nsgcheck.values.addresses import AddressSet

    notes: list[str] = []
    if args.nic:
        nic = _pick(estate, "nics", args.nic, "network interface")
        subnet = estate.subnet_of(nic)
        cfg = nic.primary_config()
        ip = cfg.private_ip if cfg else None
        if isinstance(ip, str):
            vm_side = AddressSet.parse(ip, strict=False)
        elif subnet is not None:
            vm_side = _subnet_range(subnet)
            notes.append(f"the private address of {nic.name} is not fixed in the inputs: evaluated over its subnet range")
        else:
            raise UsageError(f"network interface {nic.name}: neither its address nor its subnet is in the inputs")
        if subnet is None:
            notes.append(f"the subnet of {nic.name} is not in the inputs: its NSG and routes are not known")
        has_export = nsg_export_of(estate, nic.id) is not None or (
            subnet is not None and route_export_for(subnet, estate, nic.id) is not None)
        from nsgcheck.audit.subjects import nic_outbound
        from nsgcheck.engine.egress import egress_for

        end = Endpoint(ref(subnet.id) if subnet is not None else None, _nsg_ref(nic.nsg_id, nic.name),
                       _nsg_ref(subnet.nsg_id, subnet.name) if subnet is not None else None,
                       ref(nic.id) if has_export else None, subject_asgs(nic),
                       egress=egress_for(estate, subnet, nic_outbound(nic, cfg)) if subnet is not None else None)
        subject = {"kind": "nic", "name": nic.name, "id": nic.id, "address": str(vm_side),
                   "subnet": subnet.name if subnet is not None else None}
    elif getattr(args, "nsg", None):
        from nsgcheck.audit.subjects import nsg_vm_side

        nsg = _pick(estate, "nsgs", args.nsg, "network security group")
        vm_side, how = nsg_vm_side(nsg)
        end = Endpoint(None, ref(nsg.id), outside=f"the subnet, routes and egress of VMs behind NSG {nsg.name} "
                                                 f"are not in the inputs")
        notes.append(f"a VM behind NSG {nsg.name}, evaluated from {how}")
        subject = {"kind": "nsg", "name": nsg.name, "id": nsg.id, "address": str(vm_side), "subnet": None}
    else:
        subnet = _pick(estate, "subnets", args.subnet, "subnet")
        vm_side = _subnet_range(subnet)
        end = Endpoint(ref(subnet.id), None, _nsg_ref(subnet.nsg_id, subnet.name))
        notes.append("subnet-wide: NIC NSGs of individual VMs are not included")
        subject = {"kind": "subnet", "name": subnet.name, "id": subnet.id, "address": str(vm_side), "subnet": subnet.name}
    return end, vm_side, subject, notes


def _nsg_ref(nsg_id: Any, owner: str) -> str | None:
    """An NSG reference as the engine takes it (an undetermined one is a usage error here)."""
    from nsgcheck.model import Unknown, ref

    if nsg_id is None:
        return None
    if isinstance(nsg_id, Unknown):
        raise UsageError(f"the NSG of {owner} is not determined by the inputs: {nsg_id.reason}")
    return ref(nsg_id)


def evaluate(args: Any, estate: Any, catalog: Any) -> dict[str, Any]:
    """Everything `flow` prints, as a JSON-ready dictionary (deterministic order).

    The flow is one ad-hoc requirement for one subject: it goes through the same engine entry
    point (`evaluate_path`) and the same status function (`summarize`) as the audit.
    """
    from nsgcheck.engine.context import build_context
    from nsgcheck.engine.evaluate import Environment, Flow, PathSpec, evaluate_path
    from nsgcheck.engine.verdict import summarize
    from nsgcheck.values.ports import PortError, PortSet

    direction = args.direction
    end, vm_side, subject, notes = subject_path(args, estate)
    subnet = estate.subnets.get(end.subnet_id) if end.subnet_id else None
    ctx = build_context(estate, subnet, catalog)
    remote_flag = "--dst" if direction == "outbound" else "--src"
    remote_text = args.dst if direction == "outbound" else args.src
    vm_text = args.src if direction == "outbound" else args.dst
    if not remote_text:
        raise UsageError(f"{direction} flows need the remote side: pass {remote_flag} ADDR|CIDR|TAG")
    remote, _kind = _address(remote_text, catalog, ctx, remote_flag)
    if vm_text:
        given, _ = _address(vm_text, catalog, ctx, "--src" if direction == "outbound" else "--dst")
        if not given.issubset(vm_side):
            raise UsageError(f"{vm_text!r} is not inside the subject's address range {vm_side}")
        vm_side = given
    families = vm_side.families
    dropped = remote - remote.only(families)
    if dropped:
        fams = "/".join(f"IPv{f}" for f in sorted(dropped.families))
        n = len(dropped.cidrs())
        notes.append(f"{n} {fams} prefix{'es' if n != 1 else ''} of {remote_text} ignored: the subject has no {fams} address")
        remote = remote.only(families)
    if not remote:
        raise UsageError(f"{remote_text!r} has no address of the subject's IP family")
    try:
        dport = PortSet.parse(args.port)
        sport = PortSet.parse(args.source_port)
    except PortError as exc:
        raise UsageError(str(exc)) from None
    src, dst = (vm_side, remote) if direction == "outbound" else (remote, vm_side)
    spec = PathSpec(sender=end) if direction == "outbound" else PathSpec(receiver=end)
    flow = Flow(args.protocol, src, dst, dport, sport, tuple(args.url))
    env = Environment(estate, catalog, None, appliance_names(getattr(args, "appliance", None) or []))
    result = evaluate_path(spec, flow, env)
    return render_result(result, summarize(result, remote_text), args, subject, remote, remote_text, src, dst, notes)


def appliance_names(pairs: list[str]) -> dict[str, str]:
    """`--appliance IP=NAME` flags as {address: name}."""
    from nsgcheck.values.addresses import AddressError, AddressSet

    out: dict[str, str] = {}
    for item in pairs:
        ip, sep, name = item.partition("=")
        ip, name = ip.strip(), name.strip()
        if not sep or not ip or not name:
            raise UsageError(f"--appliance {item!r}: expected IP=NAME (e.g. 10.0.1.4=fw-hub)")
        try:
            AddressSet.parse(ip)
        except AddressError as exc:
            raise UsageError(f"--appliance {item!r}: {exc}") from None
        out[ip] = name
    return out


_VERDICT_WORD = {"pass": "allow", "fail": "deny", "partial": "partial", "unknown": "unknown"}


def render_result(result: Any, v: Any, args: Any, subject: dict[str, Any], remote: Any, remote_text: str,
                  src: Any, dst: Any, notes: list[str]) -> dict[str, Any]:
    """The JSON of a flow: verdict and shares, every device with its deciding rules, the path."""
    from nsgcheck.engine.firstmatch import ALLOW, DENY, UNKNOWN
    from nsgcheck.engine.pathresult import StepState, combine
    from nsgcheck.engine.verdict import decision
    from nsgcheck.values.addresses import AddressSet

    direction = args.direction
    side = (lambda b: b.dst) if direction == "outbound" else (lambda b: b.src)

    def rule_json(d: Any) -> dict[str, Any]:
        r = d.rule
        addrs = AddressSet.empty()
        for b in d.boxes:
            addrs = addrs | side(b)
        out = {"layer": d.device.kind_text, "device": d.device.name,
               "nsg": d.device.name if d.device.kind.is_nsg else None,
               "rule": r.display_name if r is not None else None,
               "priority": r.priority if r is not None else None,
               "default": bool(r.is_default) if r is not None else False,
               "access": d.access, "share": round(d.share, 6),
               "location": str(r.origin) if r is not None and r.origin else None,
               "addresses": addrs.size(), "cidrs": addrs.cidrs()}
        if d.reason:
            out["reason"] = d.reason
        return out

    every = result.decisions()
    per_layer = []
    nsg_devices = [d for d in result.devices if d.kind.is_nsg]
    if subject["kind"] == "subnet":
        nsg_devices = [d for d in nsg_devices if d.kind.value != "nic-nsg"]
    for device in nsg_devices:
        present = bool(device.id)
        entries = [rule_json(d) for d in every if d.device == device] if present else []
        consulted = sum(e["share"] for e in entries)
        per_layer.append({"layer": device.kind_text, "nsg": device.name if present else None,
                          "nsg_id": device.id or None, "present": present, "decisions": entries,
                          "not_consulted_share": round(max(0.0, 1.0 - consulted), 6) if present else 0.0})
    # the NSGs' own verdict (what they alone leave possible), for comparison with the whole path
    nsg_vol = {ALLOW: 0, DENY: 0, UNKNOWN: 0}
    for p in result.pieces:
        outs = combine(s for s in p.steps if s.device.kind.is_nsg and s.state is StepState.DECIDED)
        nsg_vol[ALLOW if outs == frozenset({ALLOW}) or not outs else DENY if outs == frozenset({DENY}) else UNKNOWN] \
            += p.volume()
    total = result.total or 1
    beyond = None
    others = [d for d in result.devices if not d.kind.is_nsg]
    if others:
        beyond = {
            "path": [p.to_json() for p, d in zip(v.path, result.devices) if not d.kind.is_nsg],
            "decided_by": [decision(d).to_json() for d in every if not d.device.kind.is_nsg],
            "reasons": [r for r in v.reasons if r not in result.notes],
            "notes": list(result.notes),
        }
    shares = {ALLOW: v.coverage, DENY: v.denied_share, UNKNOWN: v.unknown_share}
    return {
        "flow": {"direction": direction, "protocol": args.protocol,
                 "source": remote_text if direction == "inbound" else str(src),
                 "destination": remote_text if direction == "outbound" else str(dst),
                 "port": args.port, "source_port": args.source_port,
                 "remote_addresses": remote.size(), "remote_prefixes": len(remote.cidrs())},
        "subject": subject,
        "verdict": _VERDICT_WORD[v.status],
        "status": v.status,
        "shares": {k: round(x, 6) for k, x in shares.items()},
        "nsg_shares": {k: round(x / total, 6) for k, x in nsg_vol.items()},
        "decided_by": [rule_json(d) for d in result.final_decisions()],
        "layers": per_layer,
        "beyond_nsg": beyond,
        "reasons": list(v.reasons),
        "notes": notes,
    }


# --------------------------------------------------------------------------- text
def _pct(x: float) -> str:
    return f"{x * 100:.1f}%" if x not in (0, 1) else f"{x * 100:.0f}%"


def _cidr_text(cidrs: list[str], addresses: int) -> str:
    if len(cidrs) <= MAX_CIDRS:
        return ", ".join(cidrs)
    return (", ".join(cidrs[:MAX_CIDRS]) + f", ... and {len(cidrs) - MAX_CIDRS} more prefixes "
            f"({addresses:,} addresses in all)")


def _rule_name(d: dict) -> str:
    if d["rule"] is None:
        return f"{d['device']}: (no rule)"
    prio = f" ({d['priority']})" if d["priority"] is not None else ""
    return f"{d['device']}/{d['rule']}{prio}"


def render_text(out: dict[str, Any]) -> str:
    f, s = out["flow"], out["subject"]
    lines = [f"Flow: {f['direction']} {f['protocol']} {f['source']} -> {f['destination']} port {f['port']}"
             + (f" ({f['remote_prefixes']} prefixes, {f['remote_addresses']:,} addresses)" if f["remote_prefixes"] > 1 else ""),
             f"Subject: {s['kind']} {s['name']} ({s['address']})" + (f" in subnet {s['subnet']}" if s["kind"] == "nic" and s["subnet"] else "")]
    verdict = out["verdict"].upper()
    sh = out["shares"]
    lines.append(f"Verdict: {verdict}   allowed {_pct(sh['allow'])}, denied {_pct(sh['deny'])}, unknown {_pct(sh['unknown'])}")
    lines.append("")
    lines.append("Layers (in the order the packet meets them):")
    for i, layer in enumerate(out["layers"], 1):
        if not layer["present"]:
            lines.append(f"  {i}. {layer['layer']}: no NSG (allows all)")
            continue
        lines.append(f"  {i}. {layer['layer']} {layer['nsg']}:")
        for d in layer["decisions"]:
            lines.append(f"       {d['access']:<8}{_pct(d['share']):>7}  {d['rule']} ({d['priority']})"
                         + (f"  {d['location']}" if d["location"] else ""))
        if layer["not_consulted_share"] > 1e-9:
            lines.append(f"       {'-':<8}{_pct(layer['not_consulted_share']):>7}  not consulted (denied earlier)")
    lines.append("")
    lines.append("Deciding rules:")
    for d in out["decided_by"]:
        lines.append(f"  {d['access']:<8}{_pct(d['share']):>7}  {d['layer']} {_rule_name(d)}"
                     + (f"  {d['location']}" if d["location"] else ""))
        if d["access"] in ("deny", "unknown", "partial") and f["remote_addresses"] > 1:
            lines.append(f"                   {_cidr_text(d['cidrs'], d['addresses'])}")
        if d.get("reason"):
            label = "why unknown" if d["access"] == "unknown" else "why"
            lines.append(f"                   {label}: {d['reason']}")
    b = out.get("beyond_nsg")
    if b:
        lines.append("")
        lines.append("Beyond the NSGs (what the NSGs allow, through the route and any firewall):")
        for i, step in enumerate(b["path"], len(out["layers"]) + 1):
            lines.append(f"  {i}. {step['kind']} {step['name']}: {step['verdict']}")
        for d in b["decided_by"]:
            loc = d["location"]
            where = f"  {loc['file']}:{loc['line']}" if loc and loc.get("line") else (f"  {loc['file']}" if loc else "")
            rule = d["rule"] + (f" ({d['priority']})" if d["priority"] is not None else "")
            lines.append(f"       {d['access']:<8}{_pct(d['share']):>7}  {d['device_kind']} {d['device']}: {rule}{where}")
            if d.get("reason"):
                lines.append(f"                   {d['reason']}")
        for r in b["reasons"]:
            lines.append(f"  why unknown: {r}")
        for n in b["notes"]:
            lines.append(f"  note: {n}")
    for n in out["notes"]:
        lines.append(f"note: {n}")
    return "\n".join(lines) + "\n"


def run(args: Any) -> int:
    from nsgcheck.cli.audit import _load_estate
    from nsgcheck.cli.inputcheck import fail_on_input_errors
    from nsgcheck.cli.tagfile import load_catalog
    from nsgcheck.gate.config import configure

    configure(args, "flow", {"format": "text"})
    estate = _load_estate(args.paths, args.parameters, getattr(args, "max_input_size", None))
    catalog = load_catalog(args.tags)
    out = evaluate(args, estate, catalog)
    from nsgcheck.render.output import write_report

    text = json.dumps(out, indent=2) + "\n" if args.format == "json" else render_text(out)
    write_report(None, lambda stream: stream.write(text))   # a lone surrogate in a name: escaped, no crash
    fail_on_input_errors(estate.findings)   # after the answer: exit 2 naming every input error
    return 0 if out["verdict"] == "allow" else 1
