"""Terraform plan JSON (`terraform show -json plan`) -> REST-shaped `RawResource`s.

azurerm resources are translated attribute by attribute into the Azure REST layout, so the
one converter (`rest.py`) builds model objects for every format. Values unknown until apply
(`after_unknown`) become `Unknown` with the location of the mark; references between
resources that are unknown at plan time (ids) are followed through the `configuration`
section (including module variables and outputs), so associations are not lost. ARM-shaped
ids are synthesized from names when the plan does not know them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from nsgcheck.loaders.raw import Path as PropPath
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.jsonpos import origin_at
from nsgcheck.model import Finding, Origin, Unknown, ref

PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
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


def _ptr(base: str, *keys: str | int) -> str:
    return base + "".join("/" + _esc(k) for k in keys)


def _line(linemap: Any, pointer: str) -> int | None:
    try:
        return linemap.line(pointer) if linemap is not None else None
    except Exception:  # a line map must never break loading
        return None


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
            base[k] = _merge(base.get(k), m, _ptr(pointer, k), origin_of, f"{text}.{k}")
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
            out.append(_merge(v, m, _ptr(pointer, i), origin_of, f"{text}[{i}]") if m not in (False, None) else v)
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


def _blank(v: Any) -> bool:
    return v is None or v == "" or v == []


def _first_block(v: Any) -> dict:
    if isinstance(v, list) and v and isinstance(v[0], dict):
        return v[0]
    return v if isinstance(v, dict) else {}


# --------------------------------------------------------------------------- instances
@dataclass
class _Inst:
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
class _Patch:
    target: str | Unknown
    apply: Callable[[RawResource], None]
    what: str
    origin: Origin


@dataclass
class PlanLoad:
    resources: list[RawResource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class _Plan:
    def __init__(self, doc: dict, file: str, linemap: Any):
        self.doc = doc
        self.file = file
        self.linemap = linemap
        self.findings: list[Finding] = []
        self.insts: list[_Inst] = []
        self.by_key: dict[tuple[ModAddr, str, str], dict[Any, _Inst]] = {}
        self.modules: set[ModAddr] = {()}
        self.seen: set[str] = set()
        self._unnamed: set[str] = set()
        self._ids: dict[int, str] = {}
        #: ids made up here for resources whose id is known only after apply
        self._synthesized: set[str] = set()
        self._busy: set[tuple[int, tuple]] = set()
        self.out: list[RawResource] = []
        self.patches: list[_Patch] = []
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
            self.findings.append(Finding("warning", "modules nested too deeply; deeper ones skipped", self.origin(ptr)))
            return
        container = _parse_module(mod.get("address"))
        self.modules.add(container)
        for i, r in enumerate(mod.get("resources") or []):
            if not isinstance(r, dict) or not isinstance(r.get("type"), str) or not isinstance(r.get("name"), str):
                # a malformed plan: what this resource was is not known (never silently left out)
                self.findings.append(Finding("error", f"planned resource #{i} is not a resource object with "
                                             f"'type' and 'name': {str(r)[:80]!r}", self.origin(f"{ptr}/resources/{i}")))
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
            inst = _Inst(address, maddr, rtype, name, r.get("index"), values, rptr, cptr, cfg, cfg_ptr)
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
            ptr = _ptr(ptr, "module_calls", name, "module")
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

    def _config_expr(self, inst: _Inst, path: tuple) -> dict | None:
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

    def configured(self, inst: _Inst, attr: str) -> bool:
        exprs = (inst.config or {}).get("expressions")
        return isinstance(exprs, dict) and attr in exprs

    # -- reference resolution -------------------------------------------------------
    def _hint(self, refs: list[str], own_index: Any) -> Any:
        if any(r == "count.index" or r.startswith("each.") for r in refs):
            return own_index
        return None

    def _pick(self, mod: ModAddr, rtype: str, name: str, idx: Any, hint: Any) -> _Inst | None:
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

    def _attr(self, inst: _Inst, toks: list, depth: int) -> Any:
        """An attribute of a resource instance (its id when no attribute is named)."""
        path = tuple(k for _kind, k in toks)
        if not path or path == ("id",):
            v = inst.values.get("id") if isinstance(inst.values, dict) else None
            return v if isinstance(v, str) and v else self.id_of(inst)
        if path == ("name",):
            return self.name_of(inst)    # the same name the resource itself is given
        return self.resolved(inst, path, depth)

    def resolved(self, inst: _Inst, path: tuple, depth: int = 0) -> Any:
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

    def resolved_list(self, inst: _Inst, path: tuple) -> list | Unknown | None:
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
    def id_of(self, inst: _Inst) -> str:
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

    def name_of(self, inst: _Inst, attr: str = "name") -> str:
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

    def rg_of(self, inst: _Inst) -> str:
        v = self.resolved(inst, ("resource_group_name",))
        return v if isinstance(v, str) and v else PLACEHOLDER_RESOURCE_GROUP

    def _parent_name(self, inst: _Inst, name_attr: str, id_attr: str, seg: int) -> str:
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

    def _synth_id(self, inst: _Inst) -> str:
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
    def emit(self, inst: _Inst, rtype: str, name: str, rid: str, props: dict, marks: dict[PropPath, str],
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
        raw = RawResource(rtype, name, rid, props, self.origin(inst.pointer), location, locate, ex)
        self.out.append(raw)
        return raw

    def unknown(self, inst: _Inst, what: str, reason: str = AFTER_APPLY) -> Unknown:
        return Unknown(reason, self.origin(inst.pointer), f"{inst.address}.{what}")


@dataclass
class _Target:
    inst: _Inst


# --------------------------------------------------------------------------- id specs
def _child(parent_type: str, name_attr: str, id_attr: str, child: str, seg: int = 1):
    def f(p: _Plan, inst: _Inst, base: str, name: str) -> str:
        if id_attr:
            pid = p.resolved(inst, (id_attr,))
            if isinstance(pid, str) and pid.startswith("/") and not name_attr:
                return f"{pid.rstrip('/')}/{child}/{name}"
        parent = p._parent_name(inst, name_attr, id_attr, seg)
        return f"{base}/{parent_type}/{parent}/{child}/{name}"
    return f


def _asr(kind: str):
    def f(p: _Plan, inst: _Inst, base: str, name: str) -> str:
        vault = p._parent_name(inst, "recovery_vault_name", "", 1)
        head = f"{base}/Microsoft.RecoveryServices/vaults/{vault}"
        if kind == "fabric":
            return f"{head}/replicationFabrics/{name}"
        fabric = p._parent_name(inst, "source_recovery_fabric_name", "", 1)
        if kind == "mapping":
            net = _asr_network_name(p, inst)
            return f"{head}/replicationFabrics/{fabric}/replicationNetworks/{net}/replicationNetworkMappings/{name}"
        container = p._parent_name(inst, "source_recovery_protection_container_name", "", 1)
        return f"{head}/replicationFabrics/{fabric}/replicationProtectionContainers/{container}/replicationProtectedItems/{name}"
    return f


def _asr_network_name(p: _Plan, inst: _Inst) -> str:
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


# --------------------------------------------------------------------------- translators
def _ref_obj(v: Any) -> dict | None:
    if _blank(v):
        return None
    return {"id": v}


def _put(props: dict, key: str, v: Any) -> None:
    if not _blank(v):
        props[key] = v


def _nsg_rule_props(p: _Plan, inst: _Inst, path: tuple) -> dict:
    """An azurerm rule (inline block or standalone resource) -> REST securityRule properties."""
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    props: dict[str, Any] = {}
    for tf, rest in (("protocol", "protocol"), ("access", "access"), ("direction", "direction"),
                     ("priority", "priority")):
        v = g(tf)
        props[rest] = v if v is not None else p.unknown(inst, "/".join(map(str, path + (tf,))), "not set")
    desc = g("description")
    if isinstance(desc, str) and desc:
        props["description"] = desc
    for tf, rest in (("source_port_range", "sourcePortRange"), ("destination_port_range", "destinationPortRange"),
                     ("source_address_prefix", "sourceAddressPrefix"),
                     ("destination_address_prefix", "destinationAddressPrefix")):
        _put(props, rest, g(tf))
    for tf, rest in (("source_port_ranges", "sourcePortRanges"), ("destination_port_ranges", "destinationPortRanges"),
                     ("source_address_prefixes", "sourceAddressPrefixes"),
                     ("destination_address_prefixes", "destinationAddressPrefixes")):
        _put(props, rest, g(tf))
    for tf, rest in (("source_application_security_group_ids", "sourceApplicationSecurityGroups"),
                     ("destination_application_security_group_ids", "destinationApplicationSecurityGroups")):
        v = p.resolved_list(inst, path + (tf,))
        if isinstance(v, Unknown):
            props[rest] = v
        elif isinstance(v, list) and v:
            props[rest] = [{"id": e} for e in v]
    return props


def _rule_name(p: _Plan, inst: _Inst, path: tuple, i: int) -> str:
    v = p.resolved(inst, path + ("name",))
    return v if isinstance(v, str) and v else f"{inst.address}.security_rule[{i}]"


def t_nsg(p: _Plan, inst: _Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    rules_v = inst.values.get("security_rule")
    props: dict[str, Any] = {}
    marks: dict[PropPath, str] = {}
    if isinstance(rules_v, Unknown):
        if p.configured(inst, "security_rule"):
            props["securityRules"] = rules_v
        else:
            props["securityRules"] = []   # not managed inline: standalone rules fill it after apply
    else:
        if rules_v is not None and not isinstance(rules_v, list):
            p.findings.append(Finding("warning", f"{inst.address}: security_rule is not a list; ignored",
                                      p.origin(_ptr(inst.pointer, "values", "security_rule"))))
            rules_v = []
        rules = []
        for i, _r in enumerate(rules_v or []):
            rname = _rule_name(p, inst, ("security_rule", i), i)
            rules.append({"name": rname, "id": f"{rid}/securityRules/{rname}",
                          "properties": _nsg_rule_props(p, inst, ("security_rule", i))})
            marks[("properties", "securityRules", len(rules) - 1)] = _ptr(inst.pointer, "values", "security_rule", i)
        props["securityRules"] = rules
        marks[("properties", "securityRules")] = _ptr(inst.pointer, "values", "security_rule")
    p.emit(inst, "Microsoft.Network/networkSecurityGroups", name, rid, props, marks, _loc(p, inst))


def _loc(p: _Plan, inst: _Inst) -> Any:
    v = p.resolved(inst, ("location",))
    return v


def t_nsg_rule(p: _Plan, inst: _Inst) -> None:
    rid = p.id_of(inst)
    nsg = p._parent_name(inst, "network_security_group_name", "", 1)
    name = p.name_of(inst)
    p.emit(inst, "Microsoft.Network/networkSecurityGroups/securityRules", f"{nsg}/{name}", rid,
           _nsg_rule_props(p, inst, ()), {})


def _subnet_props(p: _Plan, inst: _Inst, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    props: dict[str, Any] = {}
    prefixes = g("address_prefixes")
    if _blank(prefixes):
        single = g("address_prefix")
        prefixes = [single] if not _blank(single) else prefixes
    if isinstance(prefixes, list) and len(prefixes) == 1:
        props["addressPrefix"] = prefixes[0]
    elif isinstance(prefixes, list) and prefixes:
        props["addressPrefixes"] = prefixes
    elif isinstance(prefixes, Unknown):
        props["addressPrefixes"] = prefixes
    eps = g("service_endpoints")
    if isinstance(eps, Unknown):
        props["serviceEndpoints"] = eps
    elif isinstance(eps, list) and eps:
        props["serviceEndpoints"] = [{"service": e} for e in eps]
    nsg = g("security_group")   # inline vnet subnet blocks
    if not _blank(nsg):
        props["networkSecurityGroup"] = {"id": nsg}
    doa = g("default_outbound_access_enabled")
    if doa is not None:
        props["defaultOutboundAccess"] = doa
    pol = g("private_endpoint_network_policies")          # azurerm 4.x
    if pol is None:
        old = g("private_endpoint_network_policies_enabled")   # azurerm 3.x
        pol = ("Enabled" if old else "Disabled") if isinstance(old, bool) else old
    if pol is not None:
        props["privateEndpointNetworkPolicies"] = pol
    return props


def t_vnet(p: _Plan, inst: _Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    space = p.resolved(inst, ("address_space",))
    props: dict[str, Any] = {"addressSpace": {"addressPrefixes": space if not _blank(space) else []}}
    dns = p.resolved(inst, ("dns_servers",))
    if isinstance(dns, Unknown) or (isinstance(dns, list) and dns):
        props["dhcpOptions"] = {"dnsServers": dns}
    marks: dict[PropPath, str] = {}
    subnets_v = inst.values.get("subnet")
    if isinstance(subnets_v, list) and subnets_v:
        subs = []
        for i, _s in enumerate(subnets_v):
            sname = p.resolved(inst, ("subnet", i, "name"))
            sname = sname if isinstance(sname, str) and sname else f"{inst.address}.subnet[{i}]"
            sid = p.resolved(inst, ("subnet", i, "id"))
            subs.append({"name": sname, "id": sid if isinstance(sid, str) and sid else f"{rid}/subnets/{sname}",
                         "properties": _subnet_props(p, inst, ("subnet", i))})
            marks[("properties", "subnets", i)] = _ptr(inst.pointer, "values", "subnet", i)
        props["subnets"] = subs
    p.emit(inst, "Microsoft.Network/virtualNetworks", name, rid, props, marks, _loc(p, inst))


def t_subnet(p: _Plan, inst: _Inst) -> None:
    rid = p.id_of(inst)
    vnet = p._parent_name(inst, "virtual_network_name", "", 1)
    p.emit(inst, "Microsoft.Network/virtualNetworks/subnets", f"{vnet}/{p.name_of(inst)}", rid,
           _subnet_props(p, inst, ()), {})


def t_nic(p: _Plan, inst: _Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    configs = inst.values.get("ip_configuration")
    ipcs = []
    marks: dict[PropPath, str] = {}
    for i, _c in enumerate(configs if isinstance(configs, list) else []):
        g = lambda a, i=i: p.resolved(inst, ("ip_configuration", i, a))   # noqa: E731
        cname = g("name")
        cname = cname if isinstance(cname, str) and cname else f"ipconfig{i + 1}"
        props: dict[str, Any] = {}
        alloc = g("private_ip_address_allocation")
        ip = g("private_ip_address")
        if isinstance(alloc, str):
            props["privateIPAllocationMethod"] = alloc[:1].upper() + alloc[1:].lower()
        static = isinstance(alloc, str) and alloc.lower() == "static"
        if isinstance(ip, str) and ip:
            props["privateIPAddress"] = ip
        elif isinstance(ip, Unknown) and static:
            props["privateIPAddress"] = ip
        ver = g("private_ip_address_version")
        if isinstance(ver, str) and ver:
            props["privateIPAddressVersion"] = ver
        sub = g("subnet_id")
        if isinstance(sub, (str, Unknown)) and sub != "":
            props["subnet"] = {"id": sub}
        prim = g("primary")
        props["primary"] = prim if isinstance(prim, bool) else (i == 0)
        pip = g("public_ip_address_id")
        if not _blank(pip):
            props["publicIPAddress"] = {"id": pip}
        ipcs.append({"name": cname, "id": f"{rid}/ipConfigurations/{cname}", "properties": props})
        marks[("properties", "ipConfigurations", i)] = _ptr(inst.pointer, "values", "ip_configuration", i)
    nic_props: dict[str, Any] = {"ipConfigurations": ipcs}
    dns = p.resolved(inst, ("dns_servers",))
    if isinstance(dns, Unknown) or (isinstance(dns, list) and dns):
        nic_props["dnsSettings"] = {"dnsServers": dns}
        marks[("properties", "dnsSettings")] = _ptr(inst.pointer, "values", "dns_servers")
    p.emit(inst, "Microsoft.Network/networkInterfaces", name, rid, nic_props, marks, _loc(p, inst))


def t_asg(p: _Plan, inst: _Inst) -> None:
    p.emit(inst, "Microsoft.Network/applicationSecurityGroups", p.name_of(inst), p.id_of(inst), {}, {},
           _loc(p, inst))


def _route_props(p: _Plan, inst: _Inst, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    props: dict[str, Any] = {}
    pre = g("address_prefix")
    props["addressPrefix"] = pre if pre is not None else p.unknown(inst, "address_prefix", "not set")
    hop = g("next_hop_type")
    props["nextHopType"] = hop if hop is not None else p.unknown(inst, "next_hop_type", "not set")
    ip = g("next_hop_in_ip_address")
    if isinstance(ip, str) and ip:
        props["nextHopIpAddress"] = ip
    elif isinstance(ip, Unknown) and (not isinstance(hop, str) or hop.lower() == "virtualappliance"):
        props["nextHopIpAddress"] = ip
    return props


def t_route_table(p: _Plan, inst: _Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    props: dict[str, Any] = {}
    dis = p.resolved(inst, ("disable_bgp_route_propagation",))
    if not isinstance(dis, bool):
        en = p.resolved(inst, ("bgp_route_propagation_enabled",))
        dis = (not en) if isinstance(en, bool) else False
    props["disableBgpRoutePropagation"] = dis
    routes_v = inst.values.get("route")
    marks: dict[PropPath, str] = {}
    if isinstance(routes_v, Unknown):
        props["routes"] = routes_v if p.configured(inst, "route") else []
    else:
        if routes_v is not None and not isinstance(routes_v, list):
            p.findings.append(Finding("warning", f"{inst.address}: route is not a list; ignored",
                                      p.origin(_ptr(inst.pointer, "values", "route"))))
            routes_v = []
        routes = []
        for i, _r in enumerate(routes_v or []):
            rname = p.resolved(inst, ("route", i, "name"))
            rname = rname if isinstance(rname, str) and rname else f"route{i}"
            routes.append({"name": rname, "id": f"{rid}/routes/{rname}",
                           "properties": _route_props(p, inst, ("route", i))})
            marks[("properties", "routes", i)] = _ptr(inst.pointer, "values", "route", i)
        props["routes"] = routes
    p.emit(inst, "Microsoft.Network/routeTables", name, rid, props, marks, _loc(p, inst))


def t_route(p: _Plan, inst: _Inst) -> None:
    rt = p._parent_name(inst, "route_table_name", "", 1)
    p.emit(inst, "Microsoft.Network/routeTables/routes", f"{rt}/{p.name_of(inst)}", p.id_of(inst),
           _route_props(p, inst, ()), {})


def t_peering(p: _Plan, inst: _Inst) -> None:
    vnet = p._parent_name(inst, "virtual_network_name", "", 1)
    g = lambda a: p.resolved(inst, (a,))          # noqa: E731
    props: dict[str, Any] = {}
    remote = g("remote_virtual_network_id")
    props["remoteVirtualNetwork"] = {"id": remote if remote is not None else p.unknown(inst, "remote_virtual_network_id", "not set")}
    for tf, rest, default in (("allow_virtual_network_access", "allowVirtualNetworkAccess", True),
                              ("allow_forwarded_traffic", "allowForwardedTraffic", False),
                              ("allow_gateway_transit", "allowGatewayTransit", False),
                              ("use_remote_gateways", "useRemoteGateways", False)):
        v = g(tf)
        props[rest] = v if isinstance(v, (bool, Unknown)) else default
    p.emit(inst, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", f"{vnet}/{p.name_of(inst)}",
           p.id_of(inst), props, {})


def t_firewall(p: _Plan, inst: _Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    props: dict[str, Any] = {}
    ipcs = []
    marks: dict[PropPath, str] = {}
    configs = inst.values.get("ip_configuration")
    for i, _c in enumerate(configs if isinstance(configs, list) else []):
        g = lambda a, i=i: p.resolved(inst, ("ip_configuration", i, a))   # noqa: E731
        cname = g("name")
        cprops: dict[str, Any] = {}
        ip = g("private_ip_address")
        cprops["privateIPAddress"] = ip if not _blank(ip) else p.unknown(inst, f"ip_configuration[{i}].private_ip_address")
        sub = g("subnet_id")
        if not _blank(sub):
            cprops["subnet"] = {"id": sub}
        pip = g("public_ip_address_id")
        if isinstance(pip, str) and pip:
            cprops["publicIPAddress"] = {"id": pip}
        ipcs.append({"name": cname if isinstance(cname, str) else f"ipconfig{i}", "properties": cprops})
        marks[("properties", "ipConfigurations", i)] = _ptr(inst.pointer, "values", "ip_configuration", i)
    props["ipConfigurations"] = ipcs
    pol = p.resolved(inst, ("firewall_policy_id",))
    if not _blank(pol):
        props["firewallPolicy"] = {"id": pol}
    tim = p.resolved(inst, ("threat_intel_mode",))
    if isinstance(tim, str) and tim:
        props["threatIntelMode"] = tim
    sku = {}
    for tf, rest in (("sku_name", "name"), ("sku_tier", "tier")):
        v = p.resolved(inst, (tf,))
        if isinstance(v, str):
            sku[rest] = v
    if sku:
        props["sku"] = sku
    p.emit(inst, "Microsoft.Network/azureFirewalls", name, rid, props, marks, _loc(p, inst))


def t_firewall_policy(p: _Plan, inst: _Inst) -> None:
    props: dict[str, Any] = {}
    base = p.resolved(inst, ("base_policy_id",))
    if not _blank(base):
        props["basePolicy"] = {"id": base}
    tim = p.resolved(inst, ("threat_intelligence_mode",))
    if isinstance(tim, str) and tim:
        props["threatIntelMode"] = tim
    dns = _first_block(p.resolved(inst, ("dns",)))
    if isinstance(dns.get("proxy_enabled"), bool):
        props["dnsSettings"] = {"enableProxy": dns["proxy_enabled"]}
    sku = p.resolved(inst, ("sku",))
    if isinstance(sku, str) and sku:
        props["sku"] = {"tier": sku}
    p.emit(inst, "Microsoft.Network/firewallPolicies", p.name_of(inst), p.id_of(inst), props, {}, _loc(p, inst))


_ACTIONS = {"dnat": "DNAT", "snat": "SNAT", "allow": "Allow", "deny": "Deny"}


def _action(v: Any) -> Any:
    return _ACTIONS.get(v.lower(), v) if isinstance(v, str) else v


def _strs(v: Any) -> Any:
    if isinstance(v, Unknown):
        return v
    return list(v) if isinstance(v, list) else []


def _ip_groups(p: _Plan, inst: _Inst, path: tuple) -> Any:
    v = p.resolved_list(inst, path)
    return _strs(v)


def _policy_rule(p: _Plan, inst: _Inst, kind: str, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    name = g("name")
    rule: dict[str, Any] = {"name": name if isinstance(name, str) else "rule"}
    desc = g("description")
    if isinstance(desc, str) and desc:
        rule["description"] = desc
    if kind == "application":
        rule["ruleType"] = "ApplicationRule"
        protos = g("protocols")
        if isinstance(protos, list):
            rule["protocols"] = [{"protocolType": pr.get("type"), "port": pr.get("port")}
                                 for pr in protos if isinstance(pr, dict)]
        else:
            rule["protocols"] = protos if isinstance(protos, Unknown) else []
        rule["sourceAddresses"] = _strs(g("source_addresses"))
        rule["sourceIpGroups"] = _ip_groups(p, inst, path + ("source_ip_groups",))
        rule["targetFqdns"] = _strs(g("destination_fqdns"))
        rule["fqdnTags"] = _strs(g("destination_fqdn_tags"))
        rule["targetUrls"] = _strs(g("destination_urls"))
        rule["webCategories"] = _strs(g("web_categories"))
        rule["destinationAddresses"] = _strs(g("destination_addresses"))
        tls = g("terminate_tls")
        if isinstance(tls, bool):
            rule["terminateTLS"] = tls
    elif kind == "network":
        rule["ruleType"] = "NetworkRule"
        rule["ipProtocols"] = _strs(g("protocols"))
        rule["sourceAddresses"] = _strs(g("source_addresses"))
        rule["sourceIpGroups"] = _ip_groups(p, inst, path + ("source_ip_groups",))
        rule["destinationAddresses"] = _strs(g("destination_addresses"))
        rule["destinationIpGroups"] = _ip_groups(p, inst, path + ("destination_ip_groups",))
        rule["destinationFqdns"] = _strs(g("destination_fqdns"))
        rule["destinationPorts"] = _strs(g("destination_ports"))
    else:
        rule["ruleType"] = "NatRule"
        rule["ipProtocols"] = _strs(g("protocols"))
        rule["sourceAddresses"] = _strs(g("source_addresses"))
        rule["sourceIpGroups"] = _ip_groups(p, inst, path + ("source_ip_groups",))
        dst = g("destination_address")
        rule["destinationAddresses"] = [dst] if isinstance(dst, str) and dst else (dst if isinstance(dst, Unknown) else [])
        rule["destinationPorts"] = _strs(g("destination_ports"))
        for tf, rest in (("translated_address", "translatedAddress"), ("translated_fqdn", "translatedFqdn")):
            v = g(tf)
            if not _blank(v):
                rule[rest] = v
        tp = g("translated_port")
        if tp is not None:
            rule["translatedPort"] = str(tp) if isinstance(tp, int) else tp
    return rule


def t_rule_collection_group(p: _Plan, inst: _Inst) -> None:
    rid = p.id_of(inst)
    policy = p._parent_name(inst, "", "firewall_policy_id", 1)
    props: dict[str, Any] = {"priority": p.resolved(inst, ("priority",))}
    colls = []
    marks: dict[PropPath, str] = {}
    for attr, kind in (("nat_rule_collection", "nat"), ("network_rule_collection", "network"),
                       ("application_rule_collection", "application")):
        blocks = inst.values.get(attr)
        if isinstance(blocks, Unknown):
            if p.configured(inst, attr):
                p.findings.append(Finding("warning", f"{inst.address}: {attr} is known only after apply; "
                                          "its rules are not evaluated", blocks.origin))
                colls.append({"name": f"{attr}", "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                              "priority": blocks, "action": {"type": blocks}, "rules": blocks})
            continue
        for i, _b in enumerate(blocks if isinstance(blocks, list) else []):
            g = lambda a, i=i: p.resolved(inst, (attr, i, a))   # noqa: E731
            rules_v = g("rule")
            rules = [_policy_rule(p, inst, kind, (attr, i, "rule", j))
                     for j in range(len(rules_v) if isinstance(rules_v, list) else 0)]
            coll = {"name": g("name"),
                    "ruleCollectionType": "FirewallPolicyNatRuleCollection" if kind == "nat"
                    else "FirewallPolicyFilterRuleCollection",
                    "priority": g("priority"), "action": {"type": _action(g("action"))},
                    "rules": rules if not isinstance(rules_v, Unknown) else rules_v}
            marks[("properties", "ruleCollections", len(colls))] = _ptr(inst.pointer, "values", attr, i)
            for j in range(len(rules)):
                marks[("properties", "ruleCollections", len(colls), "rules", j)] = _ptr(
                    inst.pointer, "values", attr, i, "rule", j)
            colls.append(coll)
    props["ruleCollections"] = colls
    p.emit(inst, "Microsoft.Network/firewallPolicies/ruleCollectionGroups", f"{policy}/{p.name_of(inst)}", rid,
           props, marks)


def t_ip_group(p: _Plan, inst: _Inst) -> None:
    cidrs = p.resolved(inst, ("cidrs",))
    props = {"ipAddresses": cidrs if isinstance(cidrs, Unknown) else list(cidrs or [])}
    p.emit(inst, "Microsoft.Network/ipGroups", p.name_of(inst), p.id_of(inst), props, {}, _loc(p, inst))


def t_vm(p: _Plan, inst: _Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    nics = p.resolved_list(inst, ("network_interface_ids",))
    props: dict[str, Any] = {}
    os_type = None
    if inst.type == "azurerm_linux_virtual_machine":
        os_type = "Linux"
    elif inst.type == "azurerm_windows_virtual_machine":
        os_type = "Windows"
    else:
        osd = _first_block(p.resolved(inst, ("storage_os_disk",)))
        if isinstance(osd.get("os_type"), str) and osd["os_type"]:
            os_type = osd["os_type"]
        elif _first_block(p.resolved(inst, ("os_profile_linux_config",))):
            os_type = "Linux"
        elif _first_block(p.resolved(inst, ("os_profile_windows_config",))):
            os_type = "Windows"
    if isinstance(nics, Unknown):
        props["networkProfile"] = {"networkInterfaces": nics}
    else:
        ids = list(nics or [])
        primary = p.resolved(inst, ("primary_network_interface_id",)) if inst.type == "azurerm_virtual_machine" else None
        if isinstance(primary, str) and primary:
            ids = [primary] + [n for n in ids if not (isinstance(n, str) and ref(n) == ref(primary))]
        props["networkProfile"] = {"networkInterfaces": [
            {"id": n, "properties": {"primary": k == 0}} for k, n in enumerate(ids)]}
    if os_type:
        props["storageProfile"] = {"osDisk": {"osType": os_type}}
    p.emit(inst, "Microsoft.Compute/virtualMachines", name, rid, props,
           {("properties", "networkProfile"): _ptr(inst.pointer, "values", "network_interface_ids")}, _loc(p, inst))


def _network_acls(p: _Plan, inst: _Inst, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    acls: dict[str, Any] = {}
    da = g("default_action")
    acls["defaultAction"] = da if da is not None else "Allow"
    bypass = g("bypass")
    if isinstance(bypass, list):
        acls["bypass"] = ", ".join(sorted(str(b) for b in bypass)) if bypass else "None"
    elif isinstance(bypass, Unknown):
        acls["bypass"] = bypass
    ips = g("ip_rules")
    acls["ipRules"] = ips if isinstance(ips, Unknown) else [{"value": v, "action": "Allow"} for v in ips or []]
    subs = p.resolved_list(inst, path + ("virtual_network_subnet_ids",))
    acls["virtualNetworkRules"] = subs if isinstance(subs, Unknown) else [
        {"id": s, "action": "Allow"} for s in subs or []]
    return acls


def t_storage(p: _Plan, inst: _Inst) -> None:
    props: dict[str, Any] = {}
    nr = inst.values.get("network_rules")
    if isinstance(nr, list) and nr:
        props["networkAcls"] = _network_acls(p, inst, ("network_rules", 0))
    elif isinstance(nr, Unknown) and p.configured(inst, "network_rules"):
        props["networkAcls"] = nr
    p.emit(inst, "Microsoft.Storage/storageAccounts", p.name_of(inst), p.id_of(inst), props,
           {("properties", "networkAcls"): _ptr(inst.pointer, "values", "network_rules")}, _loc(p, inst))


def t_storage_rules(p: _Plan, inst: _Inst) -> None:
    target = p.resolved(inst, ("storage_account_id",))
    if _blank(target):
        name = p.resolved(inst, ("storage_account_name",))
        if isinstance(name, str) and name:
            target = (f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{p.rg_of(inst)}"
                      f"/providers/Microsoft.Storage/storageAccounts/{name}")
    acls = _network_acls(p, inst, ())

    def apply(raw: RawResource, acls=acls) -> None:
        raw.properties["networkAcls"] = acls
    _patch(p, inst, target, apply, "storage account network rules")


def _patch(p: _Plan, inst: _Inst, target: Any, apply: Callable[[RawResource], None], what: str) -> None:
    if target is None:
        target = p.unknown(inst, "target", "not set")
    p.patches.append(_Patch(target, apply, what, p.origin(inst.pointer)))


def t_subnet_nsg(p: _Plan, inst: _Inst) -> None:
    nsg = p.resolved(inst, ("network_security_group_id",))
    nsg = nsg if nsg is not None else p.unknown(inst, "network_security_group_id", "not set")

    def apply(raw: RawResource, nsg=nsg) -> None:
        raw.properties["networkSecurityGroup"] = {"id": nsg}
    _patch(p, inst, p.resolved(inst, ("subnet_id",)), apply, "subnet NSG association")


def t_subnet_rt(p: _Plan, inst: _Inst) -> None:
    rt = p.resolved(inst, ("route_table_id",))
    rt = rt if rt is not None else p.unknown(inst, "route_table_id", "not set")

    def apply(raw: RawResource, rt=rt) -> None:
        raw.properties["routeTable"] = {"id": rt}
    _patch(p, inst, p.resolved(inst, ("subnet_id",)), apply, "subnet route table association")


def t_nic_nsg(p: _Plan, inst: _Inst) -> None:
    nsg = p.resolved(inst, ("network_security_group_id",))
    nsg = nsg if nsg is not None else p.unknown(inst, "network_security_group_id", "not set")

    def apply(raw: RawResource, nsg=nsg) -> None:
        raw.properties["networkSecurityGroup"] = {"id": nsg}
    _patch(p, inst, p.resolved(inst, ("network_interface_id",)), apply, "NIC NSG association")


def t_nic_asg(p: _Plan, inst: _Inst) -> None:
    asg = p.resolved(inst, ("application_security_group_id",))
    asg = asg if asg is not None else p.unknown(inst, "application_security_group_id", "not set")
    only = p.resolved(inst, ("ip_configuration_name",))
    if isinstance(asg, Unknown):
        p.findings.append(Finding("warning", f"{inst.address}: the application security group is not determined "
                                  f"({asg.reason}); rules naming ASGs cannot be matched for this NIC",
                                  asg.origin or p.origin(inst.pointer)))

    nic_config_association(p, inst, asg, only, "applicationSecurityGroups",
                           "NIC application security group association")


def nic_config_association(p: _Plan, inst: _Inst, target: Any, only: Any, key: str, what: str) -> None:
    """An association resource that adds `{"id": target}` to `key` of the NIC's IP configurations
    (only the one named `only`, when given)."""
    def apply(raw: RawResource, target=target, only=only) -> None:
        for ipc in raw.properties.get("ipConfigurations") or []:
            if isinstance(only, str) and only and ipc.get("name") != only:
                continue
            lst = ipc.setdefault("properties", {}).setdefault(key, [])
            if not any(isinstance(e, dict) and e.get("id") == target for e in lst):
                lst.append({"id": target})
    _patch(p, inst, p.resolved(inst, ("network_interface_id",)), apply, what)


def t_classic_collection(p: _Plan, inst: _Inst) -> None:
    """azurerm_firewall_{network,application,nat}_rule_collection -> the firewall's classic collections."""
    kind = inst.type.split("_")[2]            # network | application | nat
    key = {"network": "networkRuleCollections", "application": "applicationRuleCollections",
           "nat": "natRuleCollections"}[kind]
    g = lambda *a: p.resolved(inst, a)          # noqa: E731
    fw = g("azure_firewall_name")
    target = (f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{p.rg_of(inst)}"
              f"/providers/Microsoft.Network/azureFirewalls/{fw}") if isinstance(fw, str) and fw else fw
    rules_v = g("rule")
    rules = []
    for j in range(len(rules_v) if isinstance(rules_v, list) else 0):
        gr = lambda a, j=j: p.resolved(inst, ("rule", j, a))   # noqa: E731
        r: dict[str, Any] = {"name": gr("name"), "sourceAddresses": _strs(gr("source_addresses")),
                             "sourceIpGroups": _ip_groups(p, inst, ("rule", j, "source_ip_groups"))}
        if kind == "application":
            protos = gr("protocol")
            r["protocols"] = ([{"protocolType": x.get("type"), "port": x.get("port")} for x in protos
                               if isinstance(x, dict)] if isinstance(protos, list) else protos)
            r["targetFqdns"] = _strs(gr("target_fqdns"))
            r["fqdnTags"] = _strs(gr("fqdn_tags"))
        else:
            r["protocols"] = _strs(gr("protocols"))
            r["destinationAddresses"] = _strs(gr("destination_addresses"))
            r["destinationPorts"] = _strs(gr("destination_ports"))
            if kind == "network":
                r["destinationIpGroups"] = _ip_groups(p, inst, ("rule", j, "destination_ip_groups"))
                r["destinationFqdns"] = _strs(gr("destination_fqdns"))
            else:
                for tf, rest in (("translated_address", "translatedAddress"), ("translated_port", "translatedPort")):
                    v = gr(tf)
                    if not _blank(v):
                        r[rest] = str(v) if isinstance(v, int) else v
        rules.append(r)
    coll = {"name": g("name"), "properties": {
        "priority": g("priority"), "action": {"type": _action(g("action"))},
        "rules": rules if not isinstance(rules_v, Unknown) else rules_v}}

    def apply(raw: RawResource, coll=coll) -> None:
        lst = raw.properties.setdefault(key, [])
        marks = raw.extra.get("terraform_marks")
        if isinstance(marks, dict):
            i = len(lst)
            marks[("properties", key, i)] = inst.pointer
            for j in range(len(coll["properties"]["rules"]) if isinstance(coll["properties"]["rules"], list) else 0):
                marks[("properties", key, i, "properties", "rules", j)] = _ptr(inst.pointer, "values", "rule", j)
        lst.append(coll)
    _patch(p, inst, target, apply, f"firewall {kind} rule collection")


