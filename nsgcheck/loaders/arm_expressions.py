"""A safe evaluator for the ARM template expression language (`"[concat(...)]"` strings).

Tokenizer -> parser (small AST of tuples) -> evaluator over plain Python values. Nothing is
executed: only the functions below exist. Values that cannot be known offline (reference(),
list*(), utcNow(), a parameter without a value ...) are `nsgcheck.model.Unknown` and propagate
through every function; syntax and type errors raise `LoaderError` naming the expression and
where it is written.
"""

from __future__ import annotations

import base64 as _b64
import binascii
import json as _json
import re
from dataclasses import dataclass, field
from functools import cmp_to_key
from typing import Any, Callable
from urllib.parse import unquote_to_bytes

from nsgcheck.errors import LimitError, LoaderError, RejectedByAzure
from nsgcheck.model import PLACEHOLDER_SUBSCRIPTION, Origin, Unknown

PLACEHOLDER_RESOURCE_GROUP = "resource-group"


# --------------------------------------------------------------------------- context
@dataclass
class EvalContext:
    """What an expression can see: parameters, variables, loop indexes, deployment scope."""

    #: name (any case) -> value; raise KeyError when not declared
    parameter: Callable[[str], Any] = lambda name: _raise_key(name)
    variable: Callable[[str], Any] = lambda name: _raise_key(name)
    #: loop name (lower case) -> current index; '' holds the index of the *resource* copy loop
    #: (ARM: `copyIndex()` without a name always means the resource loop, even inside a
    #: property loop; property and variable loops are reached by name only)
    copy_indexes: dict[str, int] = field(default_factory=dict)
    subscription_id: str | Unknown = PLACEHOLDER_SUBSCRIPTION
    resource_group: str | Unknown = PLACEHOLDER_RESOURCE_GROUP
    location: str | None = None            # resourceGroup().location; None -> Unknown
    deployment_name: str | None = None     # deployment().name; None -> Unknown
    tenant_id: str | None = None
    #: user-defined functions: 'namespace.name' (lower case) -> (param names, output value)
    functions: dict[str, tuple[list[str], Any]] = field(default_factory=dict)
    #: symbolic mode, used only for resource names and resource ids: a parameter without a
    #: value stands for itself as "{name}" so that the same unknown name gives the same id
    #: (like the placeholder subscription and resource group); never used for other values
    symbolic: bool = False
    parameter_symbol: Callable[[str], Any] = lambda name: None
    variable_symbol: Callable[[str], Any] = lambda name: None
    #: where the expression is written (for Unknown origins and errors)
    file: str = ""
    pointer: str = ""
    line_of: Callable[[str], int | None] = lambda pointer: None

    def origin(self) -> Origin:
        return Origin(self.file, self.pointer, self.line_of(self.pointer))

    def at(self, pointer: str) -> "EvalContext":
        """The same context for an expression written at another pointer."""
        c = object.__new__(EvalContext)
        c.__dict__.update(self.__dict__)
        c.pointer = pointer
        return c

    def as_symbolic(self) -> "EvalContext":
        c = self.at(self.pointer)
        c.symbolic = True
        return c

    def with_loop(self, name: str, index: "int | Unknown", resource: bool = False) -> "EvalContext":
        """The context inside one iteration of copy loop `name`.

        Only a resource loop answers `copyIndex()` without a name; a property or variable loop
        is reached with `copyIndex('name')` (ARM's rule for property and variable iteration).
        """
        c = self.at(self.pointer)
        c.copy_indexes = {**self.copy_indexes, name.lower(): index}
        if resource:
            c.copy_indexes[""] = index
        return c


def _raise_key(name: str) -> Any:
    raise KeyError(name)


class _Fail(Exception):
    """An evaluation error, turned into LoaderError with the expression and location."""


class _Rejected(_Fail):
    """An expression ARM itself refuses (it says so when deploying): a RejectedByAzure error."""


class _Limit(_Fail):
    """A value past nsgcheck's limits (MAX_TEXT, MAX_ITEMS, MAX_SET_OPERANDS): a LimitError."""


