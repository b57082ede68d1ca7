"""`nsgcheck rules` (being built; see the issue tracker)."""


def register(sub):
    p = sub.add_parser("rules", help="(not yet available)")
    p.set_defaults(func=lambda args: print("nsgcheck rules: not yet available") or 2)