def _fabric_location(p: _Plan, inst: _Inst, fabric_attr: str, fabric_id_attr: str = "") -> str | None:
    fname = p.resolved(inst, (fabric_attr,)) if fabric_attr else None
    if not (isinstance(fname, str) and fname) and fabric_id_attr:
        fid = p.resolved(inst, (fabric_id_attr,))
        if isinstance(fid, str) and fid:
            fname = fid.rstrip("/").split("/")[-1]
    if not (isinstance(fname, str) and fname):
        return None
    for other in p.insts:
        if other.type == "azurerm_site_recovery_fabric":
            n = p.resolved(other, ("name",))
            loc = p.resolved(other, ("location",))
            if isinstance(n, str) and n.lower() == fname.lower() and isinstance(loc, str):
                return loc
    return None


def t_asr_fabric(p: _Plan, inst: _Inst) -> None:
    vault = p._parent_name(inst, "recovery_vault_name", "", 1)
    loc = p.resolved(inst, ("location",))
    p.emit(inst, "Microsoft.RecoveryServices/vaults/replicationFabrics", f"{vault}/{p.name_of(inst)}",
           p.id_of(inst), {"customDetails": {"instanceType": "Azure", "location": loc}}, {}, loc)


def t_asr_mapping(p: _Plan, inst: _Inst) -> None:
    g = lambda a: p.resolved(inst, (a,))          # noqa: E731
    vault = p._parent_name(inst, "recovery_vault_name", "", 1)
    fabric = p._parent_name(inst, "source_recovery_fabric_name", "", 1)
    src = g("source_network_id")
    tgt = g("target_network_id")
    src = src if src is not None else p.unknown(inst, "source_network_id", "not set")
    tgt = tgt if tgt is not None else p.unknown(inst, "target_network_id", "not set")
    src_loc = _fabric_location(p, inst, "source_recovery_fabric_name")
    tgt_loc = _fabric_location(p, inst, "target_recovery_fabric_name")
    props: dict[str, Any] = {
        "primaryNetworkId": src,
        "recoveryNetworkId": tgt,
        "recoveryFabricName": g("target_recovery_fabric_name"),
        "primaryFabricFriendlyName": g("source_recovery_fabric_name"),
        "fabricSpecificDetails": {"instanceType": "AzureToAzure", "primaryNetworkId": src},
        "fabricSpecificSettings": {"instanceType": "AzureToAzure", "primaryFabricLocation": src_loc,
                                   "recoveryFabricLocation": tgt_loc},
    }
    p.emit(inst, "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/replicationNetworkMappings",
           f"{vault}/{fabric}/{_asr_network_name(p, inst)}/{p.name_of(inst)}", p.id_of(inst), props, {})