# --------------------------------------------------------------------------- tokenizer
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)?(?=\s*\())
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<punct>[()\[\],.])
""", re.VERBOSE)


def tokenize(text: str) -> list[tuple[str, Any, int]]:
    """Tokens (kind, value, position) of an expression body (without the outer brackets)."""
    out: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            if text[pos] == "'":
                raise _Fail(f"unterminated string literal at character {pos + 1}")
            raise _Fail(f"unexpected character {text[pos]!r} at character {pos + 1}")
        kind = m.lastgroup
        val = m.group()
        if kind == "str":
            out.append(("str", val[1:-1].replace("''", "'"), pos))
        elif kind == "num":
            out.append(("num", float(val) if "." in val else int(val), pos))
        elif kind == "ident":
            out.append(("ident", val, pos))
        elif kind == "name":
            out.append(("name", val, pos))
        elif kind == "punct":
            out.append((val, val, pos))
        pos = m.end()
    out.append(("end", None, len(text)))
    return out


# --------------------------------------------------------------------------- parser
# AST nodes: ('lit', value) | ('call', name, [args]) | ('prop', node, name) | ('index', node, node)

class _Parser:
    def __init__(self, tokens: list[tuple[str, Any, int]]):
        self.toks = tokens
        self.i = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.toks[self.i]

    def take(self, kind: str) -> tuple[str, Any, int]:
        tok = self.toks[self.i]
        if tok[0] != kind:
            want = "end of expression" if kind == "end" else repr(kind)
            got = "end of expression" if tok[0] == "end" else repr(tok[1])
            raise _Fail(f"expected {want} at character {tok[2] + 1}, found {got}")
        self.i += 1
        return tok

    def expr(self) -> tuple:
        kind, val, pos = self.peek()
        if kind == "str":
            self.i += 1
            node: tuple = ("lit", val)
        elif kind == "num":
            self.i += 1
            node = ("lit", val)
        elif kind == "ident":
            self.i += 1
            self.take("(")
            args: list[tuple] = []
            if self.peek()[0] != ")":
                args.append(self.expr())
                while self.peek()[0] == ",":
                    self.i += 1
                    args.append(self.expr())
            self.take(")")
            node = ("call", val, args, pos)
        elif kind == "name" and val.lower() in ("true", "false", "null"):
            self.i += 1
            node = ("lit", {"true": True, "false": False, "null": None}[val.lower()])
        elif kind == "end":
            raise _Fail("expression ends where a value was expected")
        else:
            raise _Fail(f"unexpected {val!r} at character {pos + 1}")
        while True:
            kind = self.peek()[0]
            if kind == ".":
                self.i += 1
                tok = self.peek()
                if tok[0] not in ("name", "ident"):
                    raise _Fail(f"expected a property name after '.' at character {tok[2] + 1}")
                self.i += 1
                node = ("prop", node, tok[1])
            elif kind == "[":
                self.i += 1
                idx = self.expr()
                self.take("]")
                node = ("index", node, idx)
            else:
                return node


#: a call whose arguments are all plain string literals, written without other spaces than one
#: after a comma: `resourceId('Microsoft.Network/networkInterfaces', 'nic-1')`, which large
#: templates write once per resource with a different name. Parsed here without the tokenizer,
#: to the node `_parse_tokens` gives (literals with '' escapes, and every other form, go there).
_FLAT_CALL = re.compile(r"([A-Za-z_$][A-Za-z0-9_$]*)\('([^']*)'((?:, ?'[^']*')*)\)")
_FLAT_ARG = re.compile(r"'([^']*)'")
#: a whole template string `[resourceId('a', 'b'...)]` (the name in any ASCII case, as `_call`
#: reads it), in the form `_FLAT_CALL` reads
_FLAT_RESOURCE_ID = re.compile(r"\[resourceId\('([^']*)'((?:, ?'[^']*')*)\)\]", re.IGNORECASE | re.ASCII)
#: the commonest of those forms, one type of one segment and one name in the template's own scope
#: (`[resourceId('Microsoft.Network/networkInterfaces', 'nic-1')]`): namespace, type, name
_ONE_RESOURCE_ID = re.compile(r"\[resourceId\('([^'/]*\.[^'/]*)/([^'/]+)', ?'([^'/]*)'\)\]", re.IGNORECASE | re.ASCII)


def parse(body: str) -> tuple:
    """Parse an expression body (text between the outer '[' and ']')."""
    m = _FLAT_CALL.fullmatch(body)
    if m is not None:
        name, first, rest = m.groups()
        return ("call", name, [("lit", first)] + [("lit", a) for a in _FLAT_ARG.findall(rest)], 0)
    return _parse_tokens(body)


def _parse_tokens(body: str) -> tuple:
    """`parse` by the tokenizer and parser (every form of expression)."""
    p = _Parser(tokenize(body))
    node = p.expr()
    p.take("end")
    return node


def is_expression(text: str) -> bool:
    """An ARM string is an expression when it starts with '[' (not '[[') and ends with ']'."""
    return len(text) >= 2 and text[0] == "[" and text[-1] == "]" and text[1] != "["


def literal_of(text: str) -> str:
    """The literal value of a non-expression string ('[[' escapes a leading bracket)."""
    if text.startswith("[[") and text.endswith("]"):
        return text[1:]
    return text


# --------------------------------------------------------------------------- public API
#: limits on a value an expression builds (ARM's own limits are far lower; without these a 2 KB
#: template doubling a string 30 times, or padLeft('a', 1500000000), takes gigabytes)
MAX_TEXT = 10_000_000        # characters in one value, strings counted as often as they appear
MAX_ITEMS = 1_000_000        # array elements and object members in one value, likewise
MAX_SET_OPERANDS = 10_000    # elements union()/intersection() compare pairwise
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1   # ARM integers are 64-bit


#: functions whose value follows from their arguments and the deployment scope alone (no
#: parameters, variables, loop index, user function or deployed state)
_PURE = frozenset({"concat", "tolower", "toupper", "resourceid", "subscriptionresourceid"})


def _pure(node: tuple) -> bool:
    """An expression made only of literals and `_PURE` calls: wherever it is written in a scope
    (the same subscription and resource group) it gives the same value."""
    if node[0] == "lit":
        return True
    return node[0] == "call" and node[1].lower() in _PURE and all(_pure(a) for a in node[2])


class Evaluator:
    """Evaluates template strings; caches parsed expressions (templates repeat them a lot), and
    the strings that pure expressions (`_pure`: literals, resourceId(), concat() ...) give per
    subscription and resource group (a large template repeats the same references thousands of times)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple | _Fail] = {}
        #: (expression, subscription, resource group, symbolic) -> the string it gave, for pure ones
        self._pure_values: dict[tuple, str] = {}
        #: resource type -> its '/'-separated segments (see `_literal_resource_id`)
        self._types: dict[str, list[str]] = {}
        #: id -> (the container, characters, items) once measured: values share parts, so each
        #: container is measured once however often it is repeated
        self._sizes: dict[int, tuple[Any, int, int]] = {}

    def measure(self, value: Any) -> tuple[int, int]:
        """(characters, items) of a value as JSON would spell it out (shared parts counted each time)."""
        cls = value.__class__
        if cls is str:
            return len(value), 0
        if cls is not list and cls is not dict:
            return 0, 0
        hit = self._sizes.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1], hit[2]
        chars = items = 0
        parts = value.items() if cls is dict else enumerate(value)
        for k, v in parts:
            c, i = self.measure(v)
            chars += c + (len(k) if cls is dict and isinstance(k, str) else 0)
            items += i + 1
            if chars > MAX_TEXT or items > MAX_ITEMS:
                break    # already too large: the caller refuses it
        self._sizes[id(value)] = (value, chars, items)
        return chars, items

    def bounded(self, value: Any, name: str) -> Any:
        """`value` when within MAX_TEXT / MAX_ITEMS / 64-bit integers, else a limit error."""
        cls = value.__class__
        if cls is int:
            if not INT_MIN <= value <= INT_MAX:
                raise _Fail(f"{name}() gives an integer outside the 64-bit range ARM uses")
            return value
        if cls is str:
            if len(value) > MAX_TEXT:
                raise _Limit(f"{name}() builds a string of {len(value):,} characters; nsgcheck's limit is "
                            f"{MAX_TEXT:,}")
            return value
        if cls is list or cls is dict:
            chars, items = self.measure(value)
            if chars > MAX_TEXT or items > MAX_ITEMS:
                raise _Limit(f"{name}() builds a value of more than {MAX_ITEMS:,} elements or {MAX_TEXT:,} "
                            f"characters (nsgcheck's limit)")
        return value

    def parsed(self, body: str) -> tuple:
        hit = self._cache.get(body)
        if hit is None:
            try:
                hit = parse(body)
            except _Fail as e:
                hit = e
            self._cache[body] = hit
        if isinstance(hit, _Fail):
            raise hit
        return hit

    def known(self, text: str, ctx: EvalContext) -> str | None:
        """The string `string(text, ctx)` gives, when it is found without a pointer or the general
        evaluator (`ctx` at any pointer): a pure expression worked out before (see `_pure`), or
        `[resourceId('T', 'n', ...)]` of literal arguments in a known scope (a template refers
        to each of thousands of resources once this way); else None (evaluate it with `string`)."""
        key = (text, ctx.subscription_id, ctx.resource_group, ctx.symbolic)
        known = self._pure_values.get(key)
        if known is not None:
            return known
        m = _ONE_RESOURCE_ID.fullmatch(text)
        if m is not None:   # (what `_literal_resource_id` gives for it, without splitting the arguments)
            sub, rg = ctx.subscription_id, ctx.resource_group
            if type(sub) is str and type(rg) is str:
                namespace, rtype, name = m.groups()
                value = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{rtype}/{name}"
                if len(value) <= MAX_TEXT:
                    self._pure_values[key] = value
                    return value
        m = _FLAT_RESOURCE_ID.fullmatch(text)
        if m is None:
            return None
        value = self._literal_resource_id([m[1], *_FLAT_ARG.findall(m[2])], ctx.subscription_id, ctx.resource_group)
        if value is not None:
            self._pure_values[key] = value
        return value

    def _literal_resource_id(self, a: list[str], sub: Any, rg: Any) -> str | None:
        """What `_f_resourceid` gives for string arguments `a` in scope `sub`, `rg`, when it gives
        a string at once; None when it would refuse them or pass an unknown scope on (the general
        evaluator then says why, and where)."""
        if len(a) < 2:
            return None
        ti = 0 if _is_type(a[0]) else 1 if _is_type(a[1]) else 2 if len(a) > 2 and _is_type(a[2]) else -1
        if ti < 0:
            return None   # no type among the first three arguments
        if ti == 1:
            rg = a[0]
        elif ti == 2:
            sub, rg = a[0], a[1]
        if type(sub) is not str or type(rg) is not str:
            return None
        rtype, names = a[ti], a[ti + 1:]
        split = self._types.get(rtype)
        if split is None:
            split = self._types[rtype] = [p for p in rtype.split("/") if p]
        if len(split) == 2 and len(names) == 1 and "/" not in names[0]:
            tail = f"providers/{split[0]}/{split[1]}/{names[0]}"   # `_id_tail` of one type and one name
        else:
            try:
                tail = _id_tail(rtype, names)
            except _Fail:
                return None
        value = f"/subscriptions/{sub}/resourceGroups/{rg}/{tail}"
        return value if len(value) <= MAX_TEXT else None

    def string(self, text: str, ctx: EvalContext) -> Any:
        """Evaluate one JSON string value of a template."""
        if not is_expression(text):
            return literal_of(text)
        key = (text, ctx.subscription_id, ctx.resource_group, ctx.symbolic)
        known = self._pure_values.get(key)
        if known is not None:
            return known
        try:
            node = self.parsed(text[1:-1])
            value = _Eval(self, ctx, text).run(node)
            if type(value) is str and _pure(node):
                self._pure_values[key] = value
            return value
        except _Limit as e:
            o = ctx.origin()
            raise LimitError(f"ARM expression {_clip(text)}: {e}", file=o.file or None,
                             pointer=o.pointer or None, line=o.line) from None
        except _Fail as e:
            o = ctx.origin()
            cls = RejectedByAzure if isinstance(e, _Rejected) else LoaderError
            raise cls(f"ARM expression {text!r}: {e}", file=o.file or None,
                      pointer=o.pointer or None, line=o.line) from None
        except RecursionError:
            o = ctx.origin()
            raise LoaderError(f"ARM expression {text!r} is nested too deeply", file=o.file or None,
                              pointer=o.pointer or None, line=o.line) from None


def _clip(text: str) -> str:
    return repr(text) if len(text) <= 200 else repr(text[:197] + "...")


def evaluate(text: str, ctx: EvalContext | None = None) -> Any:
    """Evaluate one template string in a context (convenience for callers and tests)."""
    return Evaluator().string(text, ctx or EvalContext())


# --------------------------------------------------------------------------- helpers
def contains_unknown(v: Any) -> Unknown | None:
    """The first Unknown found anywhere inside a value, else None."""
    if isinstance(v, Unknown):
        return v
    if isinstance(v, dict):
        for x in v.values():
            u = contains_unknown(x)
            if u is not None:
                return u
    elif isinstance(v, list):
        for x in v:
            u = contains_unknown(x)
            if u is not None:
                return u
    return None


