"""The audit scenario: regions, conditions, network mapping, multi-VM groups, protected VMs.

Three layers fill the same fields, highest first: command-line flags, the scenario file
(YAML or JSON, validated by rules/scenario.schema.json), and Site Recovery resources found
in the inputs (replication network mappings, replicated items with their multi-VM group).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from nsgcheck.errors import ScenarioError, UsageError
from nsgcheck.estate import Estate
from nsgcheck.model import Unknown, ref
from nsgcheck.values.addresses import AddressError, parse_cidr

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import RecoveryNic

FLAG, FILE, DISCOVERED, DEFAULT = "flag", "file", "discovered", "default"


def normalize_region(text: str | None) -> str | None:
    """ARM location name from what a user may write: 'East US' -> 'eastus'."""
    if text is None:
        return None
    s = re.sub(r"[\s_-]+", "", str(text)).lower()
    return s or None


@dataclass(frozen=True)
class TargetHint:
    """Where Site Recovery will place one VM, as the replicated item says."""

    network_id: str | None = None
    subnet_name: str | None = None
    target_region: str | None = None
    #: the item's per-NIC recovery settings (recovery NSG, static IP, public IP, pools, test network)
    nics: tuple[RecoveryNic, ...] = ()
    test_network_id: str | None = None

    def nic_for(self, nic_id: str | None) -> RecoveryNic | None:
        """The settings of the NIC `nic_id` (else the first NIC's: the primary is listed first)."""
        for n in self.nics:
            if nic_id and isinstance(n.source_nic_id, str) and ref(n.source_nic_id) == ref(nic_id):
                return n
        return self.nics[0] if self.nics else None


@dataclass(frozen=True)
class Proxy:
    """The proxy the Mobility service sends its traffic to (ProxyInfo.conf), as the scenario gives it."""

    host: str                         # host name or IP address, without scheme
    port: int
    bypass: tuple[str, ...] = ()      # domain suffixes, lower case, no leading or trailing dot
    authenticated: bool = False

    def bypasses(self, fqdn: str) -> bool:
        """Whether `fqdn` (or a URL pattern such as *.blob.core.windows.net) is in the bypass list:
        a suffix match on a label boundary, case-insensitive (windows.net bypasses x.windows.net,
        not xwindows.net)."""
        name = fqdn.lower().strip(".")
        if name.startswith("*."):
            name = name[2:]
        return any(name == b or name.endswith("." + b) for b in self.bypass)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.host, "port": self.port, "bypass": list(self.bypass),
                "authenticated": self.authenticated}


_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+|[0-9A-Fa-f:]+)$")


