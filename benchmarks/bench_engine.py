"""Benchmark: a 200-rule NSG pair against every regional Storage tag, engine vs a netaddr.IPSet loop.

For each regional `Storage.*` tag of the real Public file, the flow family
"TCP from the NIC 10.1.0.4, any source port, to every address of the tag, port 443" is evaluated
through a NIC NSG and a subnet NSG of 200 generated rules each (CIDRs, plural prefixes, service
tags, port ranges, protocols). Both implementations run the same first-match loop in the same
process; the netaddr one filters protocol/port/source per rule and does IPSet arithmetic on the
destination only (it cannot represent the other dimensions), the engine does exact 5-dimension
box arithmetic. Both must agree on the allowed addresses of every tag (checked).

    python benchmarks/bench_engine.py [--tags FILE] [--repeat N] [--write-readme]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import netaddr

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))
from common import write_section  # noqa: E402

from nsgcheck.values.addresses import AddressSet  # noqa: E402
from nsgcheck.engine.nsg import (NIC_NSG, SUBNET_NSG, TermCache, default_rules, evaluate_layers,  # noqa: E402
                                 flow_space, nsg_terms)
from nsgcheck.values.ports import PortSet  # noqa: E402
from nsgcheck.engine.resolve import ResolveContext, public_ipv4, resolve_address_token  # noqa: E402
from nsgcheck.engine.space import PROTOCOLS  # noqa: E402
from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule  # noqa: E402

DEFAULT_TAGS = REPO.parent / "shared" / "data" / "servicetags" / "ServiceTags_Public_20251109.json"
VM = "10.1.0.4"
VNET = AddressSet.from_cidrs(["10.1.0.0/16", "168.63.129.16/32"])


# --------------------------------------------------------------------------- rule generation
def _tok(text: str) -> AddressToken:
    if text in ("*",):
        return AddressToken(AddressKind.ANY, text)
    return AddressToken(AddressKind.CIDR if text[0].isdigit() else AddressKind.TAG, text)


def generate_nsg(name: str, rnd: random.Random, tag_names: list[str], n: int = 200, final_deny: bool = False) -> NetworkSecurityGroup:
    rules = []
    prios = sorted(rnd.sample(range(100, 3900), n))
    for i, prio in enumerate(prios):
        kind = rnd.random()
        if kind < 0.45:
            dst = [f"{rnd.choice([4, 13, 20, 40, 51, 52, 104, 137, 191])}.{rnd.randrange(256)}.0.0/{rnd.choice([12, 14, 16, 16, 18, 20])}"]
            dst = [str(netaddr.IPNetwork(d).cidr) for d in dst]
            if rnd.random() < 0.4:
                dst += [str(netaddr.IPNetwork(f"{rnd.choice([20, 52, 40])}.{rnd.randrange(256)}.{rnd.randrange(256)}.0/24").cidr)
                        for _ in range(rnd.randrange(1, 5))]
        elif kind < 0.85:
            dst = [rnd.choice(tag_names)]
        else:
            dst = [rnd.choice(["Internet", "VirtualNetwork", "AzureCloud", "*"])]
        src = rnd.choice(["*", "*", "*", "VirtualNetwork", "10.1.0.0/24", "10.9.0.0/16"])
        ports = rnd.choice([["443"], ["443"], ["80", "443"], ["1000-2000"], ["*"], ["8443"], ["400-500"]])
        rules.append(SecurityRule(
            name=f"{name}-r{i}", priority=prio, direction="outbound",
            access=rnd.choice(["allow", "deny", "deny"]), protocol=rnd.choice(["tcp", "tcp", "udp", "*"]),
            source_addresses=(_tok(src),), source_ports=PortSet.everything(),
            destination_addresses=tuple(_tok(d) for d in dst), destination_ports=PortSet.parse(ports)))
    if final_deny:
        rules.append(SecurityRule(name=f"{name}-deny-internet", priority=4000, direction="outbound", access="deny",
                                  protocol="*", source_addresses=(_tok("*"),), source_ports=PortSet.everything(),
                                  destination_addresses=(_tok("Internet"),), destination_ports=PortSet.everything()))
    return NetworkSecurityGroup(f"/bench/{name}", name, tuple(rules), default_rules())


# --------------------------------------------------------------------------- netaddr baseline
def _ipset(aset: AddressSet) -> netaddr.IPSet:
    return netaddr.IPSet(aset.cidrs())


class NetaddrNsg:
    """The same first-match loop with netaddr.IPSet on the destination dimension."""

    def __init__(self, nsg: NetworkSecurityGroup, ctx: ResolveContext):
        self.rules = []
        for r in nsg.ordered("outbound"):
            protos = PROTOCOLS if r.protocol == "*" else frozenset({r.protocol})
            src = AddressSet.empty()
            for t in r.source_addresses:
                src = src | resolve_address_token(t, ctx)
            dst = AddressSet.empty()
            for t in r.destination_addresses:
                dst = dst | resolve_address_token(t, ctx)
            self.rules.append((r.name, protos, r.destination_ports, _ipset(src), _ipset(dst), r.access))

    def evaluate(self, remaining: netaddr.IPSet, vm: netaddr.IPAddress, port: int) -> tuple[netaddr.IPSet, list]:
        allowed = netaddr.IPSet()
        decided = []
        for name, protos, dports, src, dst, access in self.rules:
            if not remaining:
                break
            if "tcp" not in protos or port not in dports or vm not in src:
                continue
            hit = remaining & dst
            if hit:
                decided.append((name, access, hit.size))
                remaining = remaining - dst
                if access == "allow":
                    allowed = allowed | hit
        return allowed, decided


def netaddr_layers(nic: NetaddrNsg, sub: NetaddrNsg, tag: netaddr.IPSet) -> netaddr.IPSet:
    vm = netaddr.IPAddress(VM)
    ok, _ = nic.evaluate(tag, vm, 443)
    ok, _ = sub.evaluate(ok, vm, 443)
    return ok


# --------------------------------------------------------------------------- driver
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tags", default=str(DEFAULT_TAGS))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()

    from servicetags import load

    catalog = load(args.tags)
    storage = [t for t in catalog if t.name.startswith("Storage.") and t.region]
    storage.sort(key=lambda t: t.name.lower())
    tag_names = [t.name for t in catalog if t.region and t.name.split(".")[0] in
                 ("Storage", "AzureCloud", "EventHub", "AzureMonitor", "Sql", "AzureKeyVault")]
    tag_names += ["AzureActiveDirectory", "AzureSiteRecovery", "Storage", "EventHub"]
    rnd = random.Random(20251109)
    nic_nsg = generate_nsg("nic", rnd, tag_names)
    sub_nsg = generate_nsg("subnet", rnd, tag_names, final_deny=True)
    ctx = ResolveContext(catalog, VNET, (public_ipv4() | AddressSet.everything().only([6])) - VNET)
    layers = [(NIC_NSG, nic_nsg), (SUBNET_NSG, sub_nsg)]
    vm = AddressSet.parse(VM)
    families = [AddressSet(t.v4, ()) for t in storage]   # the VM is IPv4-only: IPv4 part of each tag

    # cold: rule -> term resolution included (once per NSG pair and context)
    t0 = time.perf_counter()
    cache = TermCache()
    nsg_terms(nic_nsg, "outbound", ctx, cache)
    nsg_terms(sub_nsg, "outbound", ctx, cache)
    resolve_ms = (time.perf_counter() - t0) * 1000

    eng_times, na_times = [], []
    mismatches = 0
    allowed_shares = []
    na_nic = NetaddrNsg(nic_nsg, ctx)
    na_sub = NetaddrNsg(sub_nsg, ctx)
    na_tags = [_ipset(a) for a in families]
    for _ in range(args.repeat):
        for dst, na_tag in zip(families, na_tags):
            t0 = time.perf_counter()
            res = evaluate_layers(flow_space("tcp", vm, dst, PortSet.single(443)), "outbound", layers, ctx, cache)
            eng_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ok = netaddr_layers(na_nic, na_sub, na_tag)
            na_times.append(time.perf_counter() - t0)
            allowed = AddressSet.empty()
            for b in res.allowed():
                allowed = allowed | b.dst
            if allowed.size() != ok.size or set(allowed.cidrs()) != {str(c) for c in ok.iter_cidrs()}:
                mismatches += 1
            allowed_shares.append(res.share("allow"))
    eng = statistics.median(eng_times) * 1000
    na = statistics.median(na_times) * 1000
    n_prefixes = sum(len(t.v4) for t in storage)
    print(f"tags: {len(storage)} regional Storage tags ({n_prefixes} IPv4 intervals); rules: 2 x {len(nic_nsg.rules)}")
    print(f"rule->term resolution for the pair (cold, once): {resolve_ms:.1f} ms")
    print(f"engine median per evaluation: {eng:.3f} ms (max {max(eng_times) * 1000:.2f} ms)")
    print(f"netaddr.IPSet median per evaluation: {na:.3f} ms (max {max(na_times) * 1000:.2f} ms)")
    print(f"ratio: {na / eng:.1f}x; evaluations: {len(eng_times)}; disagreements: {mismatches}")
    print(f"allowed share: min {min(allowed_shares):.3f}, median {statistics.median(allowed_shares):.3f}, max {max(allowed_shares):.3f}")
    if args.write_readme:
        write_readme(len(storage), n_prefixes, len(nic_nsg.rules), resolve_ms, eng, na, len(eng_times), mismatches,
                     Path(args.tags).name, args.repeat)
    return 1 if mismatches else 0


def write_readme(n_tags, n_prefixes, n_rules, resolve_ms, eng, na, n_evals, mismatches, file_name, repeat) -> None:
    begin, end = "<!-- engine:begin -->", "<!-- engine:end -->"
    section = f"""{begin}
