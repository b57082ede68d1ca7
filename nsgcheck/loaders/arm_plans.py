"""Expansion plans: a resource's properties of one shape expanded by code worked out once per shape.

Generated and copy-loop templates write thousands of resources (NICs, VMs) whose properties have
the same keys at every level and expressions in the same places. For such a shape, a plan (Python
code made once, see `compile_plan`) checks a node against the shape and builds what the generic
walk (`arm._Expander._tree`, one call per container and reference) gives, in one flat function.
It gives exactly that, or `MISS`: the node is not of its shape, or an expression needs the general
evaluator (then the generic walk runs, from the start). Nothing but `Evaluator.known` values and
the expander's shared reference objects is evaluated here; errors and findings stay the walk's.
"""

from __future__ import annotations

from typing import Any, Callable

#: what a plan gives for a node it does not expand (the generic walk then does)
MISS = object()

#: a resource's properties with the same top-level keys met this many times without a plan that
#: fits: a plan is made for the next one (a template of a few resources never pays for one)
AFTER = 24
#: plans kept per set of top-level keys (a generated estate has one or two shapes per type)
MAX_PLANS = 4
#: the most containers and values one plan checks (an NSG's rules make larger, rarely repeated shapes)
MAX_NODES = 200

#: the scalars the walk leaves as they are (JSON numbers, booleans, null)
_SCALARS = (int, float, bool, type(None))
_COPY = frozenset("".join(c.upper() if bits >> i & 1 else c for i, c in enumerate("copy")) for bits in range(16))

Shape = Any   # 'e' (an expression), a scalar type, str (a literal string), ('d', keys, kids) or ('l', kids)


def shape_of(node: Any, budget: list[int]) -> Shape | None:
    """The shape of a value under a resource's properties, or None when no plan is made for it:
    a property copy loop's key (any case) on the way, a value JSON does not give, or more than
    `budget[0]` containers and values."""
    budget[0] -= 1
    if budget[0] < 0:
        return None
    kind = type(node)
    if kind is str:
        return "e" if node[:1] == "[" else str
    if kind in _SCALARS:
        return kind
    if kind is dict:
        if not _COPY.isdisjoint(node):
            return None
        kids = tuple(shape_of(v, budget) for v in node.values())
        return None if None in kids else ("d", tuple(node), kids)
    if kind is list:
        kids = tuple(shape_of(v, budget) for v in node)
        return None if None in kids else ("l", kids)
    return None


