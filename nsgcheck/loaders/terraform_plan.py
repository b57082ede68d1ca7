"""The plan side of Terraform plan JSON loading: instances, reference resolution, ids, patches.

`Plan` reads a `terraform show -json` document: one `Inst` per managed resource instance,
with the values Terraform knows at plan time merged with its `after_unknown` marks (unknown
positions become `Unknown` with the location of the mark). References that are unknown at
plan time (ids) are followed through the `configuration` section, module variables and
outputs included, and ARM-shaped ids are synthesized from names when the plan does not know
them. `Plan.emit` writes a REST-shaped `RawResource`; association resources register a patch
(`add_patch`) that `apply_patches` applies to the resource they name once every instance is
translated. The translators themselves live in `terraform_network` and `terraform_access`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from nsgcheck.loaders.raw import Path as PropPath
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.jsonpos import origin_at
from nsgcheck.model import PLACEHOLDER_SUBSCRIPTION, Finding, Origin, Unknown, ref

#: a translator: one plan instance -> RawResources emitted (or patches registered) on the plan
Translator = Callable[["Plan", "Inst"], None]

PLACEHOLDER_RESOURCE_GROUP = "resource-group"
AFTER_APPLY = "known after apply"
_NOPE = object()   # "could not resolve" (distinct from a resolved None)
_MAX_DEPTH = 24
#: the part of a pointer that names one resource instance (planned) or one resource change
_INSTANCE_POINTER = re.compile(r"/(?:planned_values|values)/.*?/resources/\d+(?=/|$)|/resource_changes/\d+(?=/|$)")


def is_plan(doc: Any) -> bool:
    """A Terraform plan (or state) JSON document."""
    if not isinstance(doc, dict):
        return False
    return ("format_version" in doc and any(k in doc for k in ("planned_values", "resource_changes",
                                                                "prior_state", "configuration"))
            or ("values" in doc and "terraform_version" in doc))


# --------------------------------------------------------------------------- helpers
def _esc(key: str | int) -> str:
    if isinstance(key, int):
        return str(key)
    return key.replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *keys: str | int) -> str:
    return base + "".join("/" + _esc(k) for k in keys)


def line_of(linemap: Any, pointer: str) -> int | None:
    """Line of `pointer` in the plan file (None without a line map, or when the pointer is not in it)."""
    return linemap.line(pointer) if linemap is not None else None


_TOKEN = re.compile(r'\s*(?:([A-Za-z_][A-Za-z0-9_-]*)|\[\s*(\d+|"(?:[^"\\]|\\.)*"|[^\]]*)\s*\]|(\.))')


def _tokens(text: str) -> list[tuple[str, Any]] | None:
    """'a.b["k"].c[0]' -> [('name','a'),('name','b'),('idx','k'),('name','c'),('idx',0)]."""
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        pos = m.end()
        if m.group(1) is not None:
            out.append(("name", m.group(1)))
        elif m.group(2) is not None:
            raw = m.group(2).strip()
            if raw.isdigit():
                out.append(("idx", int(raw)))
            elif raw.startswith('"'):
                out.append(("idx", raw[1:-1].replace('\\"', '"')))
            else:
                out.append(("idx", ("expr", raw)))   # e.g. [count.index]
    return out


ModAddr = tuple[tuple[str, Any], ...]   # (("call", key|None), ...)


def _parse_module(address: str | None) -> ModAddr:
    toks = _tokens(address or "") or []
    out: list[tuple[str, Any]] = []
    i = 0
    while i < len(toks):
        if toks[i] == ("name", "module") and i + 1 < len(toks):
            name = toks[i + 1][1]
            key = None
            if i + 2 < len(toks) and toks[i + 2][0] == "idx":
                key = toks[i + 2][1]
                i += 1
            out.append((name, key))
            i += 2
        else:
            i += 1
    return tuple(out)


def _mod_str(mod: ModAddr) -> str:
    parts = []
    for name, key in mod:
        k = "" if key is None else (f"[{key}]" if isinstance(key, int) else f'["{key}"]')
        parts.append(f"module.{name}{k}")
    return ".".join(parts)


def _merge(value: Any, marks: Any, pointer: str, origin_of: Callable[[str], Origin], text: str) -> Any:
    """Planned value with `after_unknown` marks applied: unknown positions become Unknown."""
    if marks is True:
        return Unknown(AFTER_APPLY, origin_of(pointer), text)
    if isinstance(marks, dict):
        base = dict(value) if isinstance(value, dict) else ({} if value is None else value)
        if not isinstance(base, dict):
            return base
        for k, m in marks.items():
            if m is False or m is None:
                continue
            base[k] = _merge(base.get(k), m, join_pointer(pointer, k), origin_of, f"{text}.{k}")
        return base
    if isinstance(marks, list):
        base_l = list(value) if isinstance(value, list) else []
        if value is not None and not isinstance(value, list):
            return value
        n = max(len(base_l), len(marks))
        out = []
        for i in range(n):
            v = base_l[i] if i < len(base_l) else None
            m = marks[i] if i < len(marks) else False
            out.append(_merge(v, m, join_pointer(pointer, i), origin_of, f"{text}[{i}]") if m not in (False, None) else v)
        return out
    return value


def _names_a_resource(path: tuple) -> bool:
    """An attribute path that holds resource ids or names (`subnet_id`, `..._ids[0]`, `nsg_name`)."""
    last = next((k for k in reversed(path) if isinstance(k, str)), "")
    return last in ("id", "name") or last.endswith(("_id", "_ids", "_name"))


def _get(node: Any, path: Iterable[Any]) -> Any:
    for k in path:
        if isinstance(node, Unknown):
            return node
        if isinstance(node, dict) and isinstance(k, str):
            if k not in node:
                return None
            node = node[k]
        elif isinstance(node, list) and isinstance(k, int):
            if not 0 <= k < len(node):
                return None
            node = node[k]
        else:
            return None
    return node


def blank(v: Any) -> bool:
    return v is None or v == "" or v == []


def first_block(v: Any) -> dict:
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return v[0]
    return v if isinstance(v, dict) else {}


# --------------------------------------------------------------------------- instances
@dataclass
class Inst:
    """One resource instance of the plan."""

    address: str
    module: ModAddr
    type: str
    name: str
    index: Any
    values: Any                       # merged: Unknown where after_unknown says so
    pointer: str                      # into planned_values
    change_pointer: str | None        # resource_changes/<k>/change
    config: dict | None               # configuration resource block
    config_pointer: str = ""


@dataclass
class Patch:
    """An association resource's change to the resource `target` names, applied once every
    instance is translated."""

    target: str | Unknown
    apply: Callable[[RawResource], None]
    what: str
    origin: Origin


class Plan:
    def __init__(self, doc: dict, file: str, linemap: Any):
        self.doc = doc
        self.file = file
        self.linemap = linemap
        self.findings: list[Finding] = []
        self.insts: list[Inst] = []
        self.by_key: dict[tuple[ModAddr, str, str], dict[Any, Inst]] = {}
        self.modules: set[ModAddr] = {()}
        self.seen: set[str] = set()
        self._unnamed: set[str] = set()
        self._ids: dict[int, str] = {}
        #: ids made up here for resources whose id is known only after apply
        self._synthesized: set[str] = set()
        #: (ARM type, name) in lower case -> instances of a possible parent (`parent_in_plan`)
        self._parents: dict[tuple[str, str], list[Inst]] | None = None
        #: the same, by resource group in lower case (made per name when first asked)
        self._parent_rgs: dict[tuple[str, str], dict[str, list[Inst]]] = {}
        #: a made-up child id -> its ids under each parent it may belong to (`parents_in_plan`)
        self.alternatives: dict[str, list[str]] = {}
        self._busy: set[tuple[int, tuple]] = set()
        self.out: list[RawResource] = []
        self.patches: list[Patch] = []
        #: pointer of a planned resource instance or of its change -> its resource address
        self.addresses: dict[str, str] = {}
        self._read()

    # -- reading -----------------------------------------------------------------
    def origin(self, pointer: str) -> Origin:
        """Origin of the value at `pointer`: start and end line, and the address of the resource
        instance it belongs to (a line of plan JSON alone does not say which resource it is)."""
        m = _INSTANCE_POINTER.match(pointer)
        return origin_at(self.linemap, self.file, pointer, self.addresses.get(m.group()) if m else "")

    def _read(self) -> None:
        doc = self.doc
        if "planned_values" in doc:
            root, base = doc.get("planned_values"), "/planned_values"
        else:
            root, base = doc.get("values"), "/values"
        root_mod = root.get("root_module") if isinstance(root, dict) else None
        if root_mod is None:
            self.findings.append(Finding("warning", "the plan has no planned_values.root_module: no resources read",
                                         self.origin("")))
        changes: dict[str, tuple[dict, str]] = {}
        for k, rc in enumerate(doc.get("resource_changes") or []):
            if isinstance(rc, dict) and isinstance(rc.get("address"), str) and isinstance(rc.get("change"), dict):
                changes[rc["address"]] = (rc["change"], f"/resource_changes/{k}/change")
                self.addresses[f"/resource_changes/{k}"] = rc["address"]
        if isinstance(root_mod, dict):
            self._walk(root_mod, f"{base}/root_module", changes, 0)

    def _walk(self, mod: dict, ptr: str, changes: dict, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.findings.append(Finding("warning", "modules nested too deeply; deeper ones skipped", self.origin(ptr),
                                         unread=True))
            return
        container = _parse_module(mod.get("address"))
        self.modules.add(container)
        for i, r in enumerate(mod.get("resources") or []):
            if not isinstance(r, dict) or not isinstance(r.get("type"), str) or not isinstance(r.get("name"), str):
                # a malformed plan: what this resource was is not known (never silently left out)
                self.findings.append(Finding("error", f"planned resource #{i} is not a resource object with "
                                             f"'type' and 'name': {str(r)[:80]!r}", self.origin(f"{ptr}/resources/{i}"),
                                             unread=True))
                continue
            if r.get("mode", "managed") != "managed":
                continue
            rtype, name = r.get("type"), r.get("name")
            rptr = f"{ptr}/resources/{i}"
            address = r.get("address") if isinstance(r.get("address"), str) else f"{rtype}.{name}"
            if address in self.seen:
                continue     # some tools flatten module resources into the root as well
            self.seen.add(address)
            self.addresses[rptr] = address
            # the module comes from the address (flattened copies sit in the root module)
            maddr = _parse_module(address.rsplit(f"{rtype}.{name}", 1)[0].rstrip(".")) if "module." in address \
                else container
            self.modules.add(maddr)
            change, cptr = changes.get(address, (None, None))
            values = r.get("values") if isinstance(r.get("values"), dict) else {}
            if change is not None and isinstance(change.get("after_unknown"), dict):
                values = _merge(values, change["after_unknown"], f"{cptr}/after_unknown",
                                self.origin, address)
            cfg, cfg_ptr = self._config_resource(maddr, rtype, name)
            inst = Inst(address, maddr, rtype, name, r.get("index"), values, rptr, cptr, cfg, cfg_ptr)
            self.insts.append(inst)
            self.by_key.setdefault((maddr, rtype, name), {})[inst.index] = inst
        for j, child in enumerate(mod.get("child_modules") or []):
            if isinstance(child, dict):
                self._walk(child, f"{ptr}/child_modules/{j}", changes, depth + 1)

    # -- configuration -----------------------------------------------------------
    def _config_module(self, mod: ModAddr) -> tuple[dict | None, str]:
        cfg = self.doc.get("configuration")
        node = cfg.get("root_module") if isinstance(cfg, dict) else None
        ptr = "/configuration/root_module"
        for name, _key in mod:
            if not isinstance(node, dict):
                return None, ""
            call = (node.get("module_calls") or {}).get(name)
            node = call.get("module") if isinstance(call, dict) else None
            ptr = join_pointer(ptr, "module_calls", name, "module")
        return (node if isinstance(node, dict) else None), ptr

    def _config_resource(self, mod: ModAddr, rtype: str, name: str) -> tuple[dict | None, str]:
        node, ptr = self._config_module(mod)
        if node is None:
            return None, ""
        for i, r in enumerate(node.get("resources") or []):
            if isinstance(r, dict) and r.get("type") == rtype and r.get("name") == name \
                    and r.get("mode", "managed") == "managed" \
                    and not str(r.get("address", "")).startswith("module."):
                return r, f"{ptr}/resources/{i}"
        return None, ""

    def _config_expr(self, inst: Inst, path: tuple) -> dict | None:
        """The configuration expression of an attribute (blocks are lists of expression maps)."""
        node: Any = (inst.config or {}).get("expressions")
        for k in path:
            if isinstance(node, dict) and isinstance(k, str):
                node = node.get(k)
            elif isinstance(node, list) and isinstance(k, int):
                if k < len(node):
                    node = node[k]
                elif len(node) == 1:
                    node = node[0]       # a dynamic block rendered once
                else:
                    return None
            else:
                return None
        if isinstance(node, dict) and ("references" in node or "constant_value" in node):
            return node
        return None

    def configured(self, inst: Inst, attr: str) -> bool:
        exprs = (inst.config or {}).get("expressions")
        return isinstance(exprs, dict) and attr in exprs

    # -- reference resolution -------------------------------------------------------
    def _hint(self, refs: list[str], own_index: Any) -> Any:
        if any(r == "count.index" or r.startswith("each.") for r in refs):
            return own_index
        return None

    def _pick(self, mod: ModAddr, rtype: str, name: str, idx: Any, hint: Any) -> Inst | None:
        insts = self.by_key.get((mod, rtype, name))
        if not insts:
            return None
        if idx is not None and not isinstance(idx, tuple):
            return insts.get(idx)
        if len(insts) == 1:
            return next(iter(insts.values()))
        if hint is not None and hint in insts:
            return insts[hint]
        return None

    def _eval_expr(self, expr: dict, mod: ModAddr, hint: Any, depth: int) -> Any:
        """Value of a configuration expression: a constant, or the one thing it references."""
        if "constant_value" in expr:
            return expr["constant_value"]
        refs = [r for r in expr.get("references") or [] if isinstance(r, str)]
        return self._eval_refs(refs, mod, self._hint(refs, hint), depth)

    def _eval_refs(self, refs: list[str], mod: ModAddr, hint: Any, depth: int) -> Any:
        groups = self._groups(refs)
        if groups is None or len(groups) != 1:
            return _NOPE
        (kind, key), toks = next(iter(groups.items()))
        return self._eval_group(kind, key, toks, mod, hint, depth)

    def _groups(self, refs: list[str]) -> dict[tuple, list] | None:
        """Group references by what they name; None when one of them cannot be followed."""
        groups: dict[tuple, list] = {}
        for r in refs:
            if r == "count.index" or r.startswith(("each.", "path.", "terraform.", "self.")):
                continue
            toks = _tokens(r)
            if not toks or toks[0][0] != "name":
                return None
            head = toks[0][1]
            if head in ("local", "data"):
                return None
            if head == "var" and len(toks) >= 2:
                gk: tuple = ("var", toks[1][1])
                rest = toks[2:]
            elif head == "module" and len(toks) >= 2:
                key = toks[2][1] if len(toks) > 2 and toks[2][0] == "idx" else None
                off = 3 if key is not None else 2
                gk = ("module", (toks[1][1], key if not isinstance(key, tuple) else None))
                rest = toks[off:]
            elif len(toks) >= 2 and toks[1][0] == "name":
                key = toks[2][1] if len(toks) > 2 and toks[2][0] == "idx" else None
                off = 3 if key is not None else 2
                gk = ("res", (head, toks[1][1], key if not isinstance(key, tuple) else None))
                rest = toks[off:]
            else:
                return None
            prev = groups.get(gk)
            if prev is None or len(rest) > len(prev[0]):
                groups[gk] = [rest] + (prev or [])
            else:
                prev.append(rest)
        # a resource named both bare and with its index ("a.b" and "a.b[0]") is one thing
        merged: dict[tuple, list] = {}
        for gk, lst in groups.items():
            if gk[0] == "res" and gk[1][2] is None and any(
                    k[0] == "res" and k[1][:2] == gk[1][:2] and k[1][2] is not None for k in groups):
                continue
            if gk[0] == "module" and gk[1][1] is None and any(
                    k[0] == "module" and k[1][0] == gk[1][0] and k[1][1] is not None for k in groups):
                continue
            merged[gk] = lst
        return merged

    def _eval_group(self, kind: str, key: Any, toks_list: list, mod: ModAddr, hint: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return _NOPE
        paths = {tuple(t) for t in toks_list if t}
        attr = list(max(paths, key=len)) if len(paths) == 1 else ([] if paths else [])
        if kind == "res":
            rtype, name, idx = key
            target = self._pick(mod, rtype, name, idx, hint)
            if target is None:
                return _NOPE
            if len(paths) > 1:
                return _Target(target)           # an object passed whole (e.g. rg = azurerm_resource_group.x)
            return self._attr(target, attr, depth + 1)
        if kind == "var":
            if not mod:                          # root variables: their values are in the plan
                var = (self.doc.get("variables") or {}).get(key) if isinstance(self.doc.get("variables"), dict) else None
                if not isinstance(var, dict) or "value" not in var or len(paths) > 1:
                    return _NOPE
                return self._walk_value(var["value"], attr, depth + 1)
            parent = mod[:-1]
            call, call_key = mod[-1]
            pmod, _ = self._config_module(parent)
            expr = (((pmod or {}).get("module_calls") or {}).get(call) or {}).get("expressions", {}).get(key)
            if not isinstance(expr, dict):
                return _NOPE
            val = self._eval_expr(expr, parent, call_key, depth + 1)
            if val is _NOPE or not paths:
                return val
            if len(paths) > 1:
                return _NOPE
            return self._walk_value(val, attr, depth + 1)
        if kind == "module":
            call, mkey = key
            cands = [m for m in self.modules if len(m) == len(mod) + 1 and m[:-1] == mod and m[-1][0] == call]
            if mkey is not None:
                cands = [m for m in cands if m[-1][1] == mkey]
            if len(cands) != 1 or not attr or attr[0][0] != "name":
                return _NOPE
            child = cands[0]
            cmod, _ = self._config_module(child)
            out = (((cmod or {}).get("outputs") or {}).get(attr[0][1]) or {}).get("expression")
            if not isinstance(out, dict):
                return _NOPE
            val = self._eval_expr(out, child, None, depth + 1)
            if val is _NOPE:
                return val
            return self._walk_value(val, attr[1:], depth + 1)
        return _NOPE

    def _walk_value(self, val: Any, toks: list, depth: int) -> Any:
        if isinstance(val, _Target):
            return self._attr(val.inst, toks, depth) if toks else val
        node = val
        for kind, k in toks:
            if isinstance(node, dict) and kind == "name":
                node = node.get(k, _NOPE)
            elif isinstance(node, list) and kind == "idx" and isinstance(k, int) and k < len(node):
                node = node[k]
            else:
                return _NOPE
            if node is _NOPE:
                return node
        return node

    def _attr(self, inst: Inst, toks: list, depth: int) -> Any:
        """An attribute of a resource instance (its id when no attribute is named)."""
        path = tuple(k for _kind, k in toks)
        if not path or path == ("id",):
            v = inst.values.get("id") if isinstance(inst.values, dict) else None
            return v if isinstance(v, str) and v else self.id_of(inst)
        if path == ("name",):
            return self.name_of(inst)    # the same name the resource itself is given
        return self.resolved(inst, path, depth)

    def resolved(self, inst: Inst, path: tuple, depth: int = 0) -> Any:
        """An attribute value: planned, else followed through configuration, else Unknown."""
        v = _get(inst.values, path)
        if not isinstance(v, Unknown):
            return v
        key = (id(inst), path)
        if key in self._busy or depth > _MAX_DEPTH:
            return v
        self._busy.add(key)
        try:
            expr = self._config_expr(inst, path)
            if expr is not None:
                r = self._eval_expr(expr, inst.module, inst.index, depth + 1)
                if isinstance(r, _Target):
                    r = self._attr(r.inst, [], depth + 1)
                if isinstance(r, str) and r in self._synthesized and not _names_a_resource(path):
                    # an id or name made up here may stand only for an id or a name: in
                    # `x = "${random_pet.p.id}-nsg"` the configuration lists the reference,
                    # not the text around it
                    return v
                if r is not _NOPE and r is not None:
                    return r
        finally:
            self._busy.discard(key)
        return v

    def resolved_list(self, inst: Inst, path: tuple) -> list | Unknown | None:
        """A list of references (ids): element-wise when the configuration names one per element."""
        v = _get(inst.values, path)
        if isinstance(v, list) and not any(isinstance(e, Unknown) for e in v):
            return v
        if v is None:
            return None
        expr = self._config_expr(inst, path)
        if expr is not None:
            if "constant_value" in expr and isinstance(expr["constant_value"], list):
                return expr["constant_value"]
            refs = [r for r in expr.get("references") or [] if isinstance(r, str)]
            groups = self._groups(refs)
            hint = self._hint(refs, inst.index)
            n = len(v) if isinstance(v, list) else None
            if groups and (n is None or n == len(groups)):
                out = []
                for (kind, key), toks in groups.items():
                    r = self._eval_group(kind, key, toks, inst.module, hint, 1)
                    if isinstance(r, _Target):
                        r = self._attr(r.inst, [], 1)
                    if r is _NOPE:
                        out = None
                        break
                    if isinstance(r, list) and len(groups) == 1:
                        out = list(r)
                        break
                    out.append(r)
                if out is not None:
                    if isinstance(v, list):   # keep elements the plan already knows
                        out = [a if not isinstance(a, Unknown) else b for a, b in zip(v, out)]
                    return out
        return v

    # -- ids ------------------------------------------------------------------------
    def id_of(self, inst: Inst) -> str:
        cached = self._ids.get(id(inst))
        if cached is not None:
            return cached
        v = inst.values.get("id") if isinstance(inst.values, dict) else None
        if isinstance(v, str) and v.startswith("/"):
            self._ids[id(inst)] = v
            return v
        self._ids[id(inst)] = f"/terraform/{inst.address}"   # guard against cycles
        rid = self._synth_id(inst)
        self._ids[id(inst)] = rid
        self._synthesized.add(rid)
        return rid

    def name_of(self, inst: Inst, attr: str = "name") -> str:
        """The planned name; else the resource address (never a name rebuilt from references:
        the configuration does not keep the text of `"${random_pet.p.id}-nsg"`, only its reference)."""
        v = _get(inst.values, (attr,)) if attr == "name" else self.resolved(inst, (attr,))
        if isinstance(v, str) and v:
            return v
        if attr == "name" and inst.address not in self._unnamed:
            self._unnamed.add(inst.address)
            self.findings.append(Finding("note", f"{inst.address}: the name is not in the plan "
                                         f"({v.reason if isinstance(v, Unknown) else 'not set'}); "
                                         "the Terraform address stands in for it",
                                         v.origin if isinstance(v, Unknown) and v.origin else self.origin(inst.pointer)))
        made_up = inst.address if attr == "name" else f"{inst.address}.{attr}"
        self._synthesized.add(made_up)
        return made_up

    def rg_of(self, inst: Inst) -> str:
        v = self.resolved(inst, ("resource_group_name",))
        return v if isinstance(v, str) and v else PLACEHOLDER_RESOURCE_GROUP

    def parent_name(self, inst: Inst, name_attr: str, id_attr: str, seg: int) -> str:
        """A parent's name from `<x>_name`, or from the last segment of `<x>_id`."""
        if name_attr:
            v = self.resolved(inst, (name_attr,))
            if isinstance(v, str) and v:
                return v
        if id_attr:
            v = self.resolved(inst, (id_attr,))
            if isinstance(v, str) and v:
                parts = v.rstrip("/").split("/")
                if len(parts) >= seg:
                    return parts[-seg]
        return f"{inst.address}.{name_attr or id_attr}"

    def parents_in_plan(self, inst: Inst, parent_type: str, parent: str) -> list[str]:
        """The ids of the parents (`parent_type` named `parent`, in the child's resource group; ARM
        names compare without regard to case) that this plan defines, whatever form their ids have:
        real (an existing resource) or made up here. A child named into an existing parent must join
        it, not a made-up twin of it. More than one: which one is not known (each only may hold it)."""
        if self._parents is None:
            self._parents = {}
            for other in self.insts:
                spec = _ID_SPECS.get(other.type)
                nm = _get(other.values, ("name",))
                if isinstance(spec, str) and isinstance(nm, str) and nm:
                    self._parents.setdefault((spec.lower(), nm.lower()), []).append(other)
        rg = self.rg_of(inst)
        key = (parent_type.lower(), parent.lower())
        found = self._parents.get(key, [])
        if rg != PLACEHOLDER_RESOURCE_GROUP:
            by_rg = self._parent_rgs.get(key)
            if by_rg is None:     # once per name: one name in many resource groups (modules) was a scan per child
                by_rg = self._parent_rgs[key] = {}
                for o in found:
                    by_rg.setdefault(self.rg_of(o).lower(), []).append(o)
            found = by_rg.get(rg.lower(), [])
        ids: dict[str, str] = {}
        for o in found:
            ids.setdefault(ref(self.id_of(o)), self.id_of(o))
        return [ids[k] for k in sorted(ids)]

    def _synth_id(self, inst: Inst) -> str:
        spec = _ID_SPECS.get(inst.type)
        rg = self.rg_of(inst)
        name = self.name_of(inst)
        base = f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{rg}/providers"
        if spec is None:
            return f"{base}/terraform/{inst.type}/{name}"
        if callable(spec):
            return spec(self, inst, base, name)
        return f"{base}/{spec}/{name}"

    # -- output ---------------------------------------------------------------------
    def emit(self, inst: Inst, rtype: str, name: str, rid: str, props: dict, marks: dict[PropPath, str],
             location: Any = None, extra: dict | None = None) -> RawResource:
        marks = {(): inst.pointer, **marks}

        def locate(path: PropPath, _m=marks) -> Origin:
            for n in range(len(path), -1, -1):
                p = _m.get(tuple(path[:n]))
                if p is not None:
                    return self.origin(p)
            return self.origin(inst.pointer)

        ex = {"terraform_address": inst.address, "terraform_type": inst.type, "terraform_marks": marks}
        ex.update(extra or {})
        alts = self.alternatives.get(rid)
        if alts:
            # several resources of this plan may be its parent: it may be under each, and is under
            # at most one (never under none of them silently, never under all for sure)
            why = Unknown(f"{len(alts)} resources of this plan may be its parent ({', '.join(alts)})",
                          self.origin(inst.pointer), inst.address)
            self.findings.append(Finding("warning", f"{inst.address}: {why.reason}; it only may be in each",
                                         why.origin))
            raws = [RawResource(rtype, name, alt, copy.deepcopy(props), self.origin(inst.pointer), location, locate,
                                {**ex, "condition_unknown": why}) for alt in alts]
            self.out.extend(raws)
            return raws[0]
        raw = RawResource(rtype, name, rid, props, self.origin(inst.pointer), location, locate, ex)
        self.out.append(raw)
        return raw

    def unknown(self, inst: Inst, what: str, reason: str = AFTER_APPLY) -> Unknown:
        return Unknown(reason, self.origin(inst.pointer), f"{inst.address}.{what}")