def t_asr_item(p: _Plan, inst: _Inst) -> None:
    g = lambda a: p.resolved(inst, (a,))          # noqa: E731
    vault = p._parent_name(inst, "recovery_vault_name", "", 1)
    fabric = p._parent_name(inst, "source_recovery_fabric_name", "", 1)
    container = p._parent_name(inst, "source_recovery_protection_container_name", "", 1)
    vm = g("source_vm_id")
    vm = vm if vm is not None else p.unknown(inst, "source_vm_id", "not set")
    tgt_net = g("target_network_id")
    details: dict[str, Any] = {"instanceType": "A2A", "fabricObjectId": vm}
    group = g("multi_vm_group_name")
    if not _blank(group):
        details["multiVmGroupName"] = group
    for tf, rest in (("target_recovery_protection_container_id", "recoveryContainerId"),
                     ("target_resource_group_id", "recoveryResourceGroupId"),
                     ("target_availability_set_id", "recoveryAvailabilitySetId")):
        v = g(tf)
        if not _blank(v):
            details[rest] = v
    if not _blank(tgt_net):
        details["recoveryAzureNetworkId"] = tgt_net
        details["selectedRecoveryAzureNetworkId"] = tgt_net
    src_loc = _fabric_location(p, inst, "source_recovery_fabric_name")
    tgt_loc = _fabric_location(p, inst, "", "target_recovery_fabric_id")
    if src_loc:
        details["primaryFabricLocation"] = src_loc
    if tgt_loc:
        details["recoveryFabricLocation"] = tgt_loc
    disks = g("managed_disk")
    staging = [p.resolved(inst, ("managed_disk", k, "staging_storage_account_id"))
               for k in range(len(disks) if isinstance(disks, list) else 0)]
    if any(isinstance(x, str) and x for x in staging):
        details["vmManagedDisks"] = [{"primaryStagingAzureStorageAccountId": x} for x in staging
                                     if isinstance(x, str) and x]
    test_net = g("test_network_id")
    if not _blank(test_net):
        details["selectedTfoAzureNetworkId"] = test_net
    nics = [_asr_nic(p, inst, i, tgt_net) for i in range(len(g("network_interface") or [])
                                                         if isinstance(g("network_interface"), list) else 0)]
    if nics:
        details["vmNics"] = nics
    props: dict[str, Any] = {"providerSpecificDetails": details}
    pol = g("recovery_replication_policy_id")
    if not _blank(pol):
        props["policyId"] = pol
    p.emit(inst, "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
           "replicationProtectedItems", f"{vault}/{fabric}/{container}/{p.name_of(inst)}", p.id_of(inst), props,
           {("properties", "providerSpecificDetails", "vmNics"): _ptr(inst.pointer, "values", "network_interface")})


