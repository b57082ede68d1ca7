"""Requirement packs as data: load `rules/*.yaml`, validate against the pack schema, resolve templates.

The built-in pack `rules/asr-a2a.yaml` ships inside the wheel (read with importlib.resources);
`--rules FILE` adds a user pack in the same format. Every requirement remembers the file and
line it was written on, so reports can point at the rule text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from nsgcheck.errors import RulesError
from nsgcheck.model import Origin

BUILTIN_PACK = "asr-a2a.yaml"
#: the built-in pack as parsed (its data and the line of each requirement) with the SHA-256 of the
#: YAML text it was parsed from: scripts/gen_builtin_pack.py writes it, tests/test_requirements.py
#: fails when it drifts from the YAML, and a run whose YAML it was not parsed from parses the YAML
BUILTIN_PARSED = "asr-a2a.parsed.json"
PACK_SCHEMA = "asr-a2a.schema.json"

ALWAYS, ADE, AUTO_UPGRADE, MULTI_VM, CUSTOM_DNS = "always", "ade", "auto_upgrade", "multi_vm_group", "custom_dns"
DNS_SERVERS = "{dns}"   # destination: the subject's custom DNS servers
SOURCE, TARGET, GROUP = "source", "target", "group"


@dataclass(frozen=True)
class Requirement:
    """One checkable network requirement (a row of the pack)."""

    id: str
    title: str
    rationale: str
    applies_when: str            # always | ade | auto_upgrade | multi_vm_group | custom_dns
    side: str                    # source | target | group
    protocol: str                # tcp | udp
    ports: tuple[int, ...]
    destination: str             # tag template: 'Storage.{source}', 'AzureSiteRecovery', '{peer}', '{dns}'
    urls: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    also_accepted_urls: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    severity: str = "error"
    remediation: str = ""
    documentation: str = ""
    sources: tuple[str, ...] = ()
    error_codes: tuple[int, ...] = ()     # Site Recovery errors a failure causes (documented ones only)
    troubleshooting: str = ""             # Microsoft's troubleshooting section for those errors
    direction: str = "outbound"
    pack: str = ""
    origin: Origin | None = None

    @property
    def port_text(self) -> str:
        return ",".join(str(p) for p in self.ports)

    @property
    def is_regional(self) -> bool:
        return "{" in self.destination and not self.is_group and not self.is_dns

    @property
    def is_dns(self) -> bool:
        return self.destination == DNS_SERVERS

    @property
    def is_group(self) -> bool:
        return self.side == GROUP

    def destination_for(self, source_region: str | None, target_region: str | None) -> tuple[str, str | None]:
        """(base tag, ARM location or None) for this requirement given both regions.

        Returns the base and the region the template asks for; the catalog maps them to the
        real tag name (service-tags.md §3.3). Raises KeyError when a needed region is missing.
        """
        text = self.destination
        if "{" not in text:
            return text, None
        base, _, suffix = text.partition(".")
        if suffix == "{source}":
            if not source_region:
                raise KeyError("source")
            return base, source_region
        if suffix == "{target}":
            if not target_region:
                raise KeyError("target")
            return base, target_region
        raise KeyError(suffix)

    def urls_for(self, cloud: str) -> tuple[str, ...]:
        return tuple(self.urls.get(cloud, ()))

    def accepted_urls_for(self, cloud: str) -> tuple[str, ...]:
        return self.urls_for(cloud) + tuple(self.also_accepted_urls.get(cloud, ()))

    def remediation_for(self, source_region: str | None, target_region: str | None) -> str:
        return self.remediation.replace("{source}", source_region or "<source>").replace(
            "{target}", target_region or "<target>")

    def to_json(self) -> dict[str, Any]:
        """Pack entry as carried in the report (`requirements` list)."""
        return {
            "id": self.id, "pack": self.pack, "title": self.title, "rationale": self.rationale,
            "applies_when": self.applies_when, "side": self.side, "direction": self.direction,
            "protocol": self.protocol, "ports": list(self.ports), "destination": self.destination,
            "urls": {k: list(v) for k, v in sorted(self.urls.items())},
            "severity": self.severity, "remediation": self.remediation,
            "documentation": self.documentation, "sources": list(self.sources),
            "error_codes": list(self.error_codes), "troubleshooting": self.troubleshooting,
            "location": ({"file": self.origin.file, "line": self.origin.line} if self.origin else None),
        }


@dataclass(frozen=True)
class RequirementSet:
    """The requirements in force for an audit, in pack order (built-in first)."""

    requirements: tuple[Requirement, ...]
    packs: tuple[str, ...] = ()

    def __iter__(self):
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    def get(self, req_id: str) -> Requirement | None:
        want = req_id.strip().upper()
        for r in self.requirements:
            if r.id == want:
                return r
        return None


# --------------------------------------------------------------------------- loading
def _schema() -> dict[str, Any]:
    text = resources.files("rules").joinpath(PACK_SCHEMA).read_text(encoding="utf-8")
    return json.loads(text)


def _parse_with_lines(text: str, file: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML (or JSON) text; also return the 1-based line of each `/requirements/i` item."""
    import yaml

    from nsgcheck import safeyaml

    data, node = safeyaml.loads(text, file, "requirement pack", RulesError)   # bounded: aliases, integers
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if getattr(k, "value", None) == "requirements" and isinstance(v, yaml.SequenceNode):
                for i, item in enumerate(v.value):
                    lines[f"/requirements/{i}"] = item.start_mark.line + 1
    return data, lines