@dataclass
class _Target:
    """A whole resource instance an expression refers to (not one of its attributes)."""

    inst: Inst


# --------------------------------------------------------------------------- id specs
def _child(parent_type: str, name_attr: str, id_attr: str, child: str, seg: int = 1):
    def f(p: Plan, inst: Inst, base: str, name: str) -> str:
        if id_attr:
            pid = p.resolved(inst, (id_attr,))
            if isinstance(pid, str) and pid.startswith("/") and not name_attr:
                return f"{pid.rstrip('/')}/{child}/{name}"
        parent = p.parent_name(inst, name_attr, id_attr, seg)
        pids = p.parents_in_plan(inst, parent_type, parent) if name_attr else []
        if len(pids) == 1:
            return f"{pids[0].rstrip('/')}/{child}/{name}"
        made_up = f"{base}/{parent_type}/{parent}/{child}/{name}"
        if pids:      # which one is not known: it may be under each (`Plan.emit`)
            p.alternatives[made_up] = [f"{pid.rstrip('/')}/{child}/{name}" for pid in pids]
        return made_up
    return f


def _asr(kind: str):
    def f(p: Plan, inst: Inst, base: str, name: str) -> str:
        vault = p.parent_name(inst, "recovery_vault_name", "", 1)
        head = f"{base}/Microsoft.RecoveryServices/vaults/{vault}"
        if kind == "fabric":
            return f"{head}/replicationFabrics/{name}"
        fabric = p.parent_name(inst, "source_recovery_fabric_name", "", 1)
        if kind == "mapping":
            net = asr_network_name(p, inst)
            return f"{head}/replicationFabrics/{fabric}/replicationNetworks/{net}/replicationNetworkMappings/{name}"
        container = p.parent_name(inst, "source_recovery_protection_container_name", "", 1)
        return f"{head}/replicationFabrics/{fabric}/replicationProtectionContainers/{container}/replicationProtectedItems/{name}"
    return f


