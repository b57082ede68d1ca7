"""Input formats -> the neutral model (`nsgcheck.estate.Estate`). No knowledge of ASR or the engine.

`load_paths` is the entry point: files or directories (recursed in sorted order; `.json`,
`.jsonc` and `.json.gz`), format detected from content, every file translated into one merged
`Estate`. Unreadable or malformed files raise `InputError` naming file, line and column — or,
when the caller collects errors, are listed and the other files still load; a valid JSON file
of no known format is skipped with a warning, and source files found in a folder that are not
deployable JSON (Bicep, Terraform configuration) are skipped with a note saying what to give.
"""

from __future__ import annotations

import gc
import importlib
from pathlib import Path
from typing import Any, Iterable, Mapping

from nsgcheck.errors import InputError, LoaderError, NsgcheckError, raise_all
from nsgcheck.estate import Estate
from nsgcheck.model import Finding, Origin

SUFFIXES = (".json", ".jsonc", ".json.gz")
#: sources found in a folder that nsgcheck does not read, and what to give it instead
NOT_INPUTS = {
    ".bicep": "a Bicep file: compile it to ARM JSON (`bicep build`) and give that",
    ".bicepparam": "a Bicep parameters file: give the compiled ARM parameters JSON (`bicep build-params`)",
    ".tf": "Terraform configuration: give the plan as JSON (`terraform show -json PLAN`)",
    ".tfplan": "a binary Terraform plan: give it as JSON (`terraform show -json PLAN`)",
}


def _is_input(p: Path) -> bool:
    return p.name.lower().endswith(SUFFIXES)


def _folder_files(folder: Path) -> list[Path]:
    return sorted((f for f in folder.rglob("*") if f.is_file()), key=lambda f: f.relative_to(folder).as_posix())


def expand_paths(paths: Iterable[str | Path], skipped: list[Finding] | None = None) -> list[Path]:
    """Files named, plus the .json/.jsonc/.json.gz files under directories (sorted, recursed).

    Other source files found in folders that a user may expect to be read are noted in `skipped`.
    """
    out: dict[Path, None] = {}      # in order, each once (a set beside the list: was a scan per file)
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in _folder_files(p):
                if _is_input(f):
                    out.setdefault(f, None)
                elif skipped is not None and f.suffix.lower() in NOT_INPUTS:
                    skipped.append(Finding("note", f"skipped: {NOT_INPUTS[f.suffix.lower()]}", Origin(str(f))))
        elif p.exists():
            out.setdefault(p, None)
        else:
            raise InputError("no such file or directory", str(p))
    return list(out)


def _optional(module: str) -> Any:
    """A loader module written by someone else, or None while it does not exist yet."""
    try:
        return importlib.import_module(f"nsgcheck.loaders.{module}")
    except ModuleNotFoundError as e:
        if e.name != f"nsgcheck.loaders.{module}":
            raise
        return None


def load_document(doc: Any, file: str, linemap: Any = None, parameters: Iterable[str | Path] = (),
                  overrides: Mapping[str, Any] | None = None, defer: bool = False) -> Estate:
    """One parsed document -> Estate (format detected from content). `defer`: child resources
    whose parent is not in this document wait in `Estate.pending` (`rest.settle`)."""
    from nsgcheck.loaders import azcli, detect, resourcegraph, rest

    estate = Estate(inputs=[file])
    origin = linemap.origin("") if linemap is not None else Origin(file, "")
    fmt = detect.detect(doc)
    raws: list = []
    findings: list[Finding] = []
    norm = None   # (an ARM template's: it read rule arrays ahead)
    if fmt is None:
        findings.append(Finding("warning", "skipped: not a recognized format (expected an ARM template or "
                                "parameters file, a Terraform plan, az CLI / REST / Resource Graph JSON, an "
                                "effective NSG or route export, or a firewall rule collection)", origin))
    elif fmt in (detect.ARM_TEMPLATE, detect.ARM_PARAMETERS):
        arm = _optional("arm")
        if arm is None:
            findings.append(Finding("warning", "skipped: ARM templates are not yet supported", origin))
        else:
            exp = arm.expand_template(doc, file, linemap, parameters_files=list(parameters),
                                      overrides=overrides)
            raws, findings, norm = exp.resources, list(exp.findings), exp.normalizer
    elif fmt == detect.TERRAFORM_PLAN:
        tf = _optional("terraform")
        if tf is None:
            findings.append(Finding("warning", "skipped: Terraform plans are not yet supported", origin))
        else:
            raws, findings = tf.load_plan(doc, file, linemap)
            findings = list(findings)
    elif fmt == detect.RESOURCE_GRAPH:
        raws, findings = resourcegraph.load_resource_graph(doc, file, linemap)
    elif fmt == detect.AZ:
        raws, findings = azcli.load_resources(doc, file, linemap)
    elif fmt == detect.EFFECTIVE_NSG:
        export, findings = azcli.load_effective_nsgs(doc, file, linemap)
        estate.effective_nsgs.append(export)
    elif fmt == detect.EFFECTIVE_ROUTES:
        export, findings = azcli.load_effective_routes(doc, file, linemap)
        estate.effective_routes.append(export)
    elif fmt == detect.REST_EXAMPLE:
        hit = detect.rest_example_body(doc)
        body_fmt = detect.detect(hit[1]) if hit else None
        if hit and body_fmt in (detect.EFFECTIVE_NSG, detect.EFFECTIVE_ROUTES, detect.AZ):
            sub = _Sub(linemap, hit[0])
            if body_fmt == detect.EFFECTIVE_NSG:
                export, findings = azcli.load_effective_nsgs(hit[1], file, sub)
                estate.effective_nsgs.append(export)
            elif body_fmt == detect.EFFECTIVE_ROUTES:
                export, findings = azcli.load_effective_routes(hit[1], file, sub)
                estate.effective_routes.append(export)
            else:
                raws, findings = azcli.load_resources(hit[1], file, sub)
        else:
            findings.append(Finding("warning", "skipped: a REST API example whose response is not a "
                                    "network resource nsgcheck reads", origin))
    elif fmt == detect.RULE_COLLECTION:
        raws = rule_collection_raws(doc, file, linemap)
        if getattr(linemap, "sequence", False):
            findings.append(Finding("note", "read as a list: the file holds several comma-separated values "
                                    "(a snippet meant to be pasted into an array)", origin))
    elif fmt == detect.SERVICE_TAGS:
        findings.append(Finding("warning", "skipped: this is a service-tag file (pass it with --tags)", origin))
    estate.findings += findings
    if raws:
        rest.convert(raws, estate, defer, norm)
        estate.kept.append(raws)
    return estate


