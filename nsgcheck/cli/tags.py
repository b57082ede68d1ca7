"""`nsgcheck tags` (being built; see the issue tracker)."""


def register(sub):
    p = sub.add_parser("tags", help="(not yet available)")
    p.set_defaults(func=lambda args: print("nsgcheck tags: not yet available") or 2)