def asr_network_name(p: Plan, inst: Inst) -> str:
    src = p.resolved(inst, ("source_network_id",))
    if isinstance(src, str) and src.strip("/"):
        return src.rstrip("/").split("/")[-1]
    return "azureNetwork"


_ID_SPECS: dict[str, Any] = {
    "azurerm_network_security_group": "Microsoft.Network/networkSecurityGroups",
    "azurerm_network_security_rule": _child("Microsoft.Network/networkSecurityGroups",
                                            "network_security_group_name", "", "securityRules"),
    "azurerm_virtual_network": "Microsoft.Network/virtualNetworks",
    "azurerm_subnet": _child("Microsoft.Network/virtualNetworks", "virtual_network_name", "", "subnets"),
    "azurerm_network_interface": "Microsoft.Network/networkInterfaces",
    "azurerm_application_security_group": "Microsoft.Network/applicationSecurityGroups",
    "azurerm_route_table": "Microsoft.Network/routeTables",
    "azurerm_route": _child("Microsoft.Network/routeTables", "route_table_name", "", "routes"),
    "azurerm_virtual_network_peering": _child("Microsoft.Network/virtualNetworks", "virtual_network_name", "",
                                              "virtualNetworkPeerings"),
    "azurerm_virtual_hub_connection": _child("Microsoft.Network/virtualHubs", "", "virtual_hub_id",
                                             "hubVirtualNetworkConnections"),
    "azurerm_virtual_hub_routing_intent": _child("Microsoft.Network/virtualHubs", "", "virtual_hub_id",
                                                 "routingIntent"),
    "azurerm_virtual_hub_route_table": _child("Microsoft.Network/virtualHubs", "", "virtual_hub_id", "hubRouteTables"),
    "azurerm_virtual_network_gateway": "Microsoft.Network/virtualNetworkGateways",
    "azurerm_firewall": "Microsoft.Network/azureFirewalls",
    "azurerm_firewall_policy": "Microsoft.Network/firewallPolicies",
    "azurerm_firewall_policy_rule_collection_group": _child("Microsoft.Network/firewallPolicies", "",
                                                            "firewall_policy_id", "ruleCollectionGroups"),
    "azurerm_ip_group": "Microsoft.Network/ipGroups",
    "azurerm_linux_virtual_machine": "Microsoft.Compute/virtualMachines",
    "azurerm_windows_virtual_machine": "Microsoft.Compute/virtualMachines",
    "azurerm_virtual_machine": "Microsoft.Compute/virtualMachines",
    "azurerm_storage_account": "Microsoft.Storage/storageAccounts",
    "azurerm_public_ip": "Microsoft.Network/publicIPAddresses",
    "azurerm_resource_group": lambda p, i, base, name: base.rsplit("/providers", 1)[0].rsplit(
        "/resourceGroups/", 1)[0] + f"/resourceGroups/{name}",
    "azurerm_site_recovery_fabric": _asr("fabric"),
    "azurerm_site_recovery_network_mapping": _asr("mapping"),
    "azurerm_site_recovery_replicated_vm": _asr("item"),
    "azurerm_recovery_services_vault": "Microsoft.RecoveryServices/vaults",
    "azurerm_nat_gateway": "Microsoft.Network/natGateways",
    "azurerm_public_ip_prefix": "Microsoft.Network/publicIPPrefixes",
    "azurerm_lb": "Microsoft.Network/loadBalancers",
    "azurerm_lb_backend_address_pool": _child("Microsoft.Network/loadBalancers", "", "loadbalancer_id",
                                              "backendAddressPools"),
    "azurerm_private_endpoint": "Microsoft.Network/privateEndpoints",
    "azurerm_private_dns_zone": "Microsoft.Network/privateDnsZones",
    "azurerm_private_dns_zone_virtual_network_link": _child("Microsoft.Network/privateDnsZones",
                                                            "private_dns_zone_name", "", "virtualNetworkLinks"),
    "azurerm_private_dns_a_record": _child("Microsoft.Network/privateDnsZones", "zone_name", "", "A"),
}


