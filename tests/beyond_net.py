"""A small Site Recovery network written both as an ARM template and as az CLI JSON, for the
end-to-end tests of issue 15 (tests/test_cli_beyond.py).

One description (`Net`) gives both forms: the ARM template names its references with
`resourceId()` expressions; the az export is the flattened shape `az ... show` prints, with
full ids. Both use the placeholder subscription and resource group the ARM loader gives
template resources, so the two load into the same model.

The default network: source `vnet-src` (East US, 10.1.0.0/16) with subnet `app`
(10.1.0.0/24, NSG `nsg-src`), VM `vm1` with NIC `nic1` (10.1.0.4), subnet `pe`
(10.1.1.0/27) for private endpoints and subnet `svc` (10.1.2.0/24) for DNS servers and
proxies; recovery `vnet-dr` (Central US, 10.2.0.0/16) with subnets `app` (NSG `nsg-dr`)
and `pe`. Each NSG allows TCP 443 to the tags its side needs and denies the rest
(priority 4000). Options add what each test is about.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/resource-group/providers"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
TAGS = Path(__file__).resolve().parent / "data" / "beyond" / "servicetags.json"


@dataclass(frozen=True)
class Ref:
    """A reference to a resource: `resourceId(type, names...)` in ARM, the full id in az JSON."""

    type: str
    names: tuple[str, ...]

    def rid(self) -> str:
        ns, *types = self.type.split("/")
        return f"{SUB}/{ns}/" + "/".join(f"{t}/{n}" for t, n in zip(types, self.names))

    def arm(self) -> str:
        return "[resourceId(" + ", ".join(f"'{x}'" for x in (self.type, *self.names)) + ")]"


def ref(rtype: str, *names: str) -> dict:
    return {"id": Ref(rtype, names)}


NET = "Microsoft.Network"


def rule(name: str, priority: int, dest: Any, port: str = "443", protocol: str = "Tcp", access: str = "Allow",
         direction: str = "Outbound") -> dict:
    props = {"priority": priority, "direction": direction, "access": access, "protocol": protocol,
             "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationPortRange": port}
    if isinstance(dest, list):
        props["destinationAddressPrefixes"] = dest
    else:
        props["destinationAddressPrefix"] = dest
    return {"name": name, "properties": props}


DENY_ALL = rule("deny-all-out", 4000, "*", "*", "*", "Deny")
SRC_TAGS = ["Storage.EastUS", "AzureActiveDirectory", "EventHub.CentralUS", "AzureSiteRecovery"]
DR_TAGS = ["Storage.CentralUS", "AzureActiveDirectory", "EventHub.EastUS", "AzureSiteRecovery"]


@dataclass
class Resource:
    type: str
    name: str                     # 'a' or 'parent/child'
    props: dict
    location: str | None = None
    sku: str | None = None
    api: str = "2024-05-01"
    condition: str | None = None  # ARM only (an az export holds what is deployed)

    def ref(self) -> Ref:
        return Ref(self.type, tuple(self.name.split("/")))


@dataclass
class Net:
    """The network of one test; `resources` can be changed before writing it out."""

    resources: list[Resource] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)      # ARM template parameters

    def get(self, rtype: str, name: str) -> Resource:
        return next(r for r in self.resources if r.type == rtype and r.name == name)

    def add(self, *rs: Resource) -> "Net":
        self.resources += list(rs)
        return self

    def drop(self, rtype: str, name: str) -> "Net":
        self.resources = [r for r in self.resources if not (r.type == rtype and r.name == name)]
        return self

    def subnet(self, vnet: str, name: str) -> dict:
        v = self.get(f"{NET}/virtualNetworks", vnet)
        return next(s for s in v.props["subnets"] if s["name"] == name)["properties"]

    def nsg_rules(self, nsg: str) -> list:
        return self.get(f"{NET}/networkSecurityGroups", nsg).props["securityRules"]

    def nic_config(self, nic: str = "nic1") -> dict:
        return self.get(f"{NET}/networkInterfaces", nic).props["ipConfigurations"][0]["properties"]

    # -- the two forms --------------------------------------------------------------
    def arm(self) -> dict:
        out = []
        for r in self.resources:
            res: dict[str, Any] = {"type": r.type, "apiVersion": r.api, "name": r.name}
            if r.condition is not None:
                res["condition"] = r.condition
            if r.location:
                res["location"] = r.location
            if r.sku:
                res["sku"] = {"name": r.sku}
            res["properties"] = _refs(copy.deepcopy(r.props), arm=True)
            out.append(res)
        head = {"$schema": SCHEMA, "contentVersion": "1.0.0.0"}
        return {**head, "parameters": self.parameters, "resources": out} if self.parameters else \
            {**head, "resources": out}

    def az(self) -> list:
        out = []
        for r in self.resources:
            obj: dict[str, Any] = {"id": r.ref().rid(), "name": r.name.rsplit("/", 1)[-1], "type": r.type,
                                   "resourceGroup": "resource-group"}
            if r.location:
                obj["location"] = r.location
            if r.sku:
                obj["sku"] = {"name": r.sku}
            props = _refs(copy.deepcopy(r.props), arm=False)
            if r.type.endswith("replicationProtectedItems"):
                obj["properties"] = props          # az prints Site Recovery resources with `properties`
            else:
                obj.update(_flatten(props, r.ref().rid()))
            out.append(obj)
        return out

    def write(self, folder: Path, form: str) -> Path:
        f = folder / f"net.{form}.json"
        f.write_text(json.dumps(self.arm() if form == "arm" else self.az(), indent=1))
        return f


def _refs(node: Any, arm: bool) -> Any:
    if isinstance(node, Ref):
        return node.arm() if arm else node.rid()
    if isinstance(node, dict):
        return {k: _refs(v, arm) for k, v in node.items()}
    if isinstance(node, list):
        return [_refs(v, arm) for v in node]
    return node


_CHILD_LISTS = {"subnets": "subnets", "securityRules": "securityRules", "ipConfigurations": "ipConfigurations",
                "routes": "routes", "frontendIPConfigurations": "frontendIPConfigurations",
                "backendAddressPools": "backendAddressPools", "outboundRules": "outboundRules",
                "loadBalancingRules": "loadBalancingRules",
                "privateLinkServiceConnections": "privateLinkServiceConnections",
                "manualPrivateLinkServiceConnections": "manualPrivateLinkServiceConnections"}


def _flatten(props: dict, rid: str) -> dict:
    """The az CLI shape: `properties` hoisted, in the resource and in its named child elements."""
    out = dict(props)
    for key in _CHILD_LISTS:
        items = out.get(key)
        if isinstance(items, list):
            flat = []
            for item in items:
                if isinstance(item, dict) and "properties" in item:
                    inner = dict(item["properties"])
                    inner["name"] = item.get("name")
                    inner.setdefault("id", f"{rid}/{key}/{item.get('name')}")
                    flat.append(_flatten(inner, inner["id"]) if key == "subnets" else inner)
                else:
                    flat.append(item)
            out[key] = flat
    return out


# --------------------------------------------------------------------------- the default network
def base(private: bool = False) -> Net:
    """The default network (module docstring); `private`: subnet app of vnet-src is private."""
    src_app: dict[str, Any] = {"addressPrefix": "10.1.0.0/24",
                               "networkSecurityGroup": ref(f"{NET}/networkSecurityGroups", "nsg-src")}
    if private:
        src_app["defaultOutboundAccess"] = False
    src_rules = [rule(f"allow-{t.split('.')[0].lower()}", 100 + 10 * i, t) for i, t in enumerate(SRC_TAGS)]
    dr_rules = [rule(f"allow-{t.split('.')[0].lower()}", 100 + 10 * i, t) for i, t in enumerate(DR_TAGS)]
    return Net([
        Resource(f"{NET}/networkSecurityGroups", "nsg-src", {"securityRules": src_rules + [DENY_ALL]}, "eastus"),
        Resource(f"{NET}/networkSecurityGroups", "nsg-dr", {"securityRules": dr_rules + [copy.deepcopy(DENY_ALL)]},
                 "centralus"),
        Resource(f"{NET}/virtualNetworks", "vnet-src", {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "app", "properties": src_app},
                        {"name": "pe", "properties": {"addressPrefix": "10.1.1.0/27"}},
                        {"name": "svc", "properties": {"addressPrefix": "10.1.2.0/24"}}]}, "eastus"),
        Resource(f"{NET}/virtualNetworks", "vnet-dr", {
            "addressSpace": {"addressPrefixes": ["10.2.0.0/16"]},
            "subnets": [{"name": "app", "properties": {
                "addressPrefix": "10.2.0.0/24",
                "networkSecurityGroup": ref(f"{NET}/networkSecurityGroups", "nsg-dr")}},
                {"name": "pe", "properties": {"addressPrefix": "10.2.1.0/27"}}]}, "centralus"),
        Resource(f"{NET}/networkInterfaces", "nic1", {"ipConfigurations": [{"name": "ipconfig1", "properties": {
            "privateIPAllocationMethod": "Static", "privateIPAddress": "10.1.0.4", "primary": True,
            "subnet": ref(f"{NET}/virtualNetworks/subnets", "vnet-src", "app")}}]}, "eastus"),
        Resource("Microsoft.Compute/virtualMachines", "vm1", {"networkProfile": {"networkInterfaces": [
            {"id": Ref(f"{NET}/networkInterfaces", ("nic1",)), "properties": {"primary": True}}]}}, "eastus",
            api="2024-07-01"),
    ])


def public_ip(name: str, location: str = "eastus") -> Resource:
    return Resource(f"{NET}/publicIPAddresses", name, {"publicIPAllocationMethod": "Static"}, location, "Standard")


def nat_gateway(net: Net, vnet: str = "vnet-src", subnet: str = "app", name: str = "nat1") -> Net:
    """A Standard NAT gateway with a public IP on the subnet."""
    loc = net.get(f"{NET}/virtualNetworks", vnet).location
    net.add(public_ip(f"{name}-pip", loc), Resource(f"{NET}/natGateways", name, {
        "publicIpAddresses": [ref(f"{NET}/publicIPAddresses", f"{name}-pip")]}, loc, "Standard"))
    net.subnet(vnet, subnet)["natGateway"] = ref(f"{NET}/natGateways", name)
    return net


def load_balancer(net: Net, public: bool, outbound_rule: bool = False, protocol: str = "All") -> Net:
    """Standard load balancer lb1 (public or internal) with pool1 holding nic1."""
    front: dict[str, Any] = ({"publicIPAddress": ref(f"{NET}/publicIPAddresses", "lb-pip")} if public else
                             {"subnet": ref(f"{NET}/virtualNetworks/subnets", "vnet-src", "svc"),
                              "privateIPAddress": "10.1.2.10", "privateIPAllocationMethod": "Static"})
    props: dict[str, Any] = {"frontendIPConfigurations": [{"name": "fe", "properties": front}],
                             "backendAddressPools": [{"name": "pool1"}]}
    if outbound_rule:
        props["outboundRules"] = [{"name": "out1", "properties": {
            "backendAddressPool": ref(f"{NET}/loadBalancers/backendAddressPools", "lb1", "pool1"),
            "frontendIPConfigurations": [ref(f"{NET}/loadBalancers/frontendIPConfigurations", "lb1", "fe")],
            "protocol": protocol}}]
    if public:
        net.add(public_ip("lb-pip"))
    net.add(Resource(f"{NET}/loadBalancers", "lb1", props, "eastus", "Standard"))
    net.nic_config()["loadBalancerBackendAddressPools"] = [
        ref(f"{NET}/loadBalancers/backendAddressPools", "lb1", "pool1")]
    return net


def asr_endpoint(net: Net, vnet: str = "vnet-src", name: str = "pe-asr", ip: str = "10.1.1.4",
                 link: bool = True, zone: bool = True) -> Net:
    """A Site Recovery private endpoint of vault1 in subnet pe, its zone group and (optionally) the
    privatelink zone linked to the network; the source NSG gets a rule to the endpoint subnet."""
    loc = net.get(f"{NET}/virtualNetworks", vnet).location
    zname = "privatelink.siterecovery.windowsazure.com"
    net.add(Resource(f"{NET}/privateEndpoints", name, {
        "subnet": ref(f"{NET}/virtualNetworks/subnets", vnet, "pe"),
        "privateLinkServiceConnections": [{"name": "vault1", "properties": {
            "privateLinkServiceId": Ref("Microsoft.RecoveryServices/vaults", ("vault1",)),
            "groupIds": ["AzureSiteRecovery"]}}],
        "ipConfigurations": [{"name": "ip1", "properties": {"groupId": "AzureSiteRecovery",
                                                            "memberName": "SiteRecovery-prot2",
                                                            "privateIPAddress": ip}}],
        "privateDnsZoneGroups": [{"name": "default", "properties": {"privateDnsZoneConfigs": [
            {"name": "asr", "properties": {"privateDnsZoneId": Ref(f"{NET}/privateDnsZones", (zname,))}}]}}]},
        loc))
    if zone and not any(r.type == f"{NET}/privateDnsZones" for r in net.resources):
        net.add(Resource(f"{NET}/privateDnsZones", zname, {}, "global", api="2024-06-01"))
    if link:
        net.add(Resource(f"{NET}/privateDnsZones/virtualNetworkLinks", f"{zname}/link-{vnet}", {
            "virtualNetwork": ref(f"{NET}/virtualNetworks", vnet), "registrationEnabled": False}, "global",
            api="2024-06-01"))
    return net


def allow(net: Net, nsg: str, name: str, priority: int, dest: Any, port: str = "443", protocol: str = "Tcp") -> Net:
    net.nsg_rules(nsg).insert(0, rule(name, priority, dest, port, protocol))
    return net


def replicated_item(net: Net, nsg: str | None = None, subnet: str | None = None, static_ip: str | None = None,
                    test_network: str | None = None) -> Net:
    """A replicated item of vm1 recovering into vnet-dr with per-NIC settings."""
    cfg: dict[str, Any] = {"name": "ipconfig1", "isPrimary": True}
    if subnet:
        cfg["recoverySubnetName"] = subnet
    if static_ip:
        cfg["recoveryStaticIPAddress"] = static_ip
    nic: dict[str, Any] = {"nicId": Ref(f"{NET}/networkInterfaces", ("nic1",)),
                           "recoveryVMNetworkId": Ref(f"{NET}/virtualNetworks", ("vnet-dr",)), "ipConfigs": [cfg]}
    if nsg:
        nic["recoveryNetworkSecurityGroupId"] = Ref(f"{NET}/networkSecurityGroups", (nsg,))
    details: dict[str, Any] = {"instanceType": "A2A", "fabricObjectId": Ref("Microsoft.Compute/virtualMachines",
                                                                              ("vm1",)),
                               "recoveryAzureNetworkId": Ref(f"{NET}/virtualNetworks", ("vnet-dr",)),
                               "vmNics": [nic]}
    if test_network:
        details["selectedTfoAzureNetworkId"] = Ref(f"{NET}/virtualNetworks", (test_network,))
    net.add(Resource("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
                     "replicationProtectedItems", "vault1/fab-east/c-east/vm1", {"providerSpecificDetails": details},
                     api="2025-01-01"))
    return net
