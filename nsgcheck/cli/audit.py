"""`nsgcheck audit` (being built; see the issue tracker)."""


def register(sub):
    p = sub.add_parser("audit", help="(not yet available)")
    p.set_defaults(func=lambda args: print("nsgcheck audit: not yet available") or 2)