## engine: 200-rule NSG pair vs every regional Storage tag

File: `{file_name}` ({n_tags} regional `Storage.*` tags, {n_prefixes} IPv4 intervals; the NIC is IPv4-only).
NSG pair: NIC NSG and subnet NSG of {n_rules} generated outbound rules each (CIDRs, plural prefixes, service tags,
port ranges, protocols; the subnet NSG ends with a deny to `Internet`), plus the default rules. Flow family: TCP
from 10.1.0.4, any source port, to the whole tag, port 443. Machine: {_machine()}. {n_evals} evaluations
({repeat} per tag), measured in one run by `python benchmarks/bench_engine.py --write-readme`.

| Work | engine (exact boxes) | netaddr.IPSet loop (destination only) | ratio |
|---|---|---|---|
| one evaluation through both NSGs, median | {eng:.3f} ms | {na:.3f} ms | {na / eng:.1f}x |
| rule -> term resolution of the pair (once, cached per NSG, direction, context) | {resolve_ms:.1f} ms | (IPSets built outside the timing) | — |

Both implementations agree on the allowed addresses of every tag (disagreements: {mismatches}). The netaddr loop
only handles the destination dimension (protocol, port and source tested per rule as scalars); the engine does
the full five-dimension first match with pre-filters, so the comparison favours netaddr.
{end}"""
    write_section(begin, end, section)


def _machine() -> str:
    import os
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, netaddr {netaddr.__version__}"


if __name__ == "__main__":
    sys.exit(main())
