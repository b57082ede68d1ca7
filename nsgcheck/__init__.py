"""nsgcheck: decide offline and exactly whether Azure networks let VMs replicate with Site Recovery.

Data flow (one package per stage):
    values/   address, port and FQDN-pattern sets, shared below the model, loaders and engine
    loaders/  input files            -> estate.Estate  (neutral model, every object has an Origin)
    servicetags (top-level package)  -> Catalog        (published service-tag file)
    engine/   packet-set semantics   (spaces, first match, NSG layers, routes, firewalls)
    audit/    requirements x subjects -> results.Report (with the fixes it plans: audit.fixplan)
    fixes/    planned fixes checked by auditing again (verify), and their snippets
    gate/     the CI gate's controls: config, suppressions, baseline, --fail-on
    render/   Report JSON            -> text | markdown | html | sarif | junit
    cli/      the command line; the one place errors become exit codes
"""

__version__ = "0.1.0"