#: current `network_interface.ip_configuration` attribute -> Site Recovery ipConfigs field; the older
#: provider had the same settings (and `is_primary`) directly on `network_interface`
_ASR_IPCONFIG = (("target_subnet_name", "recoverySubnetName"), ("target_static_ip", "recoveryStaticIPAddress"),
                 ("recovery_public_ip_address_id", "recoveryPublicIPAddressId"),
                 ("failover_test_subnet_name", "tfoSubnetName"), ("failover_test_static_ip", "tfoStaticIPAddress"),
                 ("failover_test_public_ip_address_id", "tfoPublicIPAddressId"))


def _asr_nic(p: _Plan, inst: _Inst, i: int, tgt_net: Any) -> dict[str, Any]:
    """One `network_interface` block -> a Site Recovery vmNics element. azurerm has no NIC NSG setting,
    so the recovered NIC's NSG is not determined by the plan."""
    gn = lambda *a: p.resolved(inst, ("network_interface", i) + a)   # noqa: E731
    nic: dict[str, Any] = {"recoveryNetworkSecurityGroupId": p.unknown(
        inst, f"network_interface[{i}]", "azurerm_site_recovery_replicated_vm has no setting for the NSG of the "
        "recovered NIC (it can be set outside Terraform)")}
    src = gn("source_network_interface_id")
    if not _blank(src):
        nic["nicId"] = src
    if not _blank(tgt_net):
        nic["recoveryVMNetworkId"] = tgt_net
    configs = []
    blocks = gn("ip_configuration")
    for j in range(len(blocks) if isinstance(blocks, list) else 0):
        c: dict[str, Any] = {"name": gn("ip_configuration", j, "name"), "isPrimary": gn("ip_configuration", j, "primary")}
        for tf, rest in _ASR_IPCONFIG:
            v = gn("ip_configuration", j, tf)
            if not _blank(v):
                c[rest] = v
        pools = gn("ip_configuration", j, "recovery_load_balancer_backend_address_pool_ids")
        if not _blank(pools):
            c["recoveryLBBackendAddressPoolIds"] = pools
        configs.append(c)
    flat: dict[str, Any] = {rest: gn(tf) for tf, rest in _ASR_IPCONFIG if not _blank(gn(tf))}
    if flat:   # the older flat form describes the primary configuration
        flat["isPrimary"] = True
        configs.append(flat)
    if configs:
        nic["ipConfigs"] = configs
    return nic


