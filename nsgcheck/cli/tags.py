"""`nsgcheck tags show|lookup|diff|download`: inspect, reverse-look-up, compare and fetch service-tag files."""

from __future__ import annotations

import argparse
import json
import sys

from nsgcheck.cli.tagfile import load_catalog, load_index
from nsgcheck.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("tags", help="inspect, look up, compare and download Azure service-tag files",
                       description=__doc__)
    tsub = p.add_subparsers(dest="tags_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda args: _missing(p))

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tags", metavar="FILE", help="service-tag file (default: newest downloaded file)")
    common.add_argument("--cloud", help="with no --tags: the cloud of the cached file (public, usgov, china)")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")

    s = tsub.add_parser("show", parents=[common], help="show one tag (or the file summary)")
    s.add_argument("name", nargs="?", metavar="NAME", help="tag name, case-insensitive (e.g. Storage.EastUS)")
    s.add_argument("--region", metavar="LOCATION",
                   help="ARM location: show NAME's regional tag (e.g. Storage --region francecentral)")
    s.add_argument("--no-prefixes", action="store_true", help="omit the prefix list")
    s.set_defaults(func=cmd_show)

    lk = tsub.add_parser("lookup", parents=[common], help="which tags contain an address or prefix")
    lk.add_argument("address", metavar="ADDR", help="IPv4/IPv6 address or CIDR")
    lk.set_defaults(func=cmd_lookup)

    d = tsub.add_parser("diff", help="what changed between two tag files (address sets)")
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--json", action="store_true", help="print JSON instead of text")
    d.add_argument("--full", action="store_true", help="list every added/removed prefix (default: first 5 per tag)")
    d.set_defaults(func=cmd_diff)

    dl = tsub.add_parser("download", help="download the current tag file into the user cache")
    dl.add_argument("--cloud", default="public", help="public (default), usgov or china")
    dl.add_argument("--subscription", metavar="ID",
                    help="use the Service Tags REST API of this subscription (token: NSGCHECK_ACCESS_TOKEN "
                         "or `az account get-access-token`)")
    dl.add_argument("--location", help="API location (selects the data version, not a filter)")
    dl.add_argument("--cache-dir", metavar="DIR", help="store here instead of the user cache")
    dl.add_argument("--json", action="store_true", help="print JSON instead of text")
    dl.add_argument("--page-url", help=argparse.SUPPRESS)
    dl.add_argument("--api-url", help=argparse.SUPPRESS)
    dl.set_defaults(func=cmd_download)


def _missing(parser) -> int:
    parser.print_usage(sys.stderr)
    print("nsgcheck tags: error: choose a subcommand: show, lookup, diff, download", file=sys.stderr)
    return 2


def _emit(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def _features(tag) -> str:
    return ", ".join(tag.network_features) if tag.network_features is not None else "(null)"


def cmd_show(args) -> int:
    cat = load_catalog(args.tags, args.cloud)
    if args.name is None:
        if args.region:
            raise UsageError("--region needs a tag NAME (e.g. `nsgcheck tags show Storage --region eastus`)")
        summary = cat.summary()
        summary["armLocations"] = cat.arm_locations()
        if args.json:
            _emit(summary)
        else:
            print(f"file:          {cat.source}")
            print(f"cloud:         {cat.cloud}")
            print(f"changeNumber:  {cat.change_number}")
            print(f"date:          {summary['fileDate'] or '(not in the file name)'}")
            print(f"format:        {cat.format}")
            print(f"tags:          {len(cat)}")
            print(f"regions:       {', '.join(cat.arm_locations())}")
        return 0
    tag = cat.regional_tag(args.name, args.region) if args.region else cat.get(args.name)
    if args.json:
        d = {"file": cat.source, "cloud": cat.cloud, "fileChangeNumber": cat.change_number}
        d.update(tag.to_dict(prefixes=not args.no_prefixes))
        _emit(d)
        return 0
    v4, v6 = tag.prefixes_v4(), tag.prefixes_v6()
    print(f"{tag.name}  ({cat.cloud}, {cat.source})")
    print(f"  region:         {tag.region or '(none: cloud-wide)'}"
          + (f"  (regionId {tag.region_id})" if tag.region else ""))
    print(f"  systemService:  {tag.system_service or '(none)'}")
    print(f"  changeNumber:   {tag.change_number}")
    print(f"  networkFeatures: {_features(tag)}")
    print(f"  prefixes:       {len(v4)} IPv4 ({tag.size(4):,} addresses), {len(v6)} IPv6")
    if not args.no_prefixes:
        for p in tag.prefixes:
            print(f"    {p}")
    return 0


def cmd_lookup(args) -> int:
    cat = load_index(args.tags, args.cloud)
    tags = cat.containing(args.address)
    if args.json:
        _emit({"address": args.address.strip(), "file": cat.source, "cloud": cat.cloud,
               "tags": [{"name": t.name, "region": t.region, "systemService": t.system_service} for t in tags]})
        return 0
    if not tags:
        print(f"{args.address.strip()}: in no service tag of {cat.cloud} ({cat.source})")
        return 0
    print(f"{args.address.strip()} is in {len(tags)} tag(s) of {cat.cloud} (most specific first):")
    for t in tags:
        print(f"  {t.name}" + (f"  [region {t.region}]" if t.region else ""))
    return 0


def cmd_diff(args) -> int:
    from servicetags import diff, load

    old, new = load(args.old), load(args.new)
    d = diff(old, new)
    if args.json:
        _emit(d.to_dict())
        return 0
    print(f"old: {old.source}  ({old.cloud}, changeNumber {old.change_number}, {len(old)} tags)")
    print(f"new: {new.source}  ({new.cloud}, changeNumber {new.change_number}, {len(new)} tags)")
    for w in d.warnings:
        print(f"warning: {w}")
    print(f"tags added ({len(d.tags_added)}): {', '.join(d.tags_added) or '-'}")
    print(f"tags removed ({len(d.tags_removed)}): {', '.join(d.tags_removed) or '-'}")
    print(f"tags changed ({len(d.changed)}):")
    limit = None if args.full else 5
    for c in d.changed:
        print(f"  {c.name}: changeNumber {c.old_change_number} -> {c.new_change_number}, "
              f"prefixes {c.old_prefix_count} -> {c.new_prefix_count}, "
              f"+{c.added_addresses:,} / -{c.removed_addresses:,} addresses")
        for label, items in (("+", c.added), ("-", c.removed)):
            shown = items if limit is None else items[:limit]
            for p in shown:
                print(f"      {label} {p}")
            if len(shown) < len(items):
                print(f"      {label} ... {len(items) - len(shown)} more (use --full)")
    return 0


def cmd_download(args) -> int:
    from pathlib import Path

    from servicetags.download import download_from_api, download_from_page

    directory = Path(args.cache_dir) if args.cache_dir else None
    if args.subscription:
        got = download_from_api(args.cloud, args.subscription, directory=directory, location=args.location,
                                api_url=args.api_url)
    else:
        if args.location:
            raise UsageError("--location only applies with --subscription (the Service Tags API)")
        got = download_from_page(args.cloud, directory=directory, page_url=args.page_url)
    if args.json:
        _emit({"path": str(got.path), "cloud": got.cloud, "changeNumber": got.change_number,
               "tags": got.tags, "source": got.source_url})
    else:
        print(f"saved {got.path}  ({got.cloud}, changeNumber {got.change_number}, {got.tags} tags)")
        print("commands without --tags now use it")
    return 0