def proxy_problems(value: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(pointer under /proxy, message) for each value Site Recovery could not use."""
    out = []
    host = _SCHEME.sub("", str(value.get("address", "")).strip()).rstrip("/")
    if "@" in host:
        out.append(("/address", f"proxy address {value.get('address')!r} carries credentials; Site Recovery "
                                "supports unauthenticated proxies only (set authenticated: true to have it reported)"))
    elif not _HOST.match(host):
        out.append(("/address", f"proxy address {value.get('address')!r} is not a host name or IP address "
                                "(give the port in proxy.port, e.g. address: http://10.0.0.5, port: 3128)"))
    for i, entry in enumerate(value.get("bypass") or []):
        if "*" in entry:
            out.append((f"/bypass/{i}", f"proxy bypass entry {entry!r}: the Mobility service's BypassList does not "
                                        f"support wildcards; give the domain suffix (e.g. "
                                        f"{entry.replace('*', '').strip('.') or 'windows.net'!r})"))
        elif not entry.strip(" .") or any(c in entry for c in " /:@"):
            out.append((f"/bypass/{i}", f"proxy bypass entry {entry!r} is not a domain suffix or address"))
    return out


def make_proxy(value: Mapping[str, Any] | None) -> Proxy | None:
    if not value:
        return None
    host = _SCHEME.sub("", str(value["address"]).strip()).rstrip("/").strip("[]")
    bypass = tuple(dict.fromkeys(b.strip().strip(".").lower() for b in value.get("bypass") or []))
    return Proxy(host=host.lower(), port=int(value["port"]), bypass=bypass,
                 authenticated=bool(value.get("authenticated", False)))


@dataclass(frozen=True)
class Scenario:
    """What is protected and where it fails over to. Names may be resource names or ids."""

    source_region: str | None = None
    target_region: str | None = None
    ade: bool = False
    auto_upgrade: bool = False
    network_mapping: tuple[tuple[str, str], ...] = ()       # (source VNet, target VNet)
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()    # (group name, member VM names/ids)
    vms: tuple[str, ...] | None = None                      # None: every VM found
    target_hints: tuple[tuple[str, TargetHint], ...] = ()   # (vm id ref, hint) from replicated items
    appliances: tuple[tuple[str, str], ...] = ()            # (next-hop address, firewall or appliance name)
    provenance: tuple[tuple[str, str], ...] = ()            # (field, flag|file|discovered|default)
    proxy: Proxy | None = None
    cache_storage_accounts: tuple[str, ...] = ()            # names or ids

    def mapping_dict(self) -> dict[str, str]:
        return dict(self.network_mapping)

    def hint_for(self, vm_id: str) -> TargetHint | None:
        """The first hint for this VM (through an index made on first use: one look-up per VM,
        not a scan of every replicated item's hint)."""
        return self._hints.get(ref(vm_id))

    @cached_property
    def _hints(self) -> dict[str, TargetHint]:
        out: dict[str, TargetHint] = {}
        for k, h in self.target_hints:
            out.setdefault(k, h)
        return out

    def to_json(self) -> dict[str, Any]:
        out = {
            "source_region": self.source_region,
            "target_region": self.target_region,
            "ade": self.ade,
            "auto_upgrade": self.auto_upgrade,
            "network_mapping": {k: v for k, v in self.network_mapping},
            "groups": {k: list(v) for k, v in self.groups},
            "vms": list(self.vms) if self.vms is not None else None,
            "provenance": {k: v for k, v in self.provenance},
            **({"appliances": dict(self.appliances)} if self.appliances else {}),
        }
        if self.proxy is not None:
            out["proxy"] = self.proxy.to_json()
        if self.cache_storage_accounts:
            out["cache_storage_accounts"] = list(self.cache_storage_accounts)
        return out


# --------------------------------------------------------------------------- scenario file
def _line_map(node: Any, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """JSON pointer -> 1-based line of every value (the document is bounded: see safeyaml)."""
    import yaml   # (only for a file's YAML nodes: the loader that made them has imported it)

    out = {} if out is None else out
    if node is None:
        return out
    out[path or "/"] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = str(k.value).replace("~", "~0").replace("/", "~1")
            _line_map(v, f"{path}/{key}", out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_map(v, f"{path}/{i}", out)
    return out


def _schema() -> dict[str, Any]:
    return json.loads(resources.files("rules").joinpath("scenario.schema.json").read_text(encoding="utf-8"))


#: schema keywords that only describe (they never reject a value)
_NOTES = frozenset(("$schema", "$id", "title", "description"))
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def surely_valid(schema: Mapping[str, Any], value: Any) -> bool:
    """True only when `value` certainly meets `schema` (the subset of keywords the scenario schema
    uses, read conservatively); False when unsure. A large valid scenario is checked here in a
    fraction of jsonschema's time; jsonschema still decides (and words every error) whenever this is False."""
    for key, want in schema.items():
        if key in _NOTES:
            continue
        if key == "type":
            if want == "integer":
                if type(value) is not int:
                    return False
            elif type(value) is not _TYPES.get(want):
                return False
        elif key == "minLength":
            if type(value) is not str or len(value) < want:
                return False
        elif key in ("minimum", "maximum"):
            if type(value) is not int or (value < want if key == "minimum" else value > want):
                return False
        elif key == "minItems":
            if type(value) is not list or len(value) < want:
                return False
        elif key == "uniqueItems":
            if want is not True or type(value) is not list or not all(type(v) is str for v in value) \
                    or len(set(value)) != len(value):
                return False
        elif key == "items":
            if type(value) is not list or not isinstance(want, dict):
                return False
            if want == _STRING and all(type(v) is str and v for v in value):
                continue    # the common case, in one pass
            if not all(surely_valid(want, v) for v in value):
                return False
        elif key == "required":
            if type(value) is not dict or not all(k in value for k in want):
                return False
        elif key == "propertyNames":
            if type(value) is not dict or not all(surely_valid(want, k) for k in value):
                return False
        elif key == "pattern":
            if type(value) is not str or re.search(want, value) is None:
                return False
        elif key in ("properties", "additionalProperties"):
            if type(value) is not dict:
                return False
            props = schema.get("properties", {})
            rest = schema.get("additionalProperties", True)
            if key == "additionalProperties" and "properties" in schema:
                continue    # checked with "properties"
            for k, v in value.items():
                if type(k) is not str:
                    return False
                sub = props.get(k, rest)
                if sub is True:
                    continue
                if sub is False or not isinstance(sub, dict) or not surely_valid(sub, v):
                    return False
        else:
            return False    # a keyword not read here: let jsonschema decide
    return True


_STRING = {"type": "string", "minLength": 1}


def load_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a scenario file; returns its fields (regions normalized).

    Every schema violation is reported at once (file, line, JSON pointer, what was expected);
    the file is read within the limits of `nsgcheck.safeyaml` (size, aliases, integers).
    """
    from nsgcheck import safeyaml
    from nsgcheck.errors import raise_all

    file = str(path)
    data, node = safeyaml.read_data(path, "scenario file", ScenarioError)
    if data is None:
        data = {}
    schema = _schema()
    if surely_valid(schema, data):
        errors = []
    else:
        import jsonschema   # only when a scenario file may be invalid

        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    lines: dict[str, int] = {}
    if errors or (isinstance(data, dict) and "proxy" in data):
        # (the lines of its values, from its YAML nodes: a file read as JSON is read again for them)
        lines = _line_map(node if node is not None else safeyaml.read(path, "scenario file", ScenarioError)[1])
    found: list[ScenarioError] = []
    for err in errors:
        ptr = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in err.absolute_path) \
            if err.absolute_path else "/"
        line = lines.get(ptr)
        up = ptr
        while line is None and up.count("/") > 1:
            up = up.rsplit("/", 1)[0]
            line = lines.get(up)
        expected = (("keys address, port, bypass, authenticated" if ptr.startswith("/proxy") else
                     "keys source_region, target_region, ade, auto_upgrade, network_mapping, groups, vms, "
                     "appliances, proxy, cache_storage_accounts") if err.validator == "additionalProperties" else "")
        msg = f"scenario file does not match its schema: {_short(err.message)}"
        if expected:
            msg += f" (expected {expected})"
        found.append(ScenarioError(msg, file=file, pointer=ptr, line=line))
    if not found and isinstance(data, dict) and isinstance(data.get("proxy"), dict):
        for sub, msg in proxy_problems(data["proxy"]):
            ptr = "/proxy" + sub
            found.append(ScenarioError(msg, file=file, pointer=ptr, line=lines.get(ptr, lines.get("/proxy"))))
    raise_all(found)
    out = dict(data)
    for k in ("source_region", "target_region"):
        if k in out:
            out[k] = normalize_region(out[k])
    return out


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."


# --------------------------------------------------------------------------- flags
def _pairs(items: Iterable[str] | None, flag: str) -> list[tuple[str, str]]:
    out = []
    for item in items or ():
        left, sep, right = item.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise UsageError(f"{flag} {item!r}: expected NAME=VALUE")
        out.append((left.strip(), right.strip()))
    return out


def flags_to_fields(source_region: str | None = None, target_region: str | None = None,
                    ade: bool = False, auto_upgrade: bool = False,
                    groups: Iterable[str] | None = None,
                    network_mappings: Iterable[str] | None = None,
                    appliances: Iterable[str] | None = None) -> dict[str, Any]:
    """Command-line flags as scenario fields (only those actually given)."""
    out: dict[str, Any] = {}
    if source_region:
        out["source_region"] = normalize_region(source_region)
    if target_region:
        out["target_region"] = normalize_region(target_region)
    if ade:
        out["ade"] = True
    if auto_upgrade:
        out["auto_upgrade"] = True
    g = _pairs(groups, "--group")
    if g:
        gd: dict[str, list[str]] = {}
        for name, members in g:
            vms = [m.strip() for m in members.split(",") if m.strip()]
            if not vms:
                raise UsageError(f"--group {name}=: expected at least one VM name")
            gd.setdefault(name, [])
            gd[name] += [v for v in vms if v not in gd[name]]
        out["groups"] = gd
    m = _pairs(network_mappings, "--network-mapping")
    if m:
        out["network_mapping"] = dict(m)
    a = _pairs(appliances, "--appliance")
    if a:
        out["appliances"] = dict(a)
    return out


# --------------------------------------------------------------------------- discovery
def discover(estate: Estate) -> dict[str, Any]:
    """Scenario fields implied by Site Recovery resources in the inputs."""
    out: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    src_regions: set[str] = set()
    tgt_regions: set[str] = set()
    for nm in estate.network_mappings:
        if isinstance(nm.source_vnet_id, Unknown) or isinstance(nm.target_vnet_id, Unknown):
            continue
        mapping.setdefault(nm.source_vnet_id, nm.target_vnet_id)
        if nm.source_region:
            src_regions.add(normalize_region(nm.source_region))
        if nm.target_region:
            tgt_regions.add(normalize_region(nm.target_region))
    groups: dict[str, dict[str, None]] = {}
    vms: list[str] = []
    hints: dict[str, TargetHint] = {}
    caches: dict[str, None] = {}
    for item in estate.protected_items:
        if isinstance(item.vm_id, Unknown):
            continue
        vms.append(item.vm_id)
        if item.group:
            groups.setdefault(item.group, {})[item.vm_id] = None    # first seen first, once (an ordered set)
        if item.source_region:
            src_regions.add(normalize_region(item.source_region))
        if item.target_region:
            tgt_regions.add(normalize_region(item.target_region))
        caches.update(dict.fromkeys(item.cache_storage_ids))
        if item.target_network_id or item.target_subnet_name or item.target_region or item.nics:
            hints[ref(item.vm_id)] = TargetHint(item.target_network_id, item.target_subnet_name,
                                                normalize_region(item.target_region), item.nics,
                                                item.test_network_id)
    if not tgt_regions and mapping:
        for tgt in mapping.values():
            vnet = estate.get("vnets", tgt)
            if vnet is not None and isinstance(vnet.location, str):
                tgt_regions.add(normalize_region(vnet.location))
    if len(src_regions) == 1:
        out["source_region"] = next(iter(src_regions))
    if len(tgt_regions) == 1:
        out["target_region"] = next(iter(tgt_regions))
    if mapping:
        out["network_mapping"] = mapping
    if groups:
        out["groups"] = {name: list(members) for name, members in groups.items()}
    if vms:
        out["vms"] = sorted(set(vms), key=str.lower)
    if hints:
        out["target_hints"] = hints
    if caches:
        out["cache_storage_accounts"] = list(caches)
    return out


# --------------------------------------------------------------------------- merge
def _merge_groups(layers: list[tuple[str, dict[str, list[str]]]]) -> tuple[dict[str, list[str]], str | None]:
    """Groups of higher layers win by name; a VM claimed by a higher layer leaves lower groups."""
    merged: dict[str, list[str]] = {}
    claimed: set[str] = set()
    origin = None
    for layer, groups in layers:
        for name, members in groups.items():
            if name in merged:
                continue
            keep = [m for m in members if m.lower() not in claimed]
            if keep:
                merged[name] = keep
                origin = origin or layer
        for name in groups:
            if name in merged:
                claimed.update(m.lower() for m in merged[name])
    return merged, origin


def build_scenario(flags: Mapping[str, Any] | None = None, file_fields: Mapping[str, Any] | None = None,
                   discovered: Mapping[str, Any] | None = None) -> Scenario:
    """Merge the three layers: flags > scenario file > discovery."""
    layers = [(FLAG, dict(flags or {})), (FILE, dict(file_fields or {})), (DISCOVERED, dict(discovered or {}))]
    prov: dict[str, str] = {}

    def pick(key: str, default: Any) -> Any:
        for name, fields in layers:
            if key in fields and fields[key] is not None:
                prov[key] = name
                return fields[key]
        prov[key] = DEFAULT
        return default

    source_region = pick("source_region", None)
    target_region = pick("target_region", None)
    ade = bool(pick("ade", False))
    auto_upgrade = bool(pick("auto_upgrade", False))
    vms = pick("vms", None)
    proxy = make_proxy(pick("proxy", None))
    caches = pick("cache_storage_accounts", [])
    for key in ("proxy", "cache_storage_accounts"):   # newer fields: listed only when given
        if prov.get(key) == DEFAULT:
            del prov[key]

    mapping: dict[str, str] = {}
    mapped: set[str] = set()      # the keys of `mapping`, lower-cased (was made again for each entry)
    m_origin = None
    for name, fields in layers:
        for k, v in (fields.get("network_mapping") or {}).items():
            if k.lower() not in mapped:
                mapping[k] = v
                mapped.add(k.lower())
                m_origin = m_origin or name
    prov["network_mapping"] = m_origin or DEFAULT
    groups, g_origin = _merge_groups([(n, f.get("groups") or {}) for n, f in layers])
    prov["groups"] = g_origin or DEFAULT
    hints = dict(layers[2][1].get("target_hints") or {})
    appliances: dict[str, str] = {}
    for _, fields in layers:
        for ip, name in (fields.get("appliances") or {}).items():
            appliances.setdefault(str(ip).strip(), str(name).strip())
    for ip in appliances:
        try:
            parse_cidr(ip)
        except AddressError:
            raise UsageError(f"appliances: {ip!r} is not an IP address (expected ADDRESS=NAME, e.g. "
                             f"10.0.1.4=fw-hub)") from None

    return Scenario(
        source_region=source_region, target_region=target_region, ade=ade, auto_upgrade=auto_upgrade,
        network_mapping=tuple(sorted(mapping.items(), key=lambda kv: kv[0].lower())),
        groups=tuple(sorted(((k, tuple(v)) for k, v in groups.items()), key=lambda kv: kv[0].lower())),
        vms=tuple(vms) if vms is not None else None,
        target_hints=tuple(sorted(hints.items())),
        appliances=tuple(sorted(appliances.items())),
        provenance=tuple(sorted(prov.items())),
        proxy=proxy,
        cache_storage_accounts=tuple(dict.fromkeys(caches)),
    )


def resolve_scenario(estate: Estate, flags: Mapping[str, Any] | None = None,
                     scenario_file: str | Path | None = None) -> Scenario:
    """Flags > file > discovery, in one call (the CLI's entry point)."""
    file_fields = load_scenario_file(scenario_file) if scenario_file else {}
    return build_scenario(flags, file_fields, discover(estate))