def _pointer(path: Iterable[Any]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else ""


def schema_errors(data: Any) -> list[Any]:
    """Where a parsed pack breaks the pack schema (jsonschema errors, in document order)."""
    import jsonschema   # only when a pack is validated: importing it costs more than a small audit

    validator = jsonschema.Draft202012Validator(_schema())
    return sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))


def parse_pack(text: str, file: str, validate: bool = True,
               parsed: tuple[Any, dict[str, int]] | None = None) -> list[Requirement]:
    """Validate and convert one pack's text (`parsed`: its data and lines, already parsed). Raises
    RulesError naming file, pointer and line.

    `validate=False` only for the built-in pack: it ships with the code and the test suite checks
    it against the schema (tests/test_requirements.py), so no run pays for checking it again."""
    data, lines = parsed if parsed is not None else _parse_with_lines(text, file)
    errors = schema_errors(data) if validate else []
    if errors:
        err = errors[0]
        ptr = _pointer(err.absolute_path)
        item = "/".join(ptr.split("/")[:3])
        raise RulesError(f"requirement pack does not match its schema: {err.message}", file=file,
                         pointer=ptr or "/", line=lines.get(item))
    pack = data["pack"]
    out: list[Requirement] = []
    seen: set[str] = set()
    for i, r in enumerate(data["requirements"]):
        rid = r["id"]
        if rid in seen:
            raise RulesError(f"requirement id {rid!r} appears twice", file=file,
                             pointer=f"/requirements/{i}/id", line=lines.get(f"/requirements/{i}"))
        seen.add(rid)
        dest = r["destination"]
        if r["side"] == GROUP and dest != "{peer}":
            raise RulesError("a group requirement's destination must be '{peer}'", file=file,
                             pointer=f"/requirements/{i}/destination", line=lines.get(f"/requirements/{i}"))
        if (dest == DNS_SERVERS) != (r["applies_when"] == CUSTOM_DNS):
            raise RulesError("destination '{dns}' and applies_when 'custom_dns' go together", file=file,
                             pointer=f"/requirements/{i}/destination", line=lines.get(f"/requirements/{i}"))
        if "{" in dest and r["side"] != GROUP and dest != DNS_SERVERS:
            base, _, suffix = dest.partition(".")
            if suffix not in ("{source}", "{target}") or "{" in base:
                raise RulesError(f"destination {dest!r}: expected TAG, TAG.{{source}} or TAG.{{target}}",
                                 file=file, pointer=f"/requirements/{i}/destination",
                                 line=lines.get(f"/requirements/{i}"))
        out.append(Requirement(
            id=rid, title=r["title"].strip(), rationale=" ".join(r["rationale"].split()),
            applies_when=r["applies_when"], side=r["side"], protocol=r["protocol"],
            ports=tuple(r["ports"]), destination=dest,
            urls={k: tuple(v) for k, v in (r.get("urls") or {}).items()},
            also_accepted_urls={k: tuple(v) for k, v in (r.get("also_accepted_urls") or {}).items()},
            severity=r["severity"], remediation=" ".join(r["remediation"].split()),
            documentation=r["documentation"], sources=tuple(r.get("sources", ())),
            error_codes=tuple(r.get("error_codes", ())), troubleshooting=r.get("troubleshooting", ""),
            direction=r.get("direction", "outbound"), pack=pack,
            origin=Origin(file, f"/requirements/{i}", lines.get(f"/requirements/{i}")),
        ))
    return out