# --------------------------------------------------------------------------- translator helpers
def ref_obj(v: Any) -> dict | None:
    """A REST reference `{"id": v}` (None when `v` is blank)."""
    if blank(v):
        return None
    return {"id": v}


def put(props: dict, key: str, v: Any) -> None:
    """Set `props[key]` unless `v` is blank (absent, "" or [])."""
    if not blank(v):
        props[key] = v


def location(p: Plan, inst: Inst) -> Any:
    """The instance's `location`, as planned or followed through the configuration."""
    return p.resolved(inst, ("location",))


def add_patch(p: Plan, inst: Inst, target: Any, apply: Callable[[RawResource], None], what: str) -> None:
    """An association resource: `apply` is run on the resource `target` names once every instance is
    translated (`apply_patches`); an unset target is Unknown (reported, never applied elsewhere)."""
    if target is None:
        target = p.unknown(inst, "target", "not set")
    p.patches.append(Patch(target, apply, what, p.origin(inst.pointer)))


def reference_association(target_attr: str, ref_attr: str, prop: str, what: str) -> Translator:
    """The translator of an association resource that sets `prop` of the resource `target_attr` names
    to `{"id": <ref_attr>}` (an Unknown when the plan leaves it unset)."""
    def translate(p: Plan, inst: Inst) -> None:
        value = p.resolved(inst, (ref_attr,))
        value = value if value is not None else p.unknown(inst, ref_attr, "not set")

        def apply(raw: RawResource, value=value) -> None:
            raw.properties[prop] = {"id": value}
        add_patch(p, inst, p.resolved(inst, (target_attr,)), apply, what)
    return translate