_TRANSLATORS: dict[str, Callable[[_Plan, _Inst], None]] = {
    "azurerm_network_security_group": t_nsg,
    "azurerm_network_security_rule": t_nsg_rule,
    "azurerm_virtual_network": t_vnet,
    "azurerm_subnet": t_subnet,
    "azurerm_subnet_network_security_group_association": t_subnet_nsg,
    "azurerm_subnet_route_table_association": t_subnet_rt,
    "azurerm_network_interface": t_nic,
    "azurerm_network_interface_security_group_association": t_nic_nsg,
    "azurerm_network_interface_application_security_group_association": t_nic_asg,
    "azurerm_application_security_group": t_asg,
    "azurerm_route_table": t_route_table,
    "azurerm_route": t_route,
    "azurerm_virtual_network_peering": t_peering,
    "azurerm_firewall": t_firewall,
    "azurerm_firewall_policy": t_firewall_policy,
    "azurerm_firewall_policy_rule_collection_group": t_rule_collection_group,
    "azurerm_ip_group": t_ip_group,
    "azurerm_firewall_network_rule_collection": t_classic_collection,
    "azurerm_firewall_application_rule_collection": t_classic_collection,
    "azurerm_firewall_nat_rule_collection": t_classic_collection,
    "azurerm_linux_virtual_machine": t_vm,
    "azurerm_windows_virtual_machine": t_vm,
    "azurerm_virtual_machine": t_vm,
    "azurerm_storage_account": t_storage,
    "azurerm_storage_account_network_rules": t_storage_rules,
    "azurerm_site_recovery_fabric": t_asr_fabric,
    "azurerm_site_recovery_network_mapping": t_asr_mapping,
    "azurerm_site_recovery_replicated_vm": t_asr_item,
}