def builtin_text() -> str:
    return resources.files("rules").joinpath(BUILTIN_PACK).read_text(encoding="utf-8")


def parsed_twin(text: str) -> str:
    """The text of `BUILTIN_PARSED` for the built-in pack's YAML `text` (its data, lines and hash)."""
    import hashlib

    data, lines = _parse_with_lines(text, f"rules/{BUILTIN_PACK}")
    twin = {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "lines": lines, "data": data}
    return json.dumps(twin, ensure_ascii=False, indent=1) + "\n"


def builtin_parsed(text: str) -> tuple[Any, dict[str, int]] | None:
    """(data, lines) of the built-in pack from `BUILTIN_PARSED` when it was made from this YAML
    `text`, else None (the YAML is then parsed): a run reads JSON instead of importing and running
    the YAML parser (~20 ms of a one-template audit)."""
    import hashlib

    try:
        twin = json.loads(resources.files("rules").joinpath(BUILTIN_PARSED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(twin, dict) or twin.get("sha256") != hashlib.sha256(text.encode("utf-8")).hexdigest():
        return None
    return twin["data"], twin["lines"]


def load_requirements(extra_files: Iterable[str | Path] = ()) -> RequirementSet:
    """The built-in pack plus user packs (`--rules FILE`). A user id may not shadow a built-in one."""
    text = builtin_text()
    reqs = parse_pack(text, f"rules/{BUILTIN_PACK}", validate=False, parsed=builtin_parsed(text))
    packs = [reqs[0].pack] if reqs else []
    for f in extra_files:
        from nsgcheck import safeyaml   # (YAML only for a user's pack)

        path = Path(f)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(safeyaml.MAX_BYTES + 1)
            text = raw.decode("utf-8-sig")
        except OSError as exc:
            raise RulesError(f"cannot read requirement pack: {exc.strerror}", file=str(f)) from None
        except UnicodeDecodeError as exc:
            raise RulesError(f"requirement pack is not UTF-8 text (byte {exc.start})", file=str(f)) from None
        if len(raw) > safeyaml.MAX_BYTES:
            raise RulesError(f"requirement pack is larger than {safeyaml.MAX_BYTES // (1024 * 1024)} MiB",
                             file=str(f))
        more = parse_pack(text, str(f))
        known = {r.id for r in reqs}
        for r in more:
            if r.id in known:
                raise RulesError(f"requirement id {r.id!r} is already defined by another pack",
                                 file=str(f), pointer=r.origin.pointer if r.origin else None,
                                 line=r.origin.line if r.origin else None)
        reqs += more
        if more:
            packs.append(more[0].pack)
    return RequirementSet(tuple(reqs), tuple(packs))


def applies(req: Requirement, ade: bool, auto_upgrade: bool) -> bool:
    """Whether the requirement's condition holds for the scenario (multi-VM: decided per group)."""
    if req.applies_when == ADE:
        return ade
    if req.applies_when == AUTO_UPGRADE:
        return auto_upgrade
    return True