def _tname(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _to_text(v: Any) -> str:
    """ARM string(): strings as is, JSON for arrays and objects, .NET spelling for bools."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "True" if v else "False"
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return _json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _get_prop(obj: dict, name: str) -> tuple[bool, Any]:
    """Case-insensitive property lookup (ARM object properties ignore case)."""
    if name in obj:
        return True, obj[name]
    low = name.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == low:
            return True, v
    return False, None


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        if len(a) != len(b):
            return False
        for k, v in a.items():
            found, w = _get_prop(b, k)
            if not found or not _eq(v, w):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    return a == b


def _deep_union(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        found = next((key for key in out if isinstance(key, str) and key.lower() == k.lower()), None)
        if found is not None and isinstance(out[found], dict) and isinstance(v, dict):
            out[found] = _deep_union(out[found], v)
        else:
            if found is not None:
                del out[found]
            out[k] = v
    return out


_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of a template string; a lone surrogate (JSON allows `\\udfff`) is kept, not a crash."""
    return text.encode("utf-8", "surrogatepass")


def unique_string(*parts: str) -> str:
    """Deterministic 13-character lower-case id (the shape of ARM's uniqueString)."""
    import hashlib   # (here and in guid: few templates call them, every run would import them)

    h = int.from_bytes(hashlib.sha256(_utf8("|".join(parts))).digest()[:8], "big")
    out = []
    for _ in range(13):
        out.append(_B32[h & 31])
        h >>= 5
    return "".join(out)


def _dotnet_format(fmt: str, args: list[Any]) -> str:
    """.NET composite formatting as ARM format() uses: {0}, {1:N0}, {{ and }}."""
    out: list[str] = []
    i = total = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "{":
            if fmt.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            j = fmt.find("}", i)
            if j < 0:
                raise _Fail(f"format string {fmt!r}: unclosed '{{'")
            spec = fmt[i + 1:j]
            idx_txt, _, fspec = spec.partition(":")
            idx_txt = idx_txt.split(",")[0].strip()
            if not idx_txt.isdigit() or int(idx_txt) >= len(args):
                raise _Fail(f"format string {fmt!r}: no argument for {{{spec}}}")
            val = args[int(idx_txt)]
            if fspec and isinstance(val, int) and not isinstance(val, bool):
                m = re.fullmatch(r"([DdXxNn])(\d*)", fspec)
                if m is None:
                    raise _Fail(f"format string {fmt!r}: unsupported format {fspec!r}")
                kind, width = m.group(1), int(m.group(2) or 0)
                _room("format", chars=width)
                if kind in "Dd":
                    out.append(f"{val:0{width}d}" if val >= 0 else f"-{-val:0{width}d}")
                elif kind in "Xx":
                    out.append(format(val, f"0{width}{'x' if kind == 'x' else 'X'}"))
                else:
                    out.append(f"{val:,.{width}f}")
            else:
                out.append(_to_text(val))
            total += len(out[-1])
            _room("format", chars=total)
            i = j + 1
        elif c == "}":
            if fmt.startswith("}}", i):
                i += 2
                out.append("}")
                continue
            raise _Fail(f"format string {fmt!r}: unmatched '}}'")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _split_type(rtype: str) -> tuple[str, list[str]]:
    parts = [p for p in rtype.split("/") if p]
    if len(parts) < 2:
        raise _Fail(f"resource type {rtype!r} must be 'Namespace/type'")
    return parts[0], parts[1:]


def _id_tail(rtype: str, names: list[str]) -> str:
    ns, types = _split_type(rtype)
    flat: list[str] = []
    for n in names:
        flat += [p for p in n.split("/")]
    if len(flat) != len(types):
        raise _Rejected(f"resource type {rtype!r} needs {len(types)} name segment(s), got {len(flat)} "
                        f"({', '.join(map(repr, flat))}); Azure refuses this (\"the type requires {len(types)} "
                        f"resource name argument(s)\"): give one name per type segment, e.g. built with concat()")
    return f"providers/{ns}/" + "/".join(f"{t}/{n}" for t, n in zip(types, flat))


# --------------------------------------------------------------------------- evaluator
_DEPLOYMENT_TIME = {
    "reference": "reference() reads a deployed resource: known only at deployment time",
    "newguid": "newGuid() is random at deployment time",
    "utcnow": "utcNow() is the deployment time",
    "environment": "environment() depends on the cloud the template is deployed to",
    "managementgroup": "managementGroup() depends on the deployment target",
    "tenant": "tenant() depends on the deployment target",
    "pickzones": "pickZones() depends on the region's availability zones",
    "providers": "providers() reads the resource provider registry at deployment time",
    "listkeys": "listKeys() reads secrets at deployment time",
    "getsecret": "getSecret() reads Key Vault at deployment time",
    "deployer": "deployer() is the identity that deploys the template",
    "externalinput": "externalInput() is read by the deployment tooling",
    "datetimeadd": "date arithmetic is not evaluated by nsgcheck (never network configuration)",
    "datetimefromepoch": "date conversion is not evaluated by nsgcheck (never network configuration)",
    "datetimetoepoch": "date conversion is not evaluated by nsgcheck (never network configuration)",
}


class _Eval:
    """Evaluates one parsed expression; `text` is the whole template string (for Unknowns)."""

    def __init__(self, ev: Evaluator, ctx: EvalContext, text: str):
        self.ev = ev
        self.ctx = ctx
        self.text = text
        #: lambda variables in scope (lower-case name -> value)
        self.locals: dict[str, Any] = {}

    def apply(self, fn: Any, name: str, *args: Any) -> Any:
        """Call a lambda given to `name`() with `args` (a lambda may declare fewer: e.g. no index)."""
        if not isinstance(fn, _Lambda):
            raise _Fail(f"{name}(): expected a lambda(...) argument, got {_tname(fn)}")
        if not 1 <= len(fn.names) <= len(args):
            raise _Fail(f"{name}(): the lambda takes {len(fn.names)} variable(s); "
                        f"{name}() gives at most {len(args)}")
        saved = self.locals
        self.locals = {**fn.bound, **{n.lower(): v for n, v in zip(fn.names, args)}}
        try:
            return self.run(fn.body)
        finally:
            self.locals = saved

    def unknown(self, reason: str) -> Unknown:
        return Unknown(reason, self.ctx.origin(), self.text)

    def pass_on(self, u: Unknown) -> Unknown:
        """Re-home an Unknown coming from a parameter/variable/argument to this expression."""
        if u.text == self.text and u.origin is not None and u.origin.pointer == self.ctx.pointer:
            return u
        return Unknown(u.reason, self.ctx.origin(), self.text)

    def run(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "prop":
            return self.member(self.run(node[1]), node[2])
        if kind == "index":
            return self.member(self.run(node[1]), self.run(node[2]))
        return self.call(node[1], node[2])

    def member(self, target: Any, key: Any) -> Any:
        if isinstance(target, Unknown):
            return self.pass_on(target)
        if isinstance(key, Unknown):
            return self.pass_on(key)
        if self.ctx.symbolic and ((isinstance(target, str) and SYMBOL_OPEN in target) or _has_symbol(key)):
            # a member of a parameter without a value: a symbol for the member itself
            if (isinstance(target, str) and target.startswith(SYMBOL_OPEN) and target.endswith(SYMBOL_CLOSE)
                    and target.count(SYMBOL_OPEN) == 1 and isinstance(key, (str, int)) and not _has_symbol(key)):
                inner = target[1:-1]
                return symbol(f"{inner}.{key}" if isinstance(key, str) else f"{inner}[{key}]")
            return self.unknown("a member of a value that depends on a parameter without a value")
        if isinstance(target, dict):
            if not isinstance(key, str):
                raise _Fail(f"an object property name must be a string, got {_tname(key)}")
            found, val = _get_prop(target, key)
            if not found:
                raise _Fail(f"the object has no property {key!r} "
                            f"(it has: {', '.join(sorted(map(str, target))) or 'none'})")
            return val
        if isinstance(target, (list, str)):
            if isinstance(key, bool) or not isinstance(key, int):
                raise _Fail(f"an array index must be an integer, got {key!r}")
            if not 0 <= key < len(target):
                raise _Fail(f"index {key} is out of range (length {len(target)})")
            return target[key]
        raise _Fail(f"cannot read {key!r} from a {_tname(target)} value")

    # ---------------------------------------------------------------- calls
    def call(self, name: str, argnodes: list[tuple]) -> Any:
        """A function call's value, refused when it is larger than the limits (see MAX_TEXT)."""
        return self.ev.bounded(self._call(name, argnodes), name)

    def _call(self, name: str, argnodes: list[tuple]) -> Any:
        low = name.lower()
        if "." in low:
            return self.user_function(low, argnodes)
        lazy = _LAZY.get(low)
        if lazy is not None:
            return lazy(self, argnodes)
        if low in _DEPLOYMENT_TIME or low.startswith("list"):
            # arguments are still checked for syntax/type errors by evaluating them
            for a in argnodes:
                self.run(a)
            return self.unknown(_DEPLOYMENT_TIME.get(low, f"{name}() reads data at deployment time"))
        fn = _STRICT.get(low)
        deep = False
        if fn is None:
            fn = _DEEP.get(low)
            deep = True
        if fn is None:
            fn = _LOOSE.get(low)
            if fn is None:
                for a in argnodes:
                    self.run(a)
                return self.unknown(f"the ARM function {name}() is not supported by nsgcheck")
            args = [self.run(a) for a in argnodes]
            return fn(self, args)
        args = [self.run(a) for a in argnodes]
        if self.ctx.symbolic and low not in _SYMBOL_SAFE and any(_has_symbol(a) for a in args):
            return self.unknown(f"{name}() of a name that depends on a parameter without a value")
        for a in args:
            u = contains_unknown(a) if deep else (a if isinstance(a, Unknown) else None)
            if u is not None:
                if low in _ID_FUNCTIONS and not self.ctx.symbolic:
                    return self.symbolic_id(fn, argnodes, u)
                return self.pass_on(u)
        return fn(self, args)

    def symbolic_id(self, fn: Callable[["_Eval", list], Any], argnodes: list[tuple], u: Unknown) -> Any:
        """A resource id whose names are unknown parameters: the same names give the same id."""
        sym = _Eval(self.ev, self.ctx.as_symbolic(), self.text)
        try:
            args = [sym.run(a) for a in argnodes]
            if any(isinstance(a, Unknown) for a in args):
                return self.pass_on(u)
            return render_symbols(fn(sym, args))
        except (_Fail, LoaderError):
            return self.pass_on(u)

    def user_function(self, low: str, argnodes: list[tuple]) -> Any:
        spec = self.ctx.functions.get(low)
        if spec is None:
            raise _Fail(f"unknown user-defined function {low!r}")
        names, output = spec
        if len(names) != len(argnodes):
            raise _Fail(f"{low}() takes {len(names)} argument(s), got {len(argnodes)}")
        values = {n.lower(): self.run(a) for n, a in zip(names, argnodes)}

        def param(n: str) -> Any:
            return values[n.lower()]

        inner = self.ctx.at(self.ctx.pointer)
        inner.parameter = param
        inner.variable = lambda n: _raise_fail(f"variables() cannot be used in a user-defined function")
        return _evaluate_value(self.ev, output, inner)


def _raise_fail(msg: str) -> Any:
    raise _Fail(msg)


def _evaluate_value(ev: Evaluator, value: Any, ctx: EvalContext) -> Any:
    """Evaluate every string inside a JSON value (used for user-defined function outputs)."""
    if isinstance(value, str):
        if not is_expression(value):
            return literal_of(value)
        return _Eval(ev, ctx, value).run(ev.parsed(value[1:-1]))
    if isinstance(value, list):
        return [_evaluate_value(ev, v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _evaluate_value(ev, v, ctx) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- function tables
def _nargs(name: str, args: list, lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= (hi if hi >= 0 else 10 ** 9):
        want = f"{lo}" if lo == hi else (f"at least {lo}" if hi < 0 else f"{lo} to {hi}")
        raise _Fail(f"{name}() takes {want} argument(s), got {len(args)}")


def _want(name: str, v: Any, *types: type) -> Any:
    if isinstance(v, bool) and bool not in types:
        raise _Fail(f"{name}(): expected {'/'.join(t.__name__ for t in types)}, got bool {v!r}")
    if not isinstance(v, types):
        raise _Fail(f"{name}(): expected {'/'.join(_PY2ARM.get(t, t.__name__) for t in types)}, "
                    f"got {_tname(v)} {_short(v)}")
    return v


_PY2ARM = {str: "string", int: "int", list: "array", dict: "object", bool: "bool", float: "number"}


def _short(v: Any) -> str:
    t = repr(v)
    return t if len(t) <= 60 else t[:57] + "..."


def _int(name: str, v: Any) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return _want(name, v, int)


# ---- lazy functions: receive unevaluated argument nodes
def _f_if(e: _Eval, a: list[tuple]) -> Any:
    _nargs("if", a, 3)
    cond = e.run(a[0])
    if isinstance(cond, Unknown):
        return e.pass_on(cond)
    cond = _want("if", cond, bool)
    return e.run(a[1] if cond else a[2])


def _f_and(e: _Eval, a: list[tuple]) -> Any:
    _nargs("and", a, 2, -1)
    unknown = None
    for node in a:
        v = e.run(node)
        if isinstance(v, Unknown):
            unknown = unknown or v
            continue
        if not _want("and", v, bool):
            return False
    return e.pass_on(unknown) if unknown else True


def _f_or(e: _Eval, a: list[tuple]) -> Any:
    _nargs("or", a, 2, -1)
    unknown = None
    for node in a:
        v = e.run(node)
        if isinstance(v, Unknown):
            unknown = unknown or v
            continue
        if _want("or", v, bool):
            return True
    return e.pass_on(unknown) if unknown else False


def _f_coalesce(e: _Eval, a: list[tuple]) -> Any:
    _nargs("coalesce", a, 1, -1)
    for node in a:
        v = e.run(node)
        if isinstance(v, Unknown):
            return e.pass_on(v)
        if v is not None:
            return v
    return None


def _f_parameters(e: _Eval, a: list[tuple]) -> Any:
    _nargs("parameters", a, 1)
    name = e.run(a[0])
    if isinstance(name, Unknown):
        return e.pass_on(name)
    _want("parameters", name, str)
    try:
        v = e.ctx.parameter(name)
    except KeyError:
        raise _Fail(f"parameter {name!r} is not declared in the template") from None
    if e.ctx.symbolic and contains_unknown(v) is not None:
        sym = e.ctx.parameter_symbol(name)
        if sym is not None:
            return sym
    return e.pass_on(v) if isinstance(v, Unknown) else v


def _f_variables(e: _Eval, a: list[tuple]) -> Any:
    _nargs("variables", a, 1)
    name = e.run(a[0])
    if isinstance(name, Unknown):
        return e.pass_on(name)
    _want("variables", name, str)
    try:
        v = e.ctx.variable(name)
        if e.ctx.symbolic and contains_unknown(v) is not None:
            sym = e.ctx.variable_symbol(name)
            if sym is not None:
                return sym
        return e.pass_on(v) if isinstance(v, Unknown) else v
    except KeyError:
        raise _Fail(f"variable {name!r} is not declared in the template") from None


def _f_copyindex(e: _Eval, a: list[tuple]) -> Any:
    _nargs("copyIndex", a, 0, 2)
    args = [e.run(n) for n in a]
    for v in args:
        if isinstance(v, Unknown):
            return e.pass_on(v)
    loop, offset = "", 0
    if len(args) == 2:
        loop, offset = _want("copyIndex", args[0], str), _int("copyIndex", args[1])
    elif len(args) == 1:
        if isinstance(args[0], str):
            loop = args[0]
        else:
            offset = _int("copyIndex", args[0])
    idx = e.ctx.copy_indexes.get(loop.lower())
    if idx is None:
        if loop:
            raise _Fail(f"copyIndex({loop!r}) used outside the copy loop {loop!r}")
        if e.ctx.copy_indexes:
            raise _Fail("copyIndex() without a loop name refers to the resource copy loop, and this "
                        "resource has none; inside a property or variable loop write copyIndex('loopName')")
        raise _Fail("copyIndex() used outside a copy loop")
    if isinstance(idx, Unknown):
        return e.pass_on(idx)
    return idx + offset


_LAZY: dict[str, Callable[[_Eval, list[tuple]], Any]] = {
    "if": _f_if, "and": _f_and, "or": _f_or, "coalesce": _f_coalesce,
    "parameters": _f_parameters, "variables": _f_variables, "copyindex": _f_copyindex,
}


# ---- strict functions: any Unknown argument makes the result Unknown
def _f_concat(e: _Eval, a: list) -> Any:
    if not a:
        return ""
    if all(isinstance(x, list) or x is None for x in a) and any(isinstance(x, list) for x in a):
        _room("concat", items=sum(len(x or []) for x in a))
        out: list = []
        for x in a:
            out += x or []
        return out
    parts = [_to_text(x) for x in a]
    _room("concat", chars=sum(map(len, parts)))
    return "".join(parts)


def _room(name: str, chars: int = 0, items: int = 0) -> None:
    """Refuse before building a value that would pass the limits (MAX_TEXT, MAX_ITEMS)."""
    if chars > MAX_TEXT:
        raise _Limit(f"{name}() would build a string of {chars:,} characters; nsgcheck's limit is {MAX_TEXT:,}")
    if items > MAX_ITEMS:
        raise _Limit(f"{name}() would build {items:,} elements; nsgcheck's limit is {MAX_ITEMS:,}")


def _f_format(e: _Eval, a: list) -> Any:
    _nargs("format", a, 1, -1)
    return _dotnet_format(_want("format", a[0], str), a[1:])


def _names_after(name: str, a: list) -> list[str]:
    """The name segments of a resource id function: strings only, as ARM requires (a number such as
    copyIndex() is refused by Azure: "all function arguments must be string literals")."""
    for x in a:
        if not isinstance(x, str):
            raise _Rejected(f"{name}(): resource name segments must be strings, got {_tname(x)} {_short(x)}; "
                            f"Azure refuses this: build the name as one string, e.g. concat('nic', copyIndex())")
    return a


def _f_resourceid(e: _Eval, a: list) -> str:
    _nargs("resourceId", a, 2, -1)
    ti = next((i for i, x in enumerate(a) if isinstance(x, str) and "/" in x and "." in x.split("/")[0]), None)
    if ti is None or ti > 2:
        raise _Fail(f"resourceId(): no resource type ('Namespace/type') among the arguments {a!r}")
    sub, rg = e.ctx.subscription_id, e.ctx.resource_group
    if ti == 1:
        rg = _want("resourceId", a[0], str)
    elif ti == 2:
        sub, rg = _want("resourceId", a[0], str), _want("resourceId", a[1], str)
    for v in (sub, rg):
        if isinstance(v, Unknown):
            return e.pass_on(v)  # type: ignore[return-value]
    tail = _id_tail(a[ti], _names_after("resourceId", a[ti + 1:]))
    return f"/subscriptions/{sub}/resourceGroups/{rg}/{tail}"


def _is_type(arg: str) -> bool:
    """`resourceId()`'s test for its type argument: 'Namespace.With.Dots/type...'."""
    i = arg.find("/")
    return i >= 0 and "." in arg[:i]


def _f_subscriptionresourceid(e: _Eval, a: list) -> str:
    _nargs("subscriptionResourceId", a, 2, -1)
    sub = e.ctx.subscription_id
    if "/" not in _want("subscriptionResourceId", a[0], str):
        sub, a = a[0], a[1:]
    if isinstance(sub, Unknown):
        return e.pass_on(sub)  # type: ignore[return-value]
    tail = _id_tail(_want("subscriptionResourceId", a[0], str), _names_after("subscriptionResourceId", a[1:]))
    return f"/subscriptions/{sub}/{tail}"


def _f_tenantresourceid(e: _Eval, a: list) -> str:
    _nargs("tenantResourceId", a, 2, -1)
    return "/" + _id_tail(_want("tenantResourceId", a[0], str), _names_after("tenantResourceId", a[1:]))


def _f_extensionresourceid(e: _Eval, a: list) -> str:
    _nargs("extensionResourceId", a, 3, -1)
    base = _want("extensionResourceId", a[0], str).rstrip("/")
    tail = _id_tail(_want("extensionResourceId", a[1], str), _names_after("extensionResourceId", a[2:]))
    return f"{base}/{tail}"


def _f_resourcegroup(e: _Eval, a: list) -> dict:
    _nargs("resourceGroup", a, 0)
    c = e.ctx
    for v in (c.subscription_id, c.resource_group):
        if isinstance(v, Unknown):
            return e.pass_on(v)  # type: ignore[return-value]
    loc = c.location if c.location is not None else Unknown(
        "the resource group's location is not in the template (give --location)", c.origin(), e.text)
    return {"id": f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}",
            "name": c.resource_group, "type": "Microsoft.Resources/resourceGroups",
            "location": loc, "managedBy": None,
            "tags": Unknown("the resource group's tags are not in the template", c.origin(), e.text),
            "properties": {"provisioningState": "Succeeded"}}


def _f_subscription(e: _Eval, a: list) -> dict:
    _nargs("subscription", a, 0)
    c = e.ctx
    if isinstance(c.subscription_id, Unknown):
        return e.pass_on(c.subscription_id)  # type: ignore[return-value]
    tenant = c.tenant_id if c.tenant_id is not None else Unknown(
        "the tenant id is not in the template", c.origin(), e.text)
    return {"id": f"/subscriptions/{c.subscription_id}", "subscriptionId": c.subscription_id,
            "tenantId": tenant,
            "displayName": Unknown("the subscription's name is not in the template", c.origin(), e.text)}


def _f_deployment(e: _Eval, a: list) -> dict:
    _nargs("deployment", a, 0)
    c = e.ctx
    name = c.deployment_name if c.deployment_name is not None else Unknown(
        "the deployment name is chosen at deployment time", c.origin(), e.text)
    return {"name": name,
            "properties": Unknown("deployment() properties are known only at deployment time",
                                  c.origin(), e.text),
            "location": Unknown("the deployment location is chosen at deployment time", c.origin(), e.text)}


def _f_tolower(e: _Eval, a: list) -> str:
    _nargs("toLower", a, 1)
    return _want("toLower", a[0], str).lower()


def _f_toupper(e: _Eval, a: list) -> str:
    _nargs("toUpper", a, 1)
    return _want("toUpper", a[0], str).upper()


def _f_replace(e: _Eval, a: list) -> str:
    _nargs("replace", a, 3)
    s, old, new = _want("replace", a[0], str), _want("replace", a[1], str), _want("replace", a[2], str)
    if len(new) > len(old):
        hits = s.count(old) if old else len(s) + 1
        _room("replace", chars=len(s) + hits * (len(new) - len(old)))
    return s.replace(old, new)


def _f_split(e: _Eval, a: list) -> list:
    _nargs("split", a, 2)
    s = _want("split", a[0], str)
    d = a[1]
    delims = [_want("split", x, str) for x in d] if isinstance(d, list) else [_want("split", d, str)]
    if not delims or any(x == "" for x in delims):
        raise _Fail("split(): empty delimiter")
    _room("split", items=1 + sum(s.count(x) for x in delims))
    return re.split("|".join(re.escape(x) for x in delims), s)


def _f_int(e: _Eval, a: list) -> int:
    _nargs("int", a, 1)
    v = a[0]
    if isinstance(v, bool):
        raise _Fail("int(): expected a string or integer, got bool")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d{1,30}\s*", v):
        return int(v)
    raise _Fail(f"int(): cannot convert {_short(v)} to an integer")


def _f_bool(e: _Eval, a: list) -> bool:
    _nargs("bool", a, 1)
    v = a[0]
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if isinstance(v, str) and v in ("0", "1"):
        return v == "1"
    raise _Fail(f"bool(): cannot convert {_short(v)} to a boolean")


def _f_float(e: _Eval, a: list) -> float:
    _nargs("float", a, 1)
    try:
        return float(a[0])
    except (TypeError, ValueError):
        raise _Fail(f"float(): cannot convert {_short(a[0])}") from None


def _arith(name: str, op: Callable[[int, int], int]) -> Callable[[_Eval, list], int]:
    def f(e: _Eval, a: list) -> int:
        _nargs(name, a, 2)
        return op(_int(name, a[0]), _int(name, a[1]))
    return f


def _div(x: int, y: int) -> int:
    if y == 0:
        raise _Fail("div(): division by zero")
    q = abs(x) // abs(y)
    return q if (x >= 0) == (y >= 0) else -q


def _mod(x: int, y: int) -> int:
    if y == 0:
        raise _Fail("mod(): division by zero")
    r = abs(x) % abs(y)
    return r if x >= 0 else -r


def _f_length(e: _Eval, a: list) -> int:
    _nargs("length", a, 1)
    return len(_want("length", a[0], str, list, dict))


def _f_empty(e: _Eval, a: list) -> bool:
    _nargs("empty", a, 1)
    v = a[0]
    if v is None:
        return True
    return len(_want("empty", v, str, list, dict)) == 0


def _f_not(e: _Eval, a: list) -> bool:
    _nargs("not", a, 1)
    return not _want("not", a[0], bool)


def _cmp(name: str, op: Callable[[Any, Any], bool]) -> Callable[[_Eval, list], bool]:
    def f(e: _Eval, a: list) -> bool:
        _nargs(name, a, 2)
        x, y = a
        if isinstance(x, str) and isinstance(y, str):
            return op(x, y)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) \
                and not isinstance(x, bool) and not isinstance(y, bool):
            return op(x, y)
        raise _Fail(f"{name}(): cannot compare {_tname(x)} with {_tname(y)}")
    return f


def _f_createobject(e: _Eval, a: list) -> dict:
    if len(a) % 2:
        raise _Fail("createObject() needs key/value pairs (an even number of arguments)")
    out: dict = {}
    for i in range(0, len(a), 2):
        k = a[i]
        if isinstance(k, Unknown):
            return e.pass_on(k)  # type: ignore[return-value]
        out[_want("createObject", k, str)] = a[i + 1]
    return out


def _f_createarray(e: _Eval, a: list) -> list:
    return list(a)


def _f_array(e: _Eval, a: list) -> Any:
    _nargs("array", a, 1)
    return a[0] if isinstance(a[0], list) else [a[0]]


def _f_union(e: _Eval, a: list) -> Any:
    _nargs("union", a, 1, -1)
    for x in a:
        if isinstance(x, Unknown):
            return e.pass_on(x)
    if all(isinstance(x, dict) or x is None for x in a):
        out: dict = {}
        for x in a:
            out = _deep_union(out, x or {})
        return out
    if all(isinstance(x, list) or x is None for x in a):
        _pairwise_room("union", a)
        res: list = []
        for x in a:
            for item in x or []:
                u = contains_unknown(item)
                if u is not None:
                    # whether it duplicates another element is not known
                    if any(not isinstance(r, Unknown) and _eq(r, item) for r in res):
                        continue
                    res.append(item)
                elif not any(contains_unknown(r) is None and _eq(r, item) for r in res):
                    res.append(item)
        return res
    raise _Fail("union(): arguments must be all arrays or all objects")


def _pairwise_room(name: str, arrays: list) -> None:
    """union()/intersection() compare elements pairwise: refuse arrays too large for that."""
    n = sum(len(x or []) for x in arrays)
    if n > MAX_SET_OPERANDS:
        raise _Limit(f"{name}() of {n:,} array elements; nsgcheck compares at most {MAX_SET_OPERANDS:,}")


def _f_intersection(e: _Eval, a: list) -> Any:
    _nargs("intersection", a, 2, -1)
    u = contains_unknown(a)
    if u is not None:
        return e.pass_on(u)
    if all(isinstance(x, dict) for x in a):
        return {k: v for k, v in a[0].items()
                if all(_get_prop(o, k)[0] and _eq(_get_prop(o, k)[1], v) for o in a[1:])}
    if all(isinstance(x, list) for x in a):
        _pairwise_room("intersection", a)
        res: list = []
        for item in a[0]:
            if all(any(_eq(item, y) for y in o) for o in a[1:]) and not any(_eq(item, r) for r in res):
                res.append(item)
        return res
    raise _Fail("intersection(): arguments must be all arrays or all objects")


def _f_contains(e: _Eval, a: list) -> Any:
    _nargs("contains", a, 2)
    c, item = a
    if isinstance(c, Unknown):
        return e.pass_on(c)   # a container not known (e.g. a parameter without a value): doubt, not an error
    if contains_unknown(item) is not None:
        return e.pass_on(contains_unknown(item))  # type: ignore[arg-type]
    if isinstance(c, str):
        return _to_text(item) in c
    if isinstance(c, dict):
        return _get_prop(c, _want("contains", item, str))[0]
    if isinstance(c, list):
        unknown = None
        for x in c:
            u = contains_unknown(x)
            if u is None:
                if _eq(x, item):
                    return True
            else:
                unknown = unknown or u
        return e.pass_on(unknown) if unknown else False
    raise _Fail(f"contains(): expected a string, array or object, got {_tname(c)}")


def _f_first(e: _Eval, a: list) -> Any:
    _nargs("first", a, 1)
    v = _want("first", a[0], str, list)
    return v[0] if v else ("" if isinstance(v, str) else None)


def _f_last(e: _Eval, a: list) -> Any:
    _nargs("last", a, 1)
    v = _want("last", a[0], str, list)
    return v[-1] if v else ("" if isinstance(v, str) else None)


def _f_take(e: _Eval, a: list) -> Any:
    _nargs("take", a, 2)
    v = _want("take", a[0], str, list)
    n = max(0, _int("take", a[1]))
    return v[:n]


def _f_skip(e: _Eval, a: list) -> Any:
    _nargs("skip", a, 2)
    v = _want("skip", a[0], str, list)
    n = max(0, _int("skip", a[1]))
    return v[n:]


def _f_range(e: _Eval, a: list) -> list:
    _nargs("range", a, 2)
    start, count = _int("range", a[0]), _int("range", a[1])
    if count < 0 or count > 10000:
        raise _Fail(f"range(): count must be 0..10000, got {count}")
    return list(range(start, start + count))


def _f_indexof(e: _Eval, a: list) -> int:
    _nargs("indexOf", a, 2)
    if isinstance(a[0], list):
        return next((i for i, x in enumerate(a[0]) if _eq(x, a[1])), -1)
    return _want("indexOf", a[0], str).lower().find(_want("indexOf", a[1], str).lower())


def _f_lastindexof(e: _Eval, a: list) -> int:
    _nargs("lastIndexOf", a, 2)
    if isinstance(a[0], list):
        return max((i for i, x in enumerate(a[0]) if _eq(x, a[1])), default=-1)
    return _want("lastIndexOf", a[0], str).lower().rfind(_want("lastIndexOf", a[1], str).lower())


def _f_startswith(e: _Eval, a: list) -> bool:
    _nargs("startsWith", a, 2)
    return _want("startsWith", a[0], str).lower().startswith(_want("startsWith", a[1], str).lower())


def _f_endswith(e: _Eval, a: list) -> bool:
    _nargs("endsWith", a, 2)
    return _want("endsWith", a[0], str).lower().endswith(_want("endsWith", a[1], str).lower())


def _f_trim(e: _Eval, a: list) -> str:
    _nargs("trim", a, 1)
    return _want("trim", a[0], str).strip()


def _f_padleft(e: _Eval, a: list) -> str:
    _nargs("padLeft", a, 2, 3)
    v = a[0] if isinstance(a[0], str) else _to_text(_want("padLeft", a[0], str, int))
    ch = _want("padLeft", a[2], str) if len(a) == 3 else " "
    if len(ch) != 1:
        raise _Fail("padLeft(): the padding character must be one character")
    width = _int("padLeft", a[1])
    _room("padLeft", chars=width)
    return v.rjust(width, ch)


def _f_substring(e: _Eval, a: list) -> str:
    _nargs("substring", a, 2, 3)
    s = _want("substring", a[0], str)
    start = _int("substring", a[1])
    length = _int("substring", a[2]) if len(a) == 3 else len(s) - start
    if start < 0 or length < 0 or start + length > len(s):
        raise _Fail(f"substring(): start {start} and length {length} do not fit a string of length {len(s)}")
    return s[start:start + length]


def _f_base64(e: _Eval, a: list) -> str:
    _nargs("base64", a, 1)
    return _b64.b64encode(_utf8(_want("base64", a[0], str))).decode()


def _f_base64tostring(e: _Eval, a: list) -> str:
    _nargs("base64ToString", a, 1)
    text = _want("base64ToString", a[0], str)
    try:
        return _b64.b64decode(text).decode()
    except binascii.Error:          # wrong padding
        raise _Fail(f"base64ToString(): not valid base64 text: {_short(text)}") from None
    except UnicodeDecodeError:      # decodes to bytes that are not UTF-8 text
        raise _Fail(f"base64ToString(): {_short(text)} does not decode to UTF-8 text") from None
    except ValueError:              # characters outside ASCII
        raise _Fail(f"base64ToString(): not valid base64 text (characters outside ASCII): {_short(text)}") \
            from None


def _f_base64tojson(e: _Eval, a: list) -> Any:
    return _f_json(e, [_f_base64tostring(e, a)])


def _f_uri(e: _Eval, a: list) -> str:
    """uri(baseUri, relativeUri): resolved as RFC 3986 section 5 says (the ARM reference defers to it)."""
    from urllib.parse import urljoin
    _nargs("uri", a, 2)
    return urljoin(_want("uri", a[0], str), _want("uri", a[1], str))


_DATA_URI_PREFIX = "data:text/plain;charset=utf8;base64,"


def _f_datauri(e: _Eval, a: list) -> str:
    _nargs("dataUri", a, 1)
    return _DATA_URI_PREFIX + _b64.b64encode(_utf8(_want("dataUri", a[0], str))).decode()


def _f_datauritostring(e: _Eval, a: list) -> str:
    _nargs("dataUriToString", a, 1)
    text = _want("dataUriToString", a[0], str)
    head, sep, body = text.partition(",")
    if not head.lower().startswith("data:") or not sep:
        raise _Fail(f"dataUriToString(): not a data URI: {_short(text)}")
    try:
        raw = _b64.b64decode(body, validate=True) if head.lower().endswith(";base64") else \
            unquote_to_bytes(body)
        return raw.decode()
    except ValueError:
        raise _Fail(f"dataUriToString(): the data is not valid: {_short(text)}") from None


def _f_uricomponent(e: _Eval, a: list) -> str:
    from urllib.parse import quote
    _nargs("uriComponent", a, 1)
    return quote(_want("uriComponent", a[0], str), safe="")


def _f_uricomponenttostring(e: _Eval, a: list) -> str:
    from urllib.parse import unquote
    _nargs("uriComponentToString", a, 1)
    return unquote(_want("uriComponentToString", a[0], str))


def _f_uniquestring(e: _Eval, a: list) -> str:
    _nargs("uniqueString", a, 1, -1)
    return unique_string(*[_want("uniqueString", x, str) for x in a])


def _f_guid(e: _Eval, a: list) -> str:
    _nargs("guid", a, 1, -1)
    parts = [_want("guid", x, str) for x in a]
    # uuid5 (SHA-1 of namespace + name) over bytes that keep a lone surrogate
    import hashlib
    import uuid

    digest = hashlib.sha1(uuid.NAMESPACE_URL.bytes + _utf8("nsgcheck-arm-guid:" + "|".join(parts))).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def _f_objectkeys(e: _Eval, a: list) -> list:
    _nargs("objectKeys", a, 1)
    return list(_want("objectKeys", a[0], dict).keys())


def _f_items(e: _Eval, a: list) -> list:
    _nargs("items", a, 1)
    obj = _want("items", a[0], dict)
    return [{"key": k, "value": obj[k]} for k in sorted(obj, key=lambda s: s.lower())]


def _f_min(e: _Eval, a: list) -> int:
    vals = a[0] if len(a) == 1 and isinstance(a[0], list) else a
    if not vals:
        raise _Fail("min(): no values")
    return min(_int("min", v) for v in vals)


def _f_max(e: _Eval, a: list) -> int:
    vals = a[0] if len(a) == 1 and isinstance(a[0], list) else a
    if not vals:
        raise _Fail("max(): no values")
    return max(_int("max", v) for v in vals)


def _f_const(value: Any) -> Callable[[_Eval, list], Any]:
    def f(e: _Eval, a: list) -> Any:
        _nargs("true/false/null", a, 0)
        return value
    return f


def _f_tryget(e: _Eval, a: list) -> Any:
    _nargs("tryGet", a, 2, -1)
    cur = a[0]
    for key in a[1:]:
        if isinstance(cur, Unknown):
            return e.pass_on(cur)
        if isinstance(key, Unknown):
            return e.pass_on(key)
        if cur is None:
            return None
        if isinstance(cur, dict) and isinstance(key, str):
            found, cur = _get_prop(cur, key)
            if not found:
                return None
        elif isinstance(cur, list) and isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(cur):
                return None
            cur = cur[key]
        else:
            raise _Fail(f"tryGet(): cannot read {key!r} from a {_tname(cur)} value")
    return e.pass_on(cur) if isinstance(cur, Unknown) else cur


def _f_shallowmerge(e: _Eval, a: list) -> dict:
    _nargs("shallowMerge", a, 1)
    if isinstance(a[0], Unknown):
        return e.pass_on(a[0])  # type: ignore[return-value]
    out: dict = {}
    for x in _want("shallowMerge", a[0], list):
        if isinstance(x, Unknown):
            return e.pass_on(x)  # type: ignore[return-value]
        out.update(_want("shallowMerge", x, dict))
    return out


SYMBOL_OPEN, SYMBOL_CLOSE = "\ue000", "\ue001"   # private-use characters: never in a template
#: functions a symbolic name may pass through: they only build strings, never decide on them
_SYMBOL_SAFE = frozenset({"concat", "format", "tolower", "toupper", "string", "uniquestring", "guid",
                          "resourceid", "subscriptionresourceid", "tenantresourceid",
                          "extensionresourceid", "createarray", "createobject", "union", "array"})


def symbol(name: str) -> str:
    """The symbolic stand-in for a parameter without a value (names and ids only)."""
    return f"{SYMBOL_OPEN}{name}{SYMBOL_CLOSE}"


def _has_symbol(v: Any) -> bool:
    if isinstance(v, str):
        return SYMBOL_OPEN in v
    if isinstance(v, list):
        return any(_has_symbol(x) for x in v)
    if isinstance(v, dict):
        return any(_has_symbol(x) for x in v.values())
    return False


def render_symbols(v: Any) -> Any:
    """Symbolic names as shown in names and ids: '{paramName}'."""
    if isinstance(v, str) and SYMBOL_OPEN in v:
        return v.replace(SYMBOL_OPEN, "{").replace(SYMBOL_CLOSE, "}")
    return v


_ID_FUNCTIONS = frozenset({"resourceid", "subscriptionresourceid", "tenantresourceid", "extensionresourceid"})

_STRICT: dict[str, Callable[[_Eval, list], Any]] = {
    "concat": _f_concat, "format": _f_format, "resourceid": _f_resourceid,
    "subscriptionresourceid": _f_subscriptionresourceid, "tenantresourceid": _f_tenantresourceid,
    "extensionresourceid": _f_extensionresourceid, "resourcegroup": _f_resourcegroup,
    "subscription": _f_subscription, "deployment": _f_deployment,
    "tolower": _f_tolower, "toupper": _f_toupper, "replace": _f_replace, "split": _f_split,
    "int": _f_int, "bool": _f_bool, "float": _f_float,
    "add": _arith("add", lambda x, y: x + y), "sub": _arith("sub", lambda x, y: x - y),
    "mul": _arith("mul", lambda x, y: x * y), "div": _arith("div", _div),
    "mod": _arith("mod", _mod), "length": _f_length, "empty": _f_empty, "not": _f_not,
    "greater": _cmp("greater", lambda x, y: x > y), "less": _cmp("less", lambda x, y: x < y),
    "greaterorequals": _cmp("greaterOrEquals", lambda x, y: x >= y),
    "lessorequals": _cmp("lessOrEquals", lambda x, y: x <= y),
    "first": _f_first, "last": _f_last, "take": _f_take, "skip": _f_skip, "range": _f_range,
    "indexof": _f_indexof, "lastindexof": _f_lastindexof, "startswith": _f_startswith,
    "endswith": _f_endswith, "trim": _f_trim, "padleft": _f_padleft, "substring": _f_substring,
    "base64": _f_base64, "base64tostring": _f_base64tostring, "base64tojson": _f_base64tojson,
    "uri": _f_uri, "uricomponent": _f_uricomponent, "uricomponenttostring": _f_uricomponenttostring,
    "uniquestring": _f_uniquestring, "guid": _f_guid, "objectkeys": _f_objectkeys, "items": _f_items,
    "min": _f_min, "max": _f_max, "array": _f_array,
    "true": _f_const(True), "false": _f_const(False), "null": _f_const(None),
    "tryget": _f_tryget,
}


def _f_equals(e: _Eval, a: list) -> bool:
    _nargs("equals", a, 2)
    return _eq(a[0], a[1])


def _f_string(e: _Eval, a: list) -> str:
    _nargs("string", a, 1)
    return _to_text(a[0])


def _f_json(e: _Eval, a: list) -> Any:
    _nargs("json", a, 1)
    try:
        return _json.loads(_want("json", a[0], str))
    except ValueError as exc:
        raise _Fail(f"json(): not valid JSON text ({exc})") from None


# deep: an Unknown anywhere inside an argument makes the result Unknown
_DEEP: dict[str, Callable[[_Eval, list], Any]] = {
    "equals": _f_equals, "string": _f_string, "json": _f_json,
    "intersection": _f_intersection,
}

# loose: the function looks at Unknowns itself (containers may hold Unknown elements)
_LOOSE: dict[str, Callable[[_Eval, list], Any]] = {
    "createarray": _f_createarray, "createobject": _f_createobject, "union": _f_union,
    "contains": _f_contains, "shallowmerge": _f_shallowmerge,
}


# ---- lambdas (template-functions-lambda; Bicep also passes the index as an optional second
# variable of filter()/map() and third of reduce())
@dataclass(frozen=True)
class _Lambda:
    """lambda('x', ..., body): variable names, the unevaluated body, the variables it closes over."""

    names: tuple[str, ...]
    body: tuple
    bound: dict = field(default_factory=dict)


def _f_lambda(e: _Eval, a: list[tuple]) -> _Lambda:
    _nargs("lambda", a, 2, -1)
    names = []
    for node in a[:-1]:
        n = e.run(node)
        if not isinstance(n, str) or not n:
            raise _Fail(f"lambda(): variable names must be strings, got {_short(n)}")
        names.append(n)
    return _Lambda(tuple(names), a[-1], dict(e.locals))


def _f_lambdavariables(e: _Eval, a: list[tuple]) -> Any:
    _nargs("lambdaVariables", a, 1)
    name = e.run(a[0])
    if not isinstance(name, str) or name.lower() not in e.locals:
        raise _Fail(f"lambdaVariables({_short(name)}): no such lambda variable here")
    return e.locals[name.lower()]


def _lambda_args(e: _Eval, name: str, a: list[tuple], n: int, want: type) -> tuple[Any, list]:
    """Evaluate the input (array or object) and the lambdas of a lambda function."""
    _nargs(name, a, n, n + (1 if name == "toObject" else 0))
    first = e.run(a[0])
    rest = [e.run(x) for x in a[1:]]
    if isinstance(first, Unknown):
        return e.pass_on(first), rest
    return _want(name, first, want), rest


def _bool_of(e: _Eval, name: str, v: Any) -> bool | Unknown:
    if isinstance(v, Unknown):
        return v
    return _want(name, v, bool)


def _f_filter(e: _Eval, a: list[tuple]) -> Any:
    items, (fn,) = _lambda_args(e, "filter", a, 2, list)
    if isinstance(items, Unknown):
        return items
    out = []
    for i, item in enumerate(items):
        keep = _bool_of(e, "filter", e.apply(fn, "filter", item, i))
        if isinstance(keep, Unknown):
            return e.pass_on(keep)   # whether this element is kept is not known
        if keep:
            out.append(item)
    return out


def _f_map(e: _Eval, a: list[tuple]) -> Any:
    items, (fn,) = _lambda_args(e, "map", a, 2, list)
    if isinstance(items, Unknown):
        return items
    return [e.apply(fn, "map", item, i) for i, item in enumerate(items)]


def _f_reduce(e: _Eval, a: list[tuple]) -> Any:
    _nargs("reduce", a, 3)
    items = e.run(a[0])
    acc, fn = e.run(a[1]), e.run(a[2])
    if isinstance(items, Unknown):
        return e.pass_on(items)
    for i, item in enumerate(_want("reduce", items, list)):
        acc = e.apply(fn, "reduce", acc, item, i)
    return e.pass_on(acc) if isinstance(acc, Unknown) else acc


class _UnknownOrder(Exception):
    def __init__(self, u: Unknown):
        self.u = u


def _f_sort(e: _Eval, a: list[tuple]) -> Any:
    """sort(array, lambda('a', 'b', <a comes before b>)): a stable sort by that predicate."""
    items, (fn,) = _lambda_args(e, "sort", a, 2, list)
    if isinstance(items, Unknown):
        return items

    def before(x: Any, y: Any) -> bool:
        v = _bool_of(e, "sort", e.apply(fn, "sort", x, y))
        if isinstance(v, Unknown):
            raise _UnknownOrder(v)
        return v

    try:
        return sorted(items, key=cmp_to_key(lambda x, y: -1 if before(x, y) else (1 if before(y, x) else 0)))
    except _UnknownOrder as u:
        return e.pass_on(u.u)


def _object_key(e: _Eval, name: str, k: Any) -> str | Unknown:
    if isinstance(k, Unknown):
        return k
    return _want(name, k, str)


def _put_key(out: dict, key: str, value: Any) -> None:
    """Set a key of an ARM object (keys ignore case: a later key replaces an earlier one)."""
    old = next((x for x in out if x.lower() == key.lower()), None)
    if old is not None:
        del out[old]
    out[key] = value


def _f_toobject(e: _Eval, a: list[tuple]) -> Any:
    items, fns = _lambda_args(e, "toObject", a, 2, list)
    if isinstance(items, Unknown):
        return items
    out: dict = {}
    for item in items:
        key = _object_key(e, "toObject", e.apply(fns[0], "toObject", item))
        if isinstance(key, Unknown):
            return e.pass_on(key)
        _put_key(out, key, e.apply(fns[1], "toObject", item) if len(fns) == 2 else item)
    return out


def _f_groupby(e: _Eval, a: list[tuple]) -> Any:
    items, (fn,) = _lambda_args(e, "groupBy", a, 2, list)
    if isinstance(items, Unknown):
        return items
    out: dict = {}
    for item in items:
        key = _object_key(e, "groupBy", e.apply(fn, "groupBy", item))
        if isinstance(key, Unknown):
            return e.pass_on(key)
        found, group = _get_prop(out, key)
        if found:
            group.append(item)
        else:
            out[key] = [item]
    return out


def _f_mapvalues(e: _Eval, a: list[tuple]) -> Any:
    obj, (fn,) = _lambda_args(e, "mapValues", a, 2, dict)
    if isinstance(obj, Unknown):
        return obj
    return {k: e.apply(fn, "mapValues", v) for k, v in obj.items()}


def _f_fail(e: _Eval, a: list[tuple]) -> Any:
    _nargs("fail", a, 1)
    msg = e.run(a[0])
    return e.unknown(f"the template calls fail({_short(msg)}): Azure refuses to deploy it with these values")


_LAZY.update({
    "lambda": _f_lambda, "lambdavariables": _f_lambdavariables, "filter": _f_filter, "map": _f_map,
    "reduce": _f_reduce, "sort": _f_sort, "toobject": _f_toobject, "groupby": _f_groupby,
    "mapvalues": _f_mapvalues, "fail": _f_fail,
})


# ---- arrays and strings
def _f_flatten(e: _Eval, a: list) -> Any:
    """flatten(array of arrays): the sub-arrays' elements in order, one level only."""
    _nargs("flatten", a, 1)
    out: list = []
    for x in _want("flatten", a[0], list):
        if isinstance(x, Unknown):
            return e.pass_on(x)
        out += _want("flatten", x, list)
    return out


def _f_join(e: _Eval, a: list) -> str:
    _nargs("join", a, 2)
    parts = []
    for x in _want("join", a[0], list):
        if isinstance(x, Unknown):
            return e.pass_on(x)  # type: ignore[return-value]
        parts.append(_to_text(_want("join", x, str, int, bool)))
    return _want("join", a[1], str).join(parts)


def _f_indexfromend(e: _Eval, a: list) -> Any:
    _nargs("indexFromEnd", a, 2)
    arr, n = _want("indexFromEnd", a[0], list), _int("indexFromEnd", a[1])
    if not 1 <= n <= len(arr):
        raise _Fail(f"indexFromEnd(): {n} is out of range (length {len(arr)})")
    return arr[-n]


def _f_tryindexfromend(e: _Eval, a: list) -> Any:
    _nargs("tryIndexFromEnd", a, 2)
    if a[0] is None:
        return None
    arr, n = _want("tryIndexFromEnd", a[0], list), _int("tryIndexFromEnd", a[1])
    if not 1 <= n <= len(arr):
        return None
    v = arr[-n]
    return e.pass_on(v) if isinstance(v, Unknown) else v


def _f_managementgroupresourceid(e: _Eval, a: list) -> Any:
    _nargs("managementGroupResourceId", a, 2, -1)
    if "/" in _want("managementGroupResourceId", a[0], str):
        return e.unknown("managementGroupResourceId() without a group: the deployment's management group")
    mg, rest = a[0], a[1:]
    tail = _id_tail(_want("managementGroupResourceId", rest[0], str), _names_after("managementGroupResourceId", rest[1:]))
    return f"/providers/Microsoft.Management/managementGroups/{mg}/{tail}"


# ---- CIDR (template-functions-cidr): IPv4 reserves the network and broadcast addresses;
# IPv6 has no broadcast and its first usable address is the network address; cidrHost(n, 0)
# is the address after the network address in both
def _network(name: str, v: Any) -> Any:
    import ipaddress
    try:
        return ipaddress.ip_network(_want(name, v, str), strict=False)
    except ValueError:
        raise _Fail(f"{name}(): not an IP range in CIDR notation: {_short(v)}") from None


def _f_parsecidr(e: _Eval, a: list) -> Any:
    _nargs("parseCidr", a, 1)
    net = _network("parseCidr", a[0])
    if net.version == 4:
        if net.prefixlen > 30:
            return e.unknown(f"parseCidr() of a /{net.prefixlen}: its usable addresses are not documented")
        return {"network": str(net.network_address), "netmask": str(net.netmask),
                "broadcast": str(net.broadcast_address), "firstUsable": str(net.network_address + 1),
                "lastUsable": str(net.broadcast_address - 1), "cidr": net.prefixlen}
    return {"network": str(net.network_address), "netmask": str(net.netmask),
            "firstUsable": str(net.network_address), "lastUsable": str(net.broadcast_address),
            "cidr": net.prefixlen}


def _f_cidrsubnet(e: _Eval, a: list) -> str:
    _nargs("cidrSubnet", a, 3)
    net = _network("cidrSubnet", a[0])
    new, index = _int("cidrSubnet", a[1]), _int("cidrSubnet", a[2])
    if not net.prefixlen <= new <= net.max_prefixlen:
        raise _Fail(f"cidrSubnet(): the new prefix length {new} must be {net.prefixlen}..{net.max_prefixlen}")
    count = 1 << (new - net.prefixlen)
    if not 0 <= index < count:
        raise _Fail(f"cidrSubnet(): index {index} is out of range (a /{net.prefixlen} holds {count} /{new})")
    size = 1 << (net.max_prefixlen - new)
    return f"{net.network_address + index * size}/{new}"


def _f_cidrhost(e: _Eval, a: list) -> str:
    _nargs("cidrHost", a, 2)
    net = _network("cidrHost", a[0])
    index = _int("cidrHost", a[1])
    usable = net.num_addresses - (2 if net.version == 4 else 1)
    if not 0 <= index < usable:
        raise _Fail(f"cidrHost(): host index {index} is out of range for {net}")
    return str(net.network_address + 1 + index)


_STRICT.update({
    "flatten": _f_flatten, "join": _f_join, "indexfromend": _f_indexfromend,
    "tryindexfromend": _f_tryindexfromend, "managementgroupresourceid": _f_managementgroupresourceid,
    "parsecidr": _f_parsecidr, "cidrsubnet": _f_cidrsubnet, "cidrhost": _f_cidrhost,
    "datauri": _f_datauri, "datauritostring": _f_datauritostring,
})

#: every function name the evaluator knows (lower case), for documentation and tests
SUPPORTED_FUNCTIONS = frozenset(_LAZY) | frozenset(_STRICT) | frozenset(_DEEP) | frozenset(_LOOSE) \
    | frozenset(_DEPLOYMENT_TIME)
