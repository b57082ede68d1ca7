"""ARM templates (and Bicep compiled to ARM) -> REST-shaped `RawResource`s.

Expands parameters (defaults + parameters files), variables (incl. variable copy), resource-
and property-level copy loops, conditions, nested child resources, `parent/child` names and
nested deployments with inline templates. Every resource keeps its origin (file, JSON pointer,
line) and a `locate(path)` that maps a property path back to where it is written. What the
template does not determine is an `Unknown` (see arm_expressions); nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from nsgcheck.errors import LimitError, LoaderError, RejectedByAzure
from nsgcheck.loaders.arm_expressions import (PLACEHOLDER_RESOURCE_GROUP, PLACEHOLDER_SUBSCRIPTION,
                                              EvalContext, Evaluator, contains_unknown, is_expression,
                                              render_symbols, symbol)
from nsgcheck.loaders import rest as _rest
from nsgcheck.loaders.arm_plans import MISS, Plans
from nsgcheck.loaders.jsonpos import load_json, origin_at
from nsgcheck.loaders.raw import Path as PropPath
from nsgcheck.loaders.normalize import Normalizer
from nsgcheck.loaders.raw import RawResource
from nsgcheck.model import Finding, Origin, Unknown

_lazy_origin = Origin.lazy   # what `_Src.origin` gives (`jsonpos.origin_at` without an address)

DEPLOYMENTS = "microsoft.resources/deployments"
#: resource types whose properties the audit reads (lower case; the converter's own list)
NETWORK_TYPES = frozenset({_rest.NSG, _rest.NSG_RULE, _rest.ASG, _rest.NIC, _rest.VNET, _rest.SUBNET, _rest.PEERING,
                           _rest.ROUTE_TABLE, _rest.ROUTE, _rest.VM, _rest.STORAGE, _rest.GATEWAY, _rest.ASR_FABRIC,
                           _rest.ASR_NET_MAPPING, _rest.ASR_ITEM}) | _rest.FIREWALL_TYPES \
    | _rest.OUTBOUND_TYPES | _rest.PRIVATE_LINK_TYPES | _rest.ADMIN_TYPES
MAX_COPY = 800            # ARM's own limit for a copy count
MAX_COPIES = 1_000_000    # copies made by all the loops of one template (nsgcheck's limit)
MAX_NESTING = 16          # nested deployments inside nested deployments


@dataclass
class Overrides:
    """Deployment facts a template does not hold; the defaults are placeholders."""

    subscription_id: str = PLACEHOLDER_SUBSCRIPTION
    resource_group: str = PLACEHOLDER_RESOURCE_GROUP
    location: str | None = None          # resourceGroup().location (Unknown when None)
    deployment_name: str | None = None   # deployment().name (Unknown when None)
    tenant_id: str | None = None

    @classmethod
    def of(cls, value: "Overrides | Mapping[str, Any] | None") -> "Overrides":
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        known = {k: v for k, v in dict(value).items() if k in cls.__dataclass_fields__ and v is not None}
        return cls(**known)


@dataclass
class ArmExpansion:
    """A template's expanded resources and the findings of its expansion."""

    resources: list[RawResource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: the normalizer that read the NSGs' rule arrays without expressions while they were expanded
    #: (`_Expander.rule_array`): the converter makes their rules from what it read
    normalizer: Normalizer | None = None


# --------------------------------------------------------------------------- JSON reading
def _load_json(path: str | Path) -> tuple[Any, Any]:
    """Read a JSON/JSONC file with line positions."""
    return load_json(path)


def _key(d: Any, name: str) -> str | None:
    """The key of `d` naming the template keyword `name`, as written: ARM reads template property
    names case-insensitively (`defaultvalue`, `Resources`); None when `d` has none."""
    if not isinstance(d, dict):
        return None
    if name in d:
        return name
    low, n = name.lower(), len(name)
    for k in d:   # most keywords asked for are absent: a plain loop, lower-casing only same-length keys
        if type(k) is str and len(k) == n and k.lower() == low:
            return k
    return None


#: what `_keywords` works out for a resource: where each resource keyword is, the extra keywords written,
#: and whether it is of the plain shape `_Expander.planned` makes (no condition, copy loop, `existing`
#: or child resources; a type, name and properties)
_Found = tuple[dict[str, "str | None"], tuple[tuple[str, str], ...], bool]


def _keywords(node: dict, maps: dict[tuple, _Found]) -> _Found:
    """Where each keyword of `_RESOURCE_KEYWORDS` and `_EXTRA_KEYWORDS` is in `node` (the key as
    `_key` finds it: the exact spelling, else the first key equal in any case; None when absent),
    the extra keywords written, as (keyword, key) in `_EXTRA_KEYWORDS` order, and whether the
    resource is of the plain shape (see `_Found`).

    `maps`: what was worked out for objects with the same keys in the same order; it follows from
    the keys and their order alone, and a large template writes thousands of resources so."""
    keys = tuple(node)
    hit = maps.get(keys)
    if hit is None:
        lower: dict[str, str] = {}
        for k in node:
            if type(k) is str:
                lower.setdefault(k.lower(), k)
        found = {w: w if w in node else lower.get(w.lower()) for w in _RESOURCE_KEYWORDS + _EXTRA_KEYWORDS}
        plain = all(found[w] is None for w in ("existing", "copy", "condition", "resources")) and \
            all(found[w] is not None for w in ("type", "name", "properties"))
        hit = maps[keys] = (found, tuple((k, found[k]) for k in _EXTRA_KEYWORDS if found[k] is not None), plain)
    return hit


def _kw(d: Any, name: str, default: Any = None) -> Any:
    """The value of the template keyword `name` in `d` (any case), else `default`."""
    k = _key(d, name)
    return d[k] if k is not None else default


def _at(d: Any, name: str) -> str:
    """The pointer segment of keyword `name` in `d`: the key as written (the keyword when absent)."""
    return _esc(_key(d, name) or name)


def _esc(key: str | int) -> str:
    if isinstance(key, int):
        return str(key)
    if "~" not in key and "/" not in key:
        return key
    return key.replace("~", "~0").replace("/", "~1")


def _line(linemap: Any, pointer: str) -> int | None:
    """Line of `pointer` in the file (None without a line map, or when the pointer is not in it)."""
    return linemap.line(pointer) if linemap is not None else None


def is_parameters_file(doc: Any) -> bool:
    """A deploymentParameters document (values for a template, no resources)."""
    if not isinstance(doc, dict):
        return False
    schema = _kw(doc, "$schema")
    if isinstance(schema, str) and "deploymentparameters" in schema.lower():
        return True
    if isinstance(schema, str) and "deploymenttemplate" in schema.lower():
        return False
    params = _kw(doc, "parameters")
    return (_key(doc, "resources") is None and isinstance(params, dict) and bool(params)
            and all(_key(v, "value") is not None or _key(v, "reference") is not None for v in params.values()))


# --------------------------------------------------------------------------- scopes
@dataclass
class _Src:
    """The file being expanded and its line map (origins with lines)."""

    file: str
    linemap: Any

    def origin(self, pointer: str) -> Origin:
        """Origin with the start and end line of the value at `pointer` (rule line ranges for SARIF)."""
        return origin_at(self.linemap, self.file, pointer)


@dataclass
class _Supplied:
    """A parameter value given from outside the template."""

    value: Any
    src: _Src | None = None       # where it is written (parameters file or outer template)
    pointer: str = ""
    scope: "_Scope | None" = None  # for values written as outer-scope expressions
    node: Any = None               # the JSON as written (for locate)
    name: str = ""
    #: the value evaluated in symbolic mode (names and ids only), for values from outer scopes
    symbolic: Callable[[], Any] | None = None
    #: computes `value` when it is first read (nested deployment parameters: an expression
    #: that fails in a parameter nothing network-related reads must not stop the load)
    thunk: Callable[[], Any] | None = None

    def get(self) -> Any:
        if self.thunk is not None:
            self.value = self.thunk()
            self.thunk = None
        return self.value


class _Scope:
    """One template's evaluation scope: its parameters, variables and functions."""

    def __init__(self, exp: "_Expander", template: dict, tpl_ptr: str, src: _Src,
                 supplied: dict[str, _Supplied], subscription_id: Any, resource_group: Any,
                 deployment_name: Any):
        self.exp = exp
        exp.scopes.append(self)
        #: the nested deployment instances this scope sits in (keeps made-up names apart)
        self.site = ""
        self.template = template
        self.tpl_ptr = tpl_ptr
        self.src = src
        self.supplied = {k.lower(): v for k, v in supplied.items()}
        pdefs = _kw(template, "parameters") or {}
        vdefs = _kw(template, "variables") or {}
        #: where the parameter and variable definitions are (the keys as written)
        self.pptr = f"{tpl_ptr}/{_at(template, 'parameters')}"
        vptr = f"{tpl_ptr}/{_at(template, 'variables')}"
        if not isinstance(pdefs, dict):
            raise LoaderError("'parameters' must be an object", src.file, self.pptr, _line(src.linemap, self.pptr))
        if not isinstance(vdefs, dict):
            raise LoaderError("'variables' must be an object", src.file, vptr, _line(src.linemap, vptr))
        self.pdefs = {k.lower(): (k, v) for k, v in pdefs.items()}
        self.vdefs: dict[str, tuple[str, Any, str, str | None]] = {}   # low -> (name, node, ptr, copy loop)
        for k, v in vdefs.items():
            if k.lower() == "copy" and isinstance(v, list):
                for i, spec in enumerate(v):
                    vname = _kw(spec, "name")
                    if isinstance(vname, str):
                        self.vdefs[vname.lower()] = (vname, spec, f"{vptr}/{_esc(k)}/{i}", vname)
                continue
            self.vdefs[k.lower()] = (k, v, f"{vptr}/{_esc(k)}", None)
        self.pvals: dict[str, Any] = {}
        self.vvals: dict[str, Any] = {}
        self.psyms: dict[str, Any] = {}
        self.vsyms: dict[str, Any] = {}
        self.busy: set[str] = set()
        ov = exp.overrides
        self.base = EvalContext(
            parameter=self.parameter, variable=self.variable,
            subscription_id=subscription_id, resource_group=resource_group,
            location=ov.location, deployment_name=deployment_name, tenant_id=ov.tenant_id,
            functions=self._functions(), file=src.file, pointer=tpl_ptr,
            line_of=lambda p: _line(src.linemap, p),
            parameter_symbol=self.parameter_symbol, variable_symbol=self.variable_symbol)

    def _functions(self) -> dict[str, tuple[list[str], Any]]:
        out: dict[str, tuple[list[str], Any]] = {}
        for ns in _kw(self.template, "functions") or []:
            members = _kw(ns, "members")
            if not isinstance(members, dict):
                continue
            for name, spec in members.items():
                if not isinstance(spec, dict):
                    continue
                params = _kw(spec, "parameters")
                names = [_kw(p, "name", "") for p in params if isinstance(p, dict)] if isinstance(params, list) else []
                out[f"{_kw(ns, 'namespace', '')}.{name}".lower()] = (names, _kw(_kw(spec, "output"), "value"))
        return out

    def ctx(self, pointer: str) -> EvalContext:
        return self.base.at(pointer)

    # ---- parameters
    def parameter(self, name: str) -> Any:
        low = name.lower()
        if low in self.pvals:
            return self.pvals[low]
        if low not in self.pdefs:
            raise KeyError(name)
        if low in self.busy:
            origin = self.src.origin(f"{self.pptr}/{_esc(name)}")
            self.exp.finding("warning", f"parameter {name!r} refers to itself (Azure would reject this "
                             "template); its value is unknown", origin)
            return Unknown(f"parameter {name!r} refers to itself", origin, f"[parameters('{name}')]")
        real, pdef = self.pdefs[low]
        ptr = f"{self.pptr}/{_esc(real)}"
        sup = self.supplied.get(low)
        self.busy.add(low)
        try:
            val = sup.get() if sup is not None else None
            if sup is not None and (val is not None or not self._has_default(pdef)):
                pass   # ARM replaces a null given for a parameter by its defaultValue
            elif self._has_default(pdef):
                dptr = f"{ptr}/{_at(pdef, 'defaultValue')}"
                val = self.exp.value(_kw(pdef, "defaultValue"), self, self.ctx(dptr), dptr)
            elif self._nullable(pdef):
                val = None   # languageVersion 2.0: an optional parameter left out is null
            else:
                val = Unknown(f"parameter {real!r} has no value (no defaultValue and no parameters file gives it)",
                              self.src.origin(ptr), f"[parameters('{real}')]")
        finally:
            self.busy.discard(low)
        self.pvals[low] = val
        return val

    # ---- symbolic values (resource names and ids only; see EvalContext.symbolic)
    def parameter_symbol(self, name: str) -> Any:
        low = name.lower()
        if low in self.psyms:
            return self.psyms[low]
        if low not in self.pdefs or ("s:" + low) in self.busy:
            return None
        real, pdef = self.pdefs[low]
        ptr = f"{self.pptr}/{_esc(real)}"
        sup = self.supplied.get(low)
        self.busy.add("s:" + low)
        try:
            if sup is not None and not (self._has_default(pdef) and self.parameter(real) is None):
                val = sup.symbolic() if sup.symbolic is not None else None
            elif self._has_default(pdef):
                val = self.exp.value(_kw(pdef, "defaultValue"), self, self.ctx(ptr).as_symbolic(),
                                     f"{ptr}/{_at(pdef, 'defaultValue')}")
            elif self._nullable(pdef):
                val = None
            else:
                val = symbol(real)
        finally:
            self.busy.discard("s:" + low)
        if isinstance(val, Unknown):
            val = None
        self.psyms[low] = val
        return val

    def variable_symbol(self, name: str) -> Any:
        low = name.lower()
        if low in self.vsyms:
            return self.vsyms[low]
        if low not in self.vdefs or ("vs:" + low) in self.busy:
            return None
        _, node, ptr, loop = self.vdefs[low]
        self.busy.add("vs:" + low)
        try:
            ctx = self.ctx(ptr).as_symbolic()
            val = self.exp.value(node, self, ctx, ptr) if loop is None else self.exp.copy_array(node, self, ctx, ptr)
        finally:
            self.busy.discard("vs:" + low)
        if isinstance(val, Unknown):
            val = None
        self.vsyms[low] = val
        return val

    @staticmethod
    def _has_default(pdef: Any) -> bool:
        return _key(pdef, "defaultValue") is not None

    def _nullable(self, pdef: Any, hops: int = 0) -> bool:
        if not isinstance(pdef, dict) or hops > 8:
            return False
        if _kw(pdef, "nullable") is True:
            return True
        ref = _kw(pdef, "$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            target = (_kw(self.template, "definitions") or {}).get(ref[len("#/definitions/"):])
            return self._nullable(target, hops + 1)
        return False

    def param_source(self, name: str) -> tuple[Any, _Src, str, "_Scope"] | None:
        low = name.lower()
        if low not in self.pdefs:
            return None
        real, pdef = self.pdefs[low]
        sup = self.supplied.get(low)
        if sup is not None and not (self._has_default(pdef) and sup.value is None and sup.thunk is None):
            if sup.src is None:
                return None
            return (sup.node, sup.src, sup.pointer, sup.scope or self)
        if self._has_default(pdef):
            return (_kw(pdef, "defaultValue"), self.src, f"{self.pptr}/{_esc(real)}/{_at(pdef, 'defaultValue')}", self)
        return (pdef, self.src, f"{self.pptr}/{_esc(real)}", self)

    # ---- variables
    def variable(self, name: str) -> Any:
        low = name.lower()
        if low in self.vvals:
            return self.vvals[low]
        if low not in self.vdefs:
            raise KeyError(name)
        real, node, ptr, loop = self.vdefs[low]
        if ("v:" + low) in self.busy:
            # ARM rejects a circular variable; keep loading, with the value unknown
            origin = self.src.origin(ptr)
            self.exp.finding("warning", f"variable {real!r} refers to itself (Azure would reject this "
                             "template); its value is unknown", origin)
            return Unknown(f"variable {real!r} refers to itself", origin, f"[variables('{real}')]")
        self.busy.add("v:" + low)
        try:
            if loop is None:
                val = self.exp.value(node, self, self.ctx(ptr), ptr)
            else:
                val = self.exp.copy_array(node, self, self.ctx(ptr), ptr)
        finally:
            self.busy.discard("v:" + low)
        self.vvals[low] = val
        return val

    def var_source(self, name: str) -> tuple[Any, str, bool] | None:
        """(node, pointer, is-copy-input) of a variable's definition."""
        hit = self.vdefs.get(name.lower())
        if hit is None:
            return None
        _, node, ptr, loop = hit
        if loop is not None:
            return (_kw(node, "input"), f"{ptr}/{_at(node, 'input')}", True)
        return (node, ptr, False)


# --------------------------------------------------------------------------- the expander
class _Expander:
    def __init__(self, file: str, linemap: Any, overrides: Overrides):
        self.file = file
        self.src = _Src(file, linemap)
        self.overrides = overrides
        self.ev = Evaluator()
        self.out = ArmExpansion()
        #: where resources' keywords are, by their keys in order (see `_keywords`)
        self.keyword_maps: dict[tuple, _Found] = {}
        #: (subscription, resource group, type) -> the start of the ids `_synth_id` makes there,
        #: and the type's segments after the namespace (see `resource_id`)
        self.id_prefixes: dict[tuple[str, str, str], tuple[str, list[str]]] = {}
        #: copies made by copy loops (resource, property, variable; nested loops multiply)
        self.copies = 0
        #: every scope made, released once the template is expanded (`release`)
        self.scopes: list[_Scope] = []
        #: (key, expression, subscription, resource group, symbolic) -> the object {key: value} an
        #: object of that one key and expression gives where `Evaluator.known` gives the value (a
        #: reference to another resource): made once, shared by every resource writing it (as the
        #: parts without expressions are shared with the parsed template)
        self.refs: dict[tuple, dict[str, Any]] = {}
        #: expansion plans of properties by their shape (see `arm_plans`)
        self.plans = Plans()
        #: reads the elements of NSG rule arrays that hold no expression (see `rule_array`)
        self.norm = Normalizer()

    def release(self) -> ArmExpansion:
        """The expansion, with the reference cycles of evaluation broken (a scope's evaluation
        context holds its methods; deployment parameters are closures over the expander): the
        parsed template is then freed when its last resource is, by reference counting, not by a
        pass of the cyclic collector over all of it. The resources' locators keep what they read
        (a scope's template, definitions and source); nothing is evaluated after this."""
        out, self.out = self.out, ArmExpansion()
        out.normalizer = self.norm
        for scope in self.scopes:
            scope.base = scope.exp = None
        self.scopes = []
        return out

    def finding(self, level: str, message: str, origin: Origin | None) -> None:
        self.out.findings.append(Finding(level, message, origin))

    def spend(self, count: int, ptr: str) -> None:
        """Count `count` more loop copies; nested loops of 800 can multiply past any memory."""
        self.copies += count
        if self.copies > MAX_COPIES:
            raise LimitError(f"the template's copy loops make more than {MAX_COPIES:,} copies (nested loops "
                              f"multiply); nsgcheck's limit", self.file, ptr, _line(self.src.linemap, ptr))

    def resource_id(self, sub: Any, rg: Any, rtype: str, name: str) -> str | Unknown:
        """`_synth_id(sub, rg, rtype, name)`, the type split once per scope and type (thousands
        of resources share one)."""
        if type(sub) is not str or type(rg) is not str:
            return _synth_id(sub, rg, rtype, name)
        hit = self.id_prefixes.get((sub, rg, rtype))
        if hit is None:
            parts = [p for p in rtype.split("/") if p]
            hit = self.id_prefixes[sub, rg, rtype] = (
                f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{parts[0]}/", parts[1:])
        prefix, types = hit
        if len(types) == 1:
            return f"{prefix}{types[0]}/{name}"
        names = name.split("/")
        if len(names) == len(types):
            return prefix + "/".join(f"{t}/{n}" for t, n in zip(types, names))
        return prefix + "/".join(types) + "/" + name

    # ---- values
    def value(self, node: Any, scope: _Scope, ctx: EvalContext, ptr: Any) -> Any:
        """Evaluate every expression inside a JSON value, expanding property copy loops. Parts
        without expressions are returned as they are (shared with the parsed template, not copied).
        `ptr`: the value's pointer, or a walk position (see `_tree`), written out only when needed."""
        kind = type(node)
        if kind is dict or kind is list:
            out = self._tree(node, scope, ctx, ptr)
            return node if out is None else out
        if isinstance(node, str):
            if not is_expression(node) and not node.startswith("[["):
                return node
            return self.ev.string(node, ctx.at(_pointer(ptr)))
        if isinstance(node, (list, dict)):
            out = self._tree(node, scope, ctx, ptr)
            return node if out is None else out
        return node

    def _tree(self, node: Any, scope: _Scope, ctx: EvalContext, at: Any, items: Any = None) -> Any:
        """`node` (an object or array) with its expressions evaluated, or None when it holds none.

        Walks once: a string is evaluated only when it starts with '[' (an expression or an
        escaped bracket), and a container is copied only when something inside it changed, so
        literal sub-trees are shared. `at` is the node's pointer, or (parent's `at`, key):
        pointers are written out only for what is evaluated (see `_pointer`). `items`: the
        (index, element) pairs of an array to walk, when the others are known to hold no expression."""
        if type(node) is dict or isinstance(node, dict):
            if not _COPY_SPELLINGS.isdisjoint(node):
                ckey = _key(node, "copy")
                if _is_property_copy(node[ckey]):
                    return self._property_copy(node, ckey, scope, ctx, _pointer(at))
            items = node.items()
        elif items is None:
            items = enumerate(node)
        out = None
        for k, v in items:
            kind = type(v)
            if kind is str:
                if v[:1] != "[":
                    continue
                new = self.ev.known(v, ctx)   # a reference repeated thousands of times: no pointer
                if new is None:
                    new = self.ev.string(v, ctx.at(_pointer((at, k))))
            elif kind is dict or kind is list:
                new = self._reference(v, ctx) if kind is dict and len(v) == 1 else None
                if new is None:
                    if kind is dict:
                        # an object of literal scalars (an NSG rule's properties), or of literal scalars
                        # and such objects (a rule: its name and properties): nothing to do
                        for w in v.values():
                            wkind = type(w)
                            if wkind is str:
                                if w[:1] == "[":
                                    break
                            elif wkind is dict:
                                if not _scalars(w):
                                    break
                            elif wkind is not int and wkind is not bool and w is not None:
                                break
                        else:
                            continue
                    new = self._tree(v, scope, ctx, (at, k))
                    if new is None:
                        continue
            elif isinstance(v, (str, list, dict)):
                new = self.value(v, scope, ctx, (at, k))
            else:
                continue
            if new is v:
                continue
            if out is None:
                out = dict(node) if type(node) is dict or isinstance(node, dict) else list(node)
            out[k] = new
        return out

    def _reference(self, node: dict, ctx: EvalContext) -> dict | None:
        """What `_tree` gives for an object of one key whose value is an expression `Evaluator.known`
        gives (a reference, {"id": "[resourceId(...)]"}: thousands of resources write the same few),
        made once per scope (see `refs`); None: anything else (ask `_tree`)."""
        [(k, v)] = node.items()
        if v.__class__ is not str or v[:1] != "[":
            return None
        key = (k, v, ctx.subscription_id, ctx.resource_group, ctx.symbolic)
        hit = self.refs.get(key)
        if hit is None:
            value = self.ev.known(v, ctx)
            if value is None or value is v:
                return None
            hit = self.refs[key] = {k: value}
        return hit

    def _property_copy(self, node: dict, ckey: str, scope: _Scope, ctx: EvalContext, ptr: str) -> dict:
        """An object with a property copy loop: its properties evaluated, the loop's arrays added."""
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k != ckey:
                out[k] = self.value(v, scope, ctx, f"{ptr}/{_esc(k)}")
        for i, spec in enumerate(node[ckey]):
            out[_kw(spec, "name")] = self.copy_array(spec, scope, ctx, f"{ptr}/{_esc(ckey)}/{i}")
        return out

    def contained(self, node: Any, scope: _Scope, ctx: EvalContext, ptr: Any, rtype: str, items: Any = None) -> Any:
        """A resource property's value; an expression that cannot be evaluated makes that one
        property unknown (with a finding) instead of refusing the whole input: nsgcheck reads
        few properties, and a value it reads being unknown makes the verdicts it decides unknown.
        `ptr`: a pointer or a walk position (see `value`); `items`: as `_tree`'s."""
        try:
            kind = type(node)
            if kind is dict or kind is list:   # (what `value` does for them, one call less per property)
                out = self._reference(node, ctx) if kind is dict and len(node) == 1 else None
                if out is None:
                    out = self._tree(node, scope, ctx, ptr, items)
                return node if out is None else out
            return self.value(node, scope, ctx, ptr)
        except LoaderError as e:
            ptr = _pointer(ptr)
            reads = rtype.lower() in NETWORK_TYPES
            prop = ptr.rsplit("/", 1)[-1]
            # a value Azure refuses where the audit reads it is an input error; one nsgcheck cannot
            # evaluate is doubt (a warning); elsewhere a note
            level = ("error" if isinstance(e, RejectedByAzure) else "warning") if reads else "note"
            self.finding(level, f"{rtype} property {prop!r} not evaluated ({e.message}); "
                         + ("its value is unknown" if reads else "nsgcheck does not read this resource type"),
                         self.src_origin(ctx, ptr))
            return Unknown(f"not evaluated: {e.message}", self.src_origin(ctx, ptr),
                           node if isinstance(node, str) else "")

    def rule_array(self, node: list, scope: _Scope, ctx: EvalContext, ptr: Any, rtype: str) -> Any:
        """`contained` for an NSG's rule array: an element {name, properties} that holds no expression is
        read by the normalizer (`Normalizer.plain`: a rule of remembered valid values, what the
        converter would read of it, kept for it by `read_ahead`) instead of walked, so such a rule's
        values are looked at once in the whole load; the other elements are walked as before."""
        plain = self.norm.plain
        fields = [plain(v, True) if v.__class__ is dict else None for v in node]
        todo = [(i, v) for i, v in enumerate(node) if fields[i] is None]
        out = self.contained(node, scope, ctx, ptr, rtype, todo) if todo else node
        if out.__class__ is list:
            self.norm.read_ahead(out, fields)
        return out

    def copy_array(self, spec: dict, scope: _Scope, ctx: EvalContext, ptr: str) -> Any:
        """The array a property/variable copy loop {name, count, input} produces."""
        name = _kw(spec, "name")
        if not isinstance(name, str) or _key(spec, "input") is None:
            raise LoaderError("a copy loop needs 'name' and 'input'", self.file, ptr, _line(self.src.linemap, ptr))
        count = self.count(_kw(spec, "count"), scope, ctx, f"{ptr}/{_at(spec, 'count')}")
        if isinstance(count, Unknown):
            return count
        self.spend(count, ptr)
        iptr = f"{ptr}/{_at(spec, 'input')}"
        return [self.value(_kw(spec, "input"), scope, ctx.with_loop(name, i), iptr) for i in range(count)]

    def count(self, node: Any, scope: _Scope, ctx: EvalContext, ptr: str) -> int | Unknown:
        val = self.value(node, scope, ctx, ptr)
        if isinstance(val, Unknown):
            return Unknown(f"the copy count is not known ({val.reason})", self.src_origin(ctx, ptr), val.text)
        if isinstance(val, str) and val.strip().isdigit():
            val = int(val)
        if isinstance(val, bool) or not isinstance(val, int) or not 0 <= val <= MAX_COPY:
            raise LoaderError(f"a copy count must be an integer 0..{MAX_COPY}, got {val!r}",
                              ctx.file, ptr, ctx.line_of(ptr))
        return val

    def src_origin(self, ctx: EvalContext, ptr: str) -> Origin:
        return Origin(ctx.file, ptr, ctx.line_of(ptr))

    # ---- resources
    def resources(self, scope: _Scope, node: Any, ptr: str, ctx: EvalContext,
                  parent: tuple[str, str] | None, inherited: dict[str, Any], depth: int) -> None:
        if node is None:
            return
        if isinstance(node, dict):
            items: Iterable[tuple[str | int, Any]] = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            raise LoaderError("'resources' must be an array (or an object with languageVersion 2.0)",
                              self.file, ptr, _line(self.src.linemap, ptr))
        for key, res in items:
            rptr = f"{ptr}/{key}" if key.__class__ is int else f"{ptr}/{_esc(key)}"   # (an index needs no escape)
            if not isinstance(res, dict):
                raise LoaderError("a resource must be an object", self.file, rptr, _line(self.src.linemap, rptr))
            extra = dict(inherited)
            if isinstance(key, str):
                extra["symbolic_name"] = key
            kw = _keywords(res, self.keyword_maps)
            found = kw[0]
            ekey, ckey = found["existing"], found["copy"]
            if ekey is not None and res[ekey] is True:
                continue   # a reference to a resource deployed elsewhere: not defined here
            loop = res[ckey] if ckey is not None else None
            if isinstance(loop, dict):
                lname = _kw(loop, "name")
                cptr = f"{rptr}/{_esc(ckey)}"
                if not isinstance(lname, str):
                    raise LoaderError("a resource copy loop needs a 'name'", self.file, cptr,
                                      _line(self.src.linemap, cptr))
                count = self.count(_kw(loop, "count"), scope, ctx, f"{cptr}/{_at(loop, 'count')}")
                if isinstance(count, Unknown):
                    self.finding("warning", f"copy loop {lname!r}: {count.reason}; one resource stands for "
                                 "all its copies, with the loop index unknown", self.src.origin(cptr))
                    c = ctx.with_loop(lname, count, resource=True)
                    self.one(scope, res, rptr, c, parent, {**extra, "copy_count_unknown": count}, depth, kw)
                    continue
                self.spend(count, cptr)
                for i in range(count):
                    self.one(scope, res, rptr, ctx.with_loop(lname, i, resource=True), parent,
                             {**extra, "copy": {"name": lname, "index": i}}, depth, kw)
            elif parent is not None or not kw[2] or not self.planned(scope, res, rptr, ctx, extra, kw):
                self.one(scope, res, rptr, ctx, parent, extra, depth, kw)

    def planned(self, scope: _Scope, res: dict, rptr: str, ctx: EvalContext, extra: dict[str, Any],
                kw: _Found) -> bool:
        """What `one` makes of a top-level resource of a plain shape (`_keywords`: no condition, copy
        loop, `existing` or child resources) whose type, name, location and extra keywords are
        literal strings (and not a deployment) in a known scope, and whose properties a plan already
        made expands (`Plans.planned`); False, with nothing done, for any other (ask `one`). The
        NICs and VMs of a generated estate are made so, without `one`'s tests of what they lack."""
        found, extras, _ = kw
        rtype, name = res[found["type"]], res[found["name"]]
        if rtype.__class__ is not str or name.__class__ is not str or rtype[:1] == "[" or name[:1] == "[" \
                or not rtype or _is_deployment(rtype):
            return False
        lkey = found["location"]
        location = None if lkey is None else res[lkey]
        if location is not None and (location.__class__ is not str or location[:1] == "["):
            return False
        sub, rg = ctx.subscription_id, ctx.resource_group
        if sub.__class__ is not str or rg.__class__ is not str:
            return False
        for _, kk in extras:
            v = res[kk]
            if v.__class__ is not str or v[:1] == "[":
                return False
        # (a plan matches only properties of its shape, which has no property copy loop)
        props = self.plans.planned(res[found["properties"]], ctx, self.ev.known, self.refs, self._reference)
        if props is MISS:
            return False
        for k, kk in extras:
            extra[k] = res[kk]
        self._made(scope, res, rptr, rtype, name, self.resource_id(sub, rg, rtype, name), props, location, extra)
        return True

    def _made(self, scope: _Scope, res: dict, rptr: str, rtype: str, name: str, rid: str, props: dict,
              location: Any, extra: dict[str, Any]) -> None:
        """Add the resource `one` or `planned` worked out, with its origin and locator (one place
        for how an ARM resource becomes a `RawResource`)."""
        extra["source_format"] = "arm"
        src = scope.src
        # (the fields in order: type, name, id, properties, origin, location, locate, extra)
        self.out.resources.append(RawResource(rtype, name, rid, props, _lazy_origin(src.file, rptr, src.linemap),
                                              location, _Locator(self, scope, res, rptr), extra))

    def one(self, scope: _Scope, res: dict, rptr: str, ctx: EvalContext,
            parent: tuple[str, str] | None, extra: dict[str, Any], depth: int, kw: _Found) -> None:
        src = scope.src
        found, extras, _ = kw
        ckey = found["condition"]
        if ckey is not None:
            cptr = f"{rptr}/{_esc(ckey)}"
            cond = self.value(res[ckey], scope, ctx, cptr)
            if isinstance(cond, str) and cond.lower() in ("true", "false"):
                cond = cond.lower() == "true"
            if cond is False:
                return
            if isinstance(cond, Unknown):
                extra = {**extra, "condition_unknown": cond}
            elif cond is not True:
                raise LoaderError(f"a resource condition must be a boolean, got {cond!r}",
                                  src.file, cptr, _line(src.linemap, cptr))
        tkey = found["type"]
        rtype = res[tkey] if tkey is not None else None
        if type(rtype) is not str or rtype[:1] == "[":   # a plain string is itself: no pointer needed
            rtype = self.value(rtype, scope, ctx, (rptr, tkey or "type"))
        if not isinstance(rtype, str) or not rtype:
            if isinstance(rtype, Unknown):
                self.finding("warning", f"resource type not known ({rtype.reason}); resource skipped",
                             src.origin(rptr))
                return
            raise LoaderError("a resource needs a 'type' string", src.file, rptr, _line(src.linemap, rptr))
        nkey = found["name"]
        raw_name = res[nkey] if nkey is not None else None
        nptr = (rptr, nkey or "name")   # written out only when needed
        name = raw_name if type(raw_name) is str and raw_name[:1] != "[" else self.value(raw_name, scope, ctx, nptr)
        if isinstance(name, Unknown):
            nptr = _pointer(nptr)
            extra["name_unknown"] = name
            # a name built from parameters without values keeps them as '{param}' so that
            # resourceId() references to it (evaluated the same way) find it
            try:
                sym = self.value(raw_name, scope, ctx.as_symbolic(), nptr)
            except LoaderError:
                sym = None
            if isinstance(sym, str):
                name = render_symbols(sym)
                extra["name_symbolic"] = True
            else:
                # never a name two definitions could share: one unknown name does not make
                # two resources one (each definition site and loop iteration is its own)
                name = _unknown_name(raw_name, rtype, parent is not None,
                                     scope.site + _site(src, rptr, ctx))
        elif not isinstance(name, str):
            nptr = _pointer(nptr)
            raise LoaderError(f"a resource name must be a string, got {name!r}", src.file, nptr,
                              _line(src.linemap, nptr))
        if parent is not None:
            rtype, name = _child_type_name(parent, rtype, name)
        if _is_deployment(rtype):
            self.deployment(scope, res, rptr, ctx, name, extra, depth)
            return
        lkey = found["location"]
        location = None if lkey is None else res[lkey]
        if location is not None and (type(location) is not str or location[:1] == "["):
            location = self.contained(location, scope, ctx, (rptr, lkey), rtype)   # a plain string is itself
        if location is not None and not isinstance(location, (str, Unknown)):
            location = Unknown(f"location is not a string: {location!r}", src.origin(f"{rptr}/{_esc(lkey)}"))
        pkey = found["properties"]
        props_node = res[pkey] if pkey is not None else {}
        pat = (rptr, pkey or "properties")   # the pointer of the properties, written out only when needed
        if isinstance(props_node, dict) and (_COPY_SPELLINGS.isdisjoint(props_node)
                                             or not _is_property_copy(_kw(props_node, "copy"))):
            # properties of a shape met many times: by its plan (the same objects the loop makes)
            props = MISS if props_node.__class__ is not dict else \
                self.plans.expand(props_node, ctx, self.ev.known, self.refs, self._reference)
        else:
            props = None
        if props is MISS:
            props = {}
            arrays = _RULE_ARRAYS if len(rtype) == len(_rest.NSG) and rtype.lower() == _rest.NSG else ()
            for k, v in props_node.items():
                kind = type(v)
                # a plain string, number, boolean or null is itself (what `value` returns for it)
                props[k] = v if (kind is str and v[:1] != "[") or kind is int or kind is bool or v is None \
                    else self.rule_array(v, scope, ctx, (pat, k), rtype) if kind is list and k in arrays \
                    else self.contained(v, scope, ctx, (pat, k), rtype)
        elif props is None:
            props = self.contained(props_node, scope, ctx, pat, rtype)
        if isinstance(props, Unknown):
            extra["properties_unknown"] = props
            props = {}
        elif props is None:
            props = {}
        elif not isinstance(props, dict):
            pptr = _pointer(pat)
            raise LoaderError("resource 'properties' must be an object", src.file, pptr,
                              _line(src.linemap, pptr))
        for k, kk in extras:
            v = res[kk]
            extra[k] = v if type(v) is str and v[:1] != "[" else self.contained(v, scope, ctx, (rptr, kk), rtype)
        rid = self.resource_id(ctx.subscription_id, ctx.resource_group, rtype, name)
        if isinstance(rid, Unknown):
            extra["id_unknown"] = rid
            sub_t, rg_t = _id_part(ctx.subscription_id), _id_part(ctx.resource_group)
            rid = f"/subscriptions/{sub_t}/resourceGroups/{rg_t}/providers/{rtype}/{name}"
        self._made(scope, res, rptr, rtype, name, rid, props, location, extra)
        rkey = found["resources"]
        children = res[rkey] if rkey is not None else None
        if children:
            inherit = {k: extra[k] for k in ("condition_unknown", "copy_count_unknown", "deployment")
                       if k in extra}
            self.resources(scope, children, f"{rptr}/{_esc(rkey)}", ctx, (rtype, name), inherit, depth)

    def _symbolic_thunk(self, node: Any, scope: _Scope, ctx: EvalContext, ptr: str) -> Callable[[], Any]:
        sctx = ctx.as_symbolic()
        return lambda: self.value(node, scope, sctx, ptr)

    # ---- nested deployments
    def deployment(self, scope: _Scope, res: dict, rptr: str, ctx: EvalContext, name: str,
                   extra: dict[str, Any], depth: int) -> None:
        src = scope.src
        props = _kw(res, "properties")
        if not isinstance(props, dict):
            raise LoaderError("a deployment needs 'properties'", src.file, rptr, _line(src.linemap, rptr))
        pptr = f"{rptr}/{_at(res, 'properties')}"
        if _key(props, "templateLink") is not None:
            link = _kw(props, "templateLink")
            lptr = f"{pptr}/{_at(props, 'templateLink')}"
            uri = self.value(link, scope, ctx, lptr)
            target = _kw(uri, "uri") or _kw(uri, "id") if isinstance(uri, dict) else uri
            shown = target if isinstance(target, str) else _kw(link, "uri", "?")
            self.finding("warning", f"linked template not followed: deployment {name!r} uses {shown!r}; "
                         "its resources are not in this input (load that template too)", src.origin(lptr))
            return
        template = _kw(props, "template")
        if not isinstance(template, dict):
            self.finding("warning", f"deployment {name!r} has no inline template; nothing to expand",
                         src.origin(rptr))
            return
        if depth >= MAX_NESTING:
            raise LoaderError(f"nested deployments deeper than {MAX_NESTING} levels", src.file, rptr,
                              _line(src.linemap, rptr))
        tptr = f"{pptr}/{_at(props, 'template')}"
        sub = ctx.subscription_id
        rg = ctx.resource_group
        if _key(res, "subscriptionId") is not None:
            sub = self.value(_kw(res, "subscriptionId"), scope, ctx, f"{rptr}/{_at(res, 'subscriptionId')}")
        if _key(res, "resourceGroup") is not None:
            rg = self.value(_kw(res, "resourceGroup"), scope, ctx, f"{rptr}/{_at(res, 'resourceGroup')}")
        how = _kw(_kw(props, "expressionEvaluationOptions"), "scope")
        inner = isinstance(how, str) and how.lower() == "inner"
        extra = {k: v for k, v in extra.items() if k in ("condition_unknown", "copy_count_unknown")}
        extra["deployment"] = name
        if inner:
            supplied: dict[str, _Supplied] = {}
            given = _kw(props, "parameters") or {}
            if _key(props, "parametersLink") is not None:
                self.finding("warning", f"deployment {name!r}: linked parameters file not followed; "
                             "its parameters have no values here", src.origin(f"{pptr}/{_at(props, 'parametersLink')}"))
            gptr = f"{pptr}/{_at(props, 'parameters')}"
            if isinstance(given, dict):
                for pname, pv in given.items():
                    supplied[pname] = self.deployment_parameter(pname, pv, scope, ctx, f"{gptr}/{_esc(pname)}")
            child = _Scope(self, template, tptr, src, supplied, sub, rg, name)
            # which instance of this deployment (a copy loop may deploy it several times)
            child.site = f"{scope.site}{_site(src, rptr, ctx)}; "
            self.resources(child, _kw(template, "resources"), f"{tptr}/{_at(template, 'resources')}", child.ctx(tptr),
                           None, extra, depth + 1)
        else:
            c = ctx.at(tptr)
            c.subscription_id, c.resource_group, c.deployment_name = sub, rg, name
            self.resources(scope, _kw(template, "resources"), f"{tptr}/{_at(template, 'resources')}", c, None, extra,
                           depth + 1)


    def deployment_parameter(self, pname: str, pv: Any, scope: _Scope, ctx: EvalContext, vptr: str) -> _Supplied:
        """A parameter passed to an inner-scope nested deployment, evaluated only when read.

        Forms: `{"value": ...}`, `{"reference": {"keyVault": ...}}` (a secret: unknown here),
        `{"copy": [{"name": "value", ...}]}` (a property loop building the value, as Bicep writes
        module parameters made by a `for`), or an expression yielding one of these (Bicep's
        conditional Key Vault references). An evaluation error surfaces where the value is used.
        """
        src = scope.src

        def entry_value(entry: Any, ptr: str) -> Any:
            if isinstance(entry, Unknown):
                return entry
            if _key(entry, "reference") is not None and _key(entry, "value") is None:
                return Unknown(f"parameter {pname!r} is a Key Vault reference, read at deployment time",
                               src.origin(ptr), "")
            if _key(entry, "value") is not None:
                return _kw(entry, "value")
            raise LoaderError(f"deployment parameter {pname!r} needs 'value' or 'reference', got {entry!r}",
                              src.file, ptr, _line(src.linemap, ptr))

        if _key(pv, "reference") is not None and _key(pv, "value") is None:
            s = _Supplied(entry_value(pv, vptr), src, f"{vptr}/{_at(pv, 'reference')}", scope)
            s.node = _kw(pv, "reference")
        elif _key(pv, "value") is not None:
            node, at = _kw(pv, "value"), f"{vptr}/{_at(pv, 'value')}"
            s = _Supplied(None, src, at, scope, thunk=lambda: self.value(node, scope, ctx, at))
            s.symbolic = self._symbolic_thunk(node, scope, ctx, at)
            s.node = node
        elif _is_property_copy(_kw(pv, "copy")):
            s = _Supplied(None, src, vptr, scope,
                          thunk=lambda: entry_value(self.value(pv, scope, ctx, vptr), vptr))
            s.node = pv
        elif isinstance(pv, str) and is_expression(pv):
            s = _Supplied(None, src, vptr, scope, thunk=lambda: entry_value(self.value(pv, scope, ctx, vptr), vptr))
            s.node = pv
        else:
            raise LoaderError(f"deployment parameter {pname!r} needs 'value' or 'reference'",
                              src.file, vptr, _line(src.linemap, vptr))
        s.name = pname
        return s


#: every spelling of the keyword `copy` (keywords are read in any case; no other character
#: lower-cases to c, o, p or y)
_COPY_SPELLINGS = frozenset(
    "".join(c.upper() if bits >> i & 1 else c for i, c in enumerate("copy")) for bits in range(16))


#: an NSG's properties read as rule arrays (see `_Expander.rule_array`), spelled as the converter reads them
_RULE_ARRAYS = ("securityRules", "defaultSecurityRules")

#: resource keywords kept in RawResource.extra
_EXTRA_KEYWORDS = ("tags", "sku", "kind", "zones", "identity", "plan", "scope", "apiVersion")
#: the keywords every resource is read for (see `_Keywords.found`)
_RESOURCE_KEYWORDS = ("existing", "copy", "condition", "type", "name", "location", "properties", "resources")


def _scalars(d: dict) -> bool:
    """Whether every value of `d` is a literal scalar: a string that is not an expression (nor an
    escaped bracket), a number, a boolean or null, or a list of such strings (an NSG rule's plural
    field): `Expander._tree` has nothing to do in it."""
    for x in d.values():
        kind = type(x)
        if kind is str:
            if x[:1] == "[":
                return False
        elif kind is list:
            for y in x:
                if y.__class__ is not str or y[:1] == "[":
                    return False
        elif kind is not int and kind is not bool and x is not None:
            return False
    return True


def _pointer(at: Any) -> str:
    """The JSON pointer of a walk position: a pointer, or (parent position, key) pairs on it."""
    if type(at) is str:
        return at
    keys = []
    while type(at) is tuple:
        at, key = at
        keys.append(key)
    return at + "".join(f"/{_esc(k)}" for k in reversed(keys))


def _is_deployment(rtype: str) -> bool:
    """`rtype.lower() == DEPLOYMENTS`, lower-casing only a type of the keyword's length: a character
    whose lower case is longer than one character gives one the keyword does not hold."""
    return len(rtype) == len(DEPLOYMENTS) and rtype.lower() == DEPLOYMENTS


def _is_property_copy(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(
        isinstance(_kw(s, "name"), str) and _key(s, "input") is not None for s in v)


def _child_type_name(parent: tuple[str, str], rtype: str, name: str) -> tuple[str, str]:
    """Full type and name of a nested child resource (relative or full forms)."""
    ptype, pname = parent
    if "/" in rtype and "." in rtype.split("/")[0]:
        full_type = rtype
    else:
        full_type = f"{ptype}/{rtype}"
    depth = len([p for p in full_type.split("/") if p]) - 1
    if len(name.split("/")) >= depth:
        return full_type, name
    return full_type, f"{pname}/{name}"


def _id_part(v: Any) -> str:
    """A subscription or resource group in a made-up id: itself, or '?' and where the unknown
    value is written (two deployments to different unknown groups stay apart)."""
    if isinstance(v, str):
        return v
    where = v.origin.pointer if isinstance(v, Unknown) and v.origin is not None else ""
    return "?" + where.replace("/", ".")


def _unknown_name(raw: Any, rtype: str, nested: bool, site: str) -> str:
    """A stand-in for a resource name the template does not determine, with as many '/' segments
    as the type needs (a subnet stays a subnet of some network) and unique to its definition site."""
    text = (raw if isinstance(raw, str) else "?").replace("/", "%2F")
    segments = 1 if nested else max(1, len([p for p in rtype.split("/") if p]) - 1)
    return "/".join(["?"] * (segments - 1) + [f"{text} ({site})"])


def _site(src: _Src, ptr: str, ctx: EvalContext) -> str:
    """Where a definition is written, and which loop iteration: 'line 12 [l=0]' (no '/': used in ids)."""
    line = _line(src.linemap, ptr)
    loops = "".join(f" [{k}={v}]" for k, v in sorted(ctx.copy_indexes.items()) if k)
    return (f"line {line}" if line else ptr.replace("/", ".")) + loops


def _synth_id(sub: Any, rg: Any, rtype: str, name: str) -> str | Unknown:
    for v in (sub, rg):
        if isinstance(v, Unknown):
            return v
    parts = [p for p in rtype.split("/") if p]
    ns, types = parts[0], parts[1:]
    names = name.split("/")
    if len(names) == len(types):
        tail = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    else:
        tail = "/".join(types) + "/" + name
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{tail}"


# --------------------------------------------------------------------------- locate
_SIMPLE_REF = re.compile(r"^\[\s*(parameters|variables)\s*\(\s*'([^']*)'\s*\)\s*\]$", re.IGNORECASE)


class _Locator:
    """Maps a property path of an expanded resource back to its source (file, pointer, line).

    The walk to a path's parent is remembered: the rules of an NSG (`properties/securityRules/i`)
    share it, so each rule costs one step, not a walk from the resource."""

    #: walked parents remembered per resource (a resource has a handful)
    MEMO = 64
    __slots__ = ("scope", "res", "rptr", "_walked")

    def __init__(self, exp: _Expander, scope: _Scope, res: dict, rptr: str):
        self.scope = scope
        self.res = res
        self.rptr = rptr
        self._walked: dict[PropPath, tuple] | None = None   # made on the first walk remembered

    def __call__(self, path: PropPath) -> Origin:
        # a path written as such in the resource (keys of objects, indexes of arrays): its pointer
        # straight away; anything else (an expression on the way, a copy loop, a key in another
        # case, a path the source does not have) by the general walk
        node, ptr = self.res, self.rptr
        for key in path:
            kind = type(node)
            if kind is dict and type(key) is str and key in node:
                node = node[key]
                ptr = f"{ptr}/{key}" if "~" not in key and "/" not in key else f"{ptr}/{_esc(key)}"
            elif kind is list and type(key) is int and 0 <= key < len(node):
                node, ptr = node[key], f"{ptr}/{key}"
            else:
                break
        else:
            src = self.scope.src
            return _lazy_origin(src.file, ptr, src.linemap)   # (`src.origin(ptr)`, two calls less)
        return self.walked(path)

    def walked(self, path: PropPath) -> Origin:
        """`self(path)` by the general walk (the parent's walk remembered)."""
        _, ptr, src, *_ = self._walk(self._parent(path[:-1]), path[-1:])
        return src.origin(ptr)

    def each(self, path: PropPath, count: int) -> list[Origin]:
        """`self(path + (i,))` for each i in range(count): an array written as such in the source
        (the rules of an NSG) gives its elements' origins straight from the one walk to it."""
        node, ptr, src, _, skip_index, _, stopped = self._parent(path)
        if stopped or skip_index or type(node) is not list:
            return [self(path + (i,)) for i in range(count)]
        file, lines, n, lazy = src.file, src.linemap, len(node), Origin.lazy   # src.origin's Origins, made here
        return [lazy(file, f"{ptr}/{i}", lines) if i < n else self(path + (i,)) for i in range(count)]

    def _parent(self, head: PropPath) -> tuple:
        walked = self._walked
        if walked is None:
            walked = self._walked = {}
        state = walked.get(head)
        if state is None:
            state = self._walk((self.res, self.rptr, self.scope.src, self.scope, False, 0, False), head)
            if len(walked) < self.MEMO:
                walked[head] = state
        return state

    @staticmethod
    def _walk(state: tuple, path: PropPath) -> tuple:
        """Follow `path` from a walk state (node, pointer, source, scope, skip_index, hops,
        stopped); the walk stops where the source no longer has the path."""
        node, ptr, src, scope, skip_index, hops, stopped = state
        if stopped:
            return state
        for key in path:
            if isinstance(node, str) and hops < 8:
                m = _SIMPLE_REF.match(node)
                if m is None:
                    break
                hops += 1
                if m.group(1).lower() == "variables":
                    hit = scope.var_source(m.group(2))
                    if hit is None:
                        break
                    node, ptr, skip_index = hit
                    src = scope.src
                else:
                    phit = scope.param_source(m.group(2))
                    if phit is None:
                        break
                    node, src, ptr, scope = phit
            if skip_index and isinstance(key, int):
                skip_index = False
                continue
            skip_index = False
            if isinstance(node, dict):
                if isinstance(key, str) and key in node:
                    node, ptr = node[key], f"{ptr}/{_esc(key)}"
                    continue
                ckey = _key(node, "copy")
                copies = node.get(ckey) if ckey is not None else None
                if isinstance(key, str) and _is_property_copy(copies):
                    j = next((i for i, s in enumerate(copies) if _kw(s, "name") == key), None)
                    if j is not None:
                        node, skip_index = _kw(copies[j], "input"), True
                        ptr = f"{ptr}/{_esc(ckey)}/{j}/{_at(copies[j], 'input')}"
                        continue
                low = str(key).lower()
                hit = next((k for k in node if k.lower() == low), None)
                if hit is None:
                    break
                node, ptr = node[hit], f"{ptr}/{_esc(hit)}"
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node, ptr = node[key], f"{ptr}/{key}"
            else:
                break
        else:
            return node, ptr, src, scope, skip_index, hops, False
        return node, ptr, src, scope, skip_index, hops, True


# --------------------------------------------------------------------------- entry points
def _read_parameters(files: Iterable[str | Path], exp: _Expander) -> dict[str, _Supplied]:
    supplied: dict[str, _Supplied] = {}
    for f in files:
        doc, linemap = _load_json(f)
        psrc = _Src(str(f), linemap)
        params = _kw(doc, "parameters")
        if not isinstance(params, dict):
            raise LoaderError("not an ARM parameters file: expected an object with 'parameters'",
                              str(f), "/parameters" if isinstance(doc, dict) else "", 1)
        for name, entry in params.items():
            ptr = f"/{_at(doc, 'parameters')}/{_esc(name)}"
            if _key(entry, "reference") is not None:
                s = _Supplied(Unknown(f"parameter {name!r} is a Key Vault reference, read at deployment time",
                                      psrc.origin(ptr), ""), psrc, f"{ptr}/{_at(entry, 'reference')}")
                s.node = _kw(entry, "reference")
            elif _key(entry, "value") is not None:
                s = _Supplied(_kw(entry, "value"), psrc, f"{ptr}/{_at(entry, 'value')}")
                s.node = _kw(entry, "value")
            else:
                raise LoaderError(f"parameter {name!r} needs 'value' or 'reference'", str(f), ptr,
                                  _line(linemap, ptr))
            supplied[name.lower()] = s
            s.name = name
    return supplied


PARAMETERS_SUFFIX = ".parameters.json"


def parameters_candidates(template_file: str | Path) -> list[Path]:
    """Parameters files beside `<name>.json`: `<name>.parameters.json` and `<name>.<anything>.parameters.json`
    (e.g. the `.derived.parameters.json` of Azure Verified Modules), sorted by name."""
    p = Path(template_file)
    low = p.name.lower()
    if not low.endswith(".json") or low.endswith(PARAMETERS_SUFFIX):
        return []
    stem = p.name[:-5].lower()
    try:
        beside = list(p.parent.iterdir())
    except OSError:
        return []
    out = []
    for f in beside:
        n = f.name.lower()
        if n.endswith(PARAMETERS_SUFFIX) and (n == stem + PARAMETERS_SUFFIX or n.startswith(stem + ".")) \
                and f.is_file():
            out.append(f)
    return sorted(out, key=lambda f: f.name)


def companion_template(parameters_file: str | Path) -> Path | None:
    """The template `<name>.json` a `<name>[.<anything>].parameters.json` belongs to, when it is beside it
    (the longest such name)."""
    p = Path(parameters_file)
    if not p.name.lower().endswith(PARAMETERS_SUFFIX):
        return None
    parts = p.name[: -len(PARAMETERS_SUFFIX)].split(".")
    for i in range(len(parts), 0, -1):
        cand = p.with_name(".".join(parts[:i]) + ".json")
        if cand.is_file() and cand != p:
            return cand
    return None


def _several(files: list[Path]) -> str:
    return ", ".join(f.name for f in files)


def expand_template(doc: Any, file: str, linemap: Any = None, parameters_files: Iterable[str | Path] = (),
                    overrides: Overrides | Mapping[str, Any] | None = None) -> ArmExpansion:
    """Expand an ARM template document into RawResources (see module docstring)."""
    ov = Overrides.of(overrides)
    exp = _Expander(file, linemap, ov)
    if not isinstance(doc, dict):
        raise LoaderError("an ARM template must be a JSON object", file, "", 1)
    if is_parameters_file(doc):
        tpl = companion_template(file)
        several = parameters_candidates(tpl) if tpl is not None else []
        if tpl is not None and len(several) > 1:
            exp.finding("note", f"ARM parameters file: not used by itself, because its template {tpl.name} has "
                        f"several parameters files beside it ({_several(several)}); give the one meant with "
                        "--parameters", exp.src.origin(""))
        elif tpl is not None:
            exp.finding("note", f"ARM parameters file: used when its template {tpl.name} is loaded",
                        exp.src.origin(""))
        else:
            exp.finding("warning", "ARM parameters file without its template: it defines no resources by "
                        "itself; it needs its template (pass both: the template, and this file with "
                        "--parameters)", exp.src.origin(""))
        return exp.out
    if _key(doc, "resources") is None:
        exp.finding("warning", "skipped: an ARM template without 'resources' defines nothing", exp.src.origin(""))
        return exp.out
    pfiles = list(parameters_files)
    if not pfiles:
        found = parameters_candidates(file)
        if len(found) == 1:
            pfiles = found
            exp.finding("note", f"parameters taken from {found[0].name} beside the template", exp.src.origin(""))
        elif found:
            exp.finding("warning", f"several parameters files beside the template ({_several(found)}): none is "
                        "used, so its parameters keep their defaults or stay unknown; give the one meant with "
                        "--parameters", exp.src.origin(""))
    try:
        return _expand(doc, file, exp, pfiles, ov)
    except RecursionError:
        raise LoaderError("template nested too deeply to expand", file, "", 1) from None
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as e:
        # a shape this loader did not foresee: an input error, never a traceback
        raise LoaderError(f"cannot expand this template ({type(e).__name__}: {e})", file) from None


def _expand(doc: dict, file: str, exp: _Expander, pfiles: list, ov: Overrides) -> ArmExpansion:
    supplied = _read_parameters(pfiles, exp)
    pdefs = _kw(doc, "parameters") if isinstance(_kw(doc, "parameters"), dict) else {}
    declared = {k.lower() for k in pdefs}
    for low, s in supplied.items():
        if low not in declared:
            exp.finding("warning", f"parameters file gives {s.name or low!r}, which the template "
                        "does not declare; ignored", s.src.origin(s.pointer) if s.src else None)
    scope = _Scope(exp, doc, "", exp.src, supplied, ov.subscription_id, ov.resource_group, ov.deployment_name)
    exp.resources(scope, _kw(doc, "resources"), f"/{_at(doc, 'resources')}", scope.ctx(""), None, {}, 0)
    return exp.release()


def expand_file(path: str | Path, parameters_files: Iterable[str | Path] = (),
                overrides: Overrides | Mapping[str, Any] | None = None) -> ArmExpansion:
    """Read and expand one template (or parameters) file."""
    doc, linemap = _load_json(path)
    return expand_template(doc, str(path), linemap, parameters_files, overrides)