def _translators() -> dict[str, Callable[[_Plan, _Inst], None]]:
    """Every translator: these and those of `terraform_access` (which imports this module)."""
    from nsgcheck.loaders.terraform_access import TRANSLATORS
    return {**_TRANSLATORS, **TRANSLATORS}


# --------------------------------------------------------------------------- patches
def _apply_patches(p: _Plan) -> None:
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


# --------------------------------------------------------------------------- entry point
def load_plan(doc: Any, file: str, linemap: Any = None) -> tuple[list[RawResource], list[Finding]]:
    """Translate a plan document into RawResources (see module docstring) and loader findings."""
    from nsgcheck.errors import LoaderError
    if not isinstance(doc, dict) or not is_plan(doc):
        raise LoaderError("not a Terraform plan: expected an object with 'format_version' and 'planned_values'",
                          file, "", 1)
    pv = doc.get("planned_values", doc.get("values"))
    if pv is not None and not isinstance(pv, dict):
        raise LoaderError("'planned_values' must be an object", file, "/planned_values",
                          _line(linemap, "/planned_values"))
    p = _Plan(doc, file, linemap)
    translators = _translators()
    for inst in p.insts:
        fn = translators.get(inst.type)
        if fn is None:
            continue
        try:
            fn(p, inst)
        except RecursionError:
            p.findings.append(Finding("warning", f"{inst.address}: references too deep to follow; skipped",
                                      p.origin(inst.pointer)))
    _apply_patches(p)
    return p.out, p.findings