def nic_config_association(p: Plan, inst: Inst, target: Any, only: Any, key: str, what: str) -> None:
    """An association resource that adds `{"id": target}` to `key` of the NIC's IP configurations
    (only the one named `only`, when given)."""
    def apply(raw: RawResource, target=target, only=only) -> None:
        for ipc in raw.properties.get("ipConfigurations") or []:
            if isinstance(only, str) and only and ipc.get("name") != only:
                continue
            lst = ipc.setdefault("properties", {}).setdefault(key, [])
            if not any(isinstance(e, dict) and e.get("id") == target for e in lst):
                lst.append({"id": target})
    add_patch(p, inst, p.resolved(inst, ("network_interface_id",)), apply, what)


# --------------------------------------------------------------------------- patches
def apply_patches(p: Plan) -> None:
    """Association resources become properties of the subnet / NIC / storage account they name."""
    index: dict[str, list[RawResource]] = {}
    inline: dict[str, list[tuple[RawResource, dict]]] = {}
    for raw in p.out:
        if isinstance(raw.id, str):
            index.setdefault(ref(raw.id), []).append(raw)
        for s in raw.properties.get("subnets") or [] if raw.type == "Microsoft.Network/virtualNetworks" else []:
            if isinstance(s, dict) and isinstance(s.get("id"), str):
                inline.setdefault(ref(s["id"]), []).append((raw, s))
    for patch in p.patches:
        if isinstance(patch.target, Unknown):
            p.findings.append(Finding("warning", f"{patch.what}: the resource it applies to is unknown "
                                      f"({patch.target.reason}); the association is not applied", patch.origin))
            continue
        if not isinstance(patch.target, str):
            continue
        hits = index.get(ref(patch.target))
        if hits:
            for raw in hits:
                patch.apply(raw)
            continue
        sub_hits = inline.get(ref(patch.target))
        if sub_hits:
            for _vnet, s in sub_hits:
                shim = RawResource("Microsoft.Network/virtualNetworks/subnets", s.get("name", ""), s["id"],
                                   s.setdefault("properties", {}), patch.origin)
                patch.apply(shim)
            continue
        p.findings.append(Finding("warning", f"{patch.what}: {patch.target} is not defined in this plan; "
                                  "the association is not applied", patch.origin))
