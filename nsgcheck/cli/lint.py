"""`nsgcheck lint` (being built; see the issue tracker)."""


def register(sub):
    p = sub.add_parser("lint", help="(not yet available)")
    p.set_defaults(func=lambda args: print("nsgcheck lint: not yet available") or 2)