class _Code:
    """The lines of one plan function and the constants it names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self.n = 0

    def var(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def const(self, value: Any) -> str:
        name = f"k{len(self.consts)}"
        self.consts[name] = value
        return name

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)


def _value(code: _Code, sh: Shape, var: str) -> tuple[str, bool]:
    """Lines checking that `var` (a value inside a container) has shape `sh` and making what the
    walk gives for it: (the name holding it, whether it differs from `var`)."""
    if sh == "e":   # an expression: the value `known` gives (what the walk evaluates it to)
        out = code.var()
        code.emit(f"if {var}.__class__ is not str or {var}[:1] != '[': return MISS")
        code.emit(f"{out} = known({var}, ctx)")
        code.emit(f"if {out} is None or {out} is {var}: return MISS")
        return out, True
    if sh is str:
        code.emit(f"if {var}.__class__ is not str or {var}[:1] == '[': return MISS")
        return var, False
    if not isinstance(sh, tuple):   # a number, boolean or null: itself
        code.emit(f"if {var}.__class__ is not {code.const(sh)}: return MISS")
        return var, False
    if sh[0] == "d":
        _, keys, kids = sh
        code.emit(f"if {var}.__class__ is not dict or tuple({var}) != {code.const(keys)}: return MISS")
        if len(keys) == 1 and kids[0] == "e":
            # an object of one key and an expression: the walk's shared reference object
            x, out = code.var(), code.var()
            key = code.const(keys[0])
            code.emit(f"{x} = {var}[{key}]")
            code.emit(f"if {x}.__class__ is not str or {x}[:1] != '[': return MISS")
            code.emit(f"{out} = refs_get(({key}, {x}, sub, rg, sym))")
            code.emit(f"if {out} is None:")
            code.emit(f"    {out} = reference({var}, ctx)")
            code.emit(f"    if {out} is None: return MISS")
            return out, True
        made, changed = _children(code, var, [code.const(k) for k in keys], kids)
        if not changed:
            return var, False
        out = code.var()
        code.emit(f"{out} = {{{', '.join(f'{code.const(k)}: {m}' for k, m in zip(keys, made))}}}")
        return out, True
    kids = sh[1]
    code.emit(f"if {var}.__class__ is not list or len({var}) != {len(kids)}: return MISS")
    made, changed = _children(code, var, [str(i) for i in range(len(kids))], kids)
    if not changed:
        return var, False
    out = code.var()
    code.emit(f"{out} = [{', '.join(made)}{',' if len(made) == 1 else ''}]")
    return out, True


def _children(code: _Code, var: str, subscripts: list[str], kids: tuple) -> tuple[list[str], bool]:
    """Lines for each child `var[subscript]` of shape `kid`: the names holding what the walk gives
    for each, and whether any differs from the child."""
    made = []
    changed = False
    for sub, kid in zip(subscripts, kids):
        x = code.var()
        code.emit(f"{x} = {var}[{sub}]")
        out, differs = _value(code, kid, x)
        made.append(out)
        changed |= differs
    return made, changed


def compile_plan(sh: Shape) -> Callable[..., Any]:
    """The plan of a resource's properties of shape `sh` (an object, `shape_of`): called as
    plan(properties, ctx, known, refs_get, reference, sub, rg, sym), it gives a new object with what
    `_Expander.one` makes of each property, or MISS. `known` is `Evaluator.known`, `refs_get` and
    `reference` the expander's shared reference objects (`refs.get`, `_reference`), and sub, rg,
    sym the context's subscription, resource group and symbolic mode (the references' key)."""
    code = _Code()
    _, keys, kids = sh
    code.emit(f"if n0.__class__ is not dict or tuple(n0) != {code.const(keys)}: return MISS")
    made = _children(code, "n0", [code.const(k) for k in keys], kids)[0]
    code.emit(f"return {{{', '.join(f'{code.const(k)}: {m}' for k, m in zip(keys, made))}}}")
    text = "def plan(n0, ctx, known, refs_get, reference, sub, rg, sym):\n" + "\n".join(code.lines) + "\n"
    scope: dict[str, Any] = {"MISS": MISS, **code.consts}
    exec(compile(text, "<arm expansion plan>", "exec"), scope)   # noqa: S102 (code made here, from keys as constants)
    return scope["plan"]


def plannable(sh: Shape | None) -> bool:
    """Whether `sh` is a resource's properties a plan is made for: an object none of whose own
    values is an expression (`one` evaluates those with their pointer, not by `known`)."""
    return isinstance(sh, tuple) and sh[0] == "d" and "e" not in sh[2]


class Plans:
    """The plans of one expansion, by the properties' top-level keys (in order), made as resources
    of a shape repeat (see `AFTER`, `MAX_PLANS`)."""

    __slots__ = ("by_keys",)

    def __init__(self) -> None:
        #: keys -> [misses since the last plan was made (None: no more plans are made), plans]
        self.by_keys: dict[tuple, list] = {}

    def planned(self, node: Any, ctx: Any, known: Callable, refs: dict, reference: Callable) -> Any:
        """What a plan already made gives for `node`, or MISS (none fits, or not an object); unlike
        `expand`, nothing is counted and no plan is made (its caller then asks `expand`)."""
        if node.__class__ is not dict:
            return MISS
        entry = self.by_keys.get(tuple(node))
        if entry is not None:
            sub, rg, sym = ctx.subscription_id, ctx.resource_group, ctx.symbolic
            for plan in entry[1]:
                out = plan(node, ctx, known, refs.get, reference, sub, rg, sym)
                if out is not MISS:
                    return out
        return MISS

    def expand(self, node: dict, ctx: Any, known: Callable, refs: dict, reference: Callable) -> Any:
        """What `_Expander.one` makes of the properties `node` (a dict), or MISS."""
        keys = tuple(node)
        entry = self.by_keys.get(keys)
        if entry is None:
            entry = self.by_keys[keys] = [0, []]
        sub, rg, sym = ctx.subscription_id, ctx.resource_group, ctx.symbolic
        for plan in entry[1]:
            out = plan(node, ctx, known, refs.get, reference, sub, rg, sym)
            if out is not MISS:
                return out
        misses = entry[0]
        if misses is None:
            return MISS
        if misses + 1 < AFTER:
            entry[0] = misses + 1
            return MISS
        sh = shape_of(node, [MAX_NODES])
        if not plannable(sh) or len(entry[1]) >= MAX_PLANS:
            entry[0] = None   # (a shape no plan is made for: the walk for all of them)
            return MISS
        plan = compile_plan(sh)
        entry[1].append(plan)
        entry[0] = 0
        return plan(node, ctx, known, refs.get, reference, sub, rg, sym)
