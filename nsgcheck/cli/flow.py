"""`nsgcheck flow` (being built; see the issue tracker)."""


def register(sub):
    p = sub.add_parser("flow", help="(not yet available)")
    p.set_defaults(func=lambda args: print("nsgcheck flow: not yet available") or 2)