class _Sub:
    """A LineMap view for a sub-document at `prefix` (pointers are relative to it)."""

    def __init__(self, linemap: Any, prefix: str):
        self.linemap, self.prefix = linemap, prefix

    def origin(self, pointer: str) -> Origin:
        return self.linemap.origin(self.prefix + pointer)

    def line(self, pointer: str) -> int | None:
        return self.linemap.line(self.prefix + pointer)

    def span(self, pointer: str) -> tuple[int, int] | None:
        return self.linemap.span(self.prefix + pointer)


def rule_collection_raws(doc: Any, file: str, linemap: Any) -> list:
    """Standalone firewall rule collection(s) -> RawResources of type `nsgcheck/ruleCollection`."""
    from nsgcheck.loaders import azcli
    from nsgcheck.loaders.raw import RawResource

    out = []
    for ptr, obj in azcli.resource_items(doc):
        name = obj.get("name") if isinstance(obj.get("name"), str) else f"collection{len(out) + 1}"
        props = dict(obj["properties"]) if isinstance(obj.get("properties"), dict) else {
            k: v for k, v in obj.items() if k != "name"}
        loc = azcli.JsonLocator(linemap, file, ptr, obj)
        out.append(RawResource(type="nsgcheck/ruleCollection", name=name,
                               id=f"/nsgcheck/ruleCollections/{name}", properties=props, origin=loc(()),
                               locate=loc, extra={"source_format": "rule-collection"}))
    return out


def load_file(path: str | Path, parameters: Iterable[str | Path] = (),
              overrides: Mapping[str, Any] | None = None, max_bytes: int | None = None,
              defer: bool = False) -> Estate:
    """Read one file into an Estate. InputError (exit 2) when it cannot be read or parsed.
    `defer`: as `load_document`'s."""
    from nsgcheck.loaders import jsonpos

    file = str(path)
    doc, linemap = jsonpos.load_json(path, max_bytes)
    try:
        estate = load_document(doc, file, linemap, parameters, overrides, defer)
        estate.kept.append(doc)
        return estate
    except NsgcheckError as e:
        if not e.file:
            e.file = file
        raise
    except RecursionError:
        raise InputError("nested too deeply to translate; expected a shallower document", file) from None
    except Exception as e:  # noqa: BLE001
        # a shape no loader foresaw: an input error naming the file, never a traceback
        raise LoaderError(f"cannot translate this file ({type(e).__name__}: {e}); please report it "
                          "with the input", file) from None


def _age() -> None:
    """Move what the collector tracks to its oldest generation (unless the program keeps objects
    frozen: those stay so). The model just loaded lives as long as the run; left in the youngest
    generation, the collector's next pass, on any allocation once it is switched on again, would
    walk every one of its objects (0.2 s for a 200,000-rule estate), and walk them again one
    generation up. Garbage in the oldest generation is still collected by its full passes."""
    if gc.get_freeze_count() == 0:
        gc.freeze()      # every tracked object into the permanent generation, at once
        gc.unfreeze()    # and from there into the oldest


def load_paths(paths: Iterable[str | Path], parameters: Iterable[str | Path] | None = None,
               overrides: Mapping[str, Any] | None = None,
               errors: list[NsgcheckError] | None = None, max_bytes: int | None = None) -> Estate:
    """Load files and directories into one merged Estate (see module docstring).

    `max_bytes`: the most one input file may hold, plain or inflated (default
    `jsonpos.DEFAULT_MAX_BYTES`, 256 MiB); a larger file is an input error.

    With `errors` (a list), a file that cannot be read or translated is appended to it and the
    other files are still loaded (the caller reports all of them and exits 2); without it every
    such file is raised at the end, together (`InputErrors` when there are several).
    """
    params = [Path(p) for p in (parameters or [])]
    given = {p.resolve() for p in params}
    estate = Estate()
    skipped: list[Finding] = []
    files = expand_paths(paths, skipped)
    estate.findings += skipped
    # Loading allocates millions of small objects and frees almost none: the cyclic garbage
    # collector would rescan them again and again (about 40% of the load time of a large
    # template). It is paused while loading and restored as it was.
    collecting = gc.isenabled()
    gc.disable()
    collected: list[NsgcheckError] = [] if errors is None else errors
    try:
        for f in files:
            if f.resolve() in given:
                continue  # a parameters file named with --parameters is read with the templates
            try:
                estate.merge(load_file(f, params, overrides, max_bytes, defer=True))
            except NsgcheckError as e:   # a file that cannot be read: reported with every other one
                collected.append(e)
    finally:
        if collecting:
            _age()
            gc.enable()
    from nsgcheck.loaders import rest

    rest.settle(estate)      # child resources into parents defined in other files
    if errors is None:
        raise_all(collected)   # every unreadable file at once (InputErrors), not only the first
    return estate
