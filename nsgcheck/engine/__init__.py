"""Packet-set semantics: address/port sets, packet spaces, first-match, NSG layers, routes, firewalls.

One entry point, `nsgcheck.engine.evaluate.evaluate_path(spec, flow, env, memo)`, evaluates a
path (the devices a flow meets) for a flow family and returns a typed `PathResult`
(`pathresult`); `verdict.summarize` is the one status function. Doubt is followed on both
branches (`firstmatch`): a packet is unknown exactly when it may be allowed and may be denied.

No I/O and no knowledge of file formats or of Site Recovery; the tag catalog is used through
`catalog.TagCatalog`.
"""
