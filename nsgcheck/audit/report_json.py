"""The report as a file (schema 2): what many results share is written once, by reference.

In memory (`Report.to_json()`, what every renderer and the gate read) each result holds its
path, deciding rules, denied prefixes and fixes, as in schema 1. Written to a file (`pack`),
results that share them refer to one entry of a top-level table instead:

* `subjects`     {"S1": {kind, name, id, ...}} a result's `subject` (and `peer`) is "S1";
* `paths`        {"P1": [step, ...]}          `path` is "P1";
* `decisions`    {"D1": {device, rule, ...}}  `decided_by` is ["D1", ...];
* `prefix_lists` {"L1": ["20.60.0.0/24", ...]} `denied_prefixes` is "L1";
* `fixes`        {"F1": {nsg, name, ...}}     `fixes` is ["F1", ...].

A result leaves out what follows from the rest: `id` (`requirement:side:subject id[:peer id]`,
lower-cased ids: `audit.results.finding_id`), `title` (the requirement's, from
`requirements`), `severity` when it is its status's (fail/partial: error, unknown: warning,
else none), `unknown_share` when 0, and the lists `urls`, `path`, `decided_by`,
`denied_prefixes`, `reasons` when empty. Everything else is as in memory. `unpack` restores
the in-memory form exactly (a schema-1 report is returned as it is); ids are numbered in
order of first use, so the same report gives the same file.
"""

from __future__ import annotations

from json import JSONEncoder
from json.encoder import encode_basestring
from typing import Any, Callable, Iterable, Iterator

from nsgcheck.audit.results import SCHEMA_VERSION, STATUS_SEVERITY, ResultRows, finding_id
from nsgcheck.model import Origin

#: table name -> (id prefix, the result key that refers to it, whether it refers to a list of entries)
TABLES = {"subjects": ("S", "subject", False), "paths": ("P", "path", False),
          "decisions": ("D", "decided_by", True), "prefix_lists": ("L", "denied_prefixes", False),
          "fixes": ("F", "fixes", True)}
_BY_KEY = {key: (table, many) for table, (_, key, many) in TABLES.items()}
_BY_KEY["peer"] = ("subjects", False)
#: result keys left out when empty or zero, and what they stand for then
_DEFAULTS: dict[str, Any] = {"unknown_share": 0.0, "urls": [], "path": [], "decided_by": [],
                             "denied_prefixes": [], "reasons": []}


def compact_encoder() -> Callable[[Any], str]:
    """`json.dumps(x, ensure_ascii=False, separators=(",", ":"))` as one function (a cycle is
    not looked for: report values have none). `JSONEncoder.encode` makes the standard library's
    C encoder again at every call, a third of the time of a small object: here it is made once,
    with the arguments `JSONEncoder` gives it, and checked against `JSONEncoder` on a probe
    value; where it is missing, takes other arguments or differs, `JSONEncoder.encode` it is."""
    plain = JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
    try:
        from json.encoder import c_make_encoder, encode_basestring

        made = c_make_encoder(None, plain.default, encode_basestring, None, ":", ",", False, False, True)
    except (ImportError, TypeError):
        return plain.encode
    join = "".join

    def encode(obj: Any) -> str:
        return encode_basestring(obj) if type(obj) is str else join(made(obj, 0))

    try:
        same = encode(_PROBE) == plain.encode(_PROBE)
    except (TypeError, ValueError):
        same = False
    return encode if same else plain.encode


_PROBE = {"a": [1, 2.5, -0.0, float("inf"), float("nan"), None, True, False, 10 ** 30, "é\u2028\"\\\n\x01"],
          "b": {"c": {}, "d": []}, 7: "int key", 1.5: None, None: 0}
#: `json.dumps(x, ensure_ascii=False, separators=(",", ":"))`
_COMPACT = compact_encoder()
_NO_DEFAULT = object()
_UNSEEN = object()
#: what stands for a subject's reference in a reused line (a string no table id can be)
_MARK = "\x00subject"
_MESSAGE_MARK = "\x00message"      # (and for a message's)
#: result keys `Packer.result` may leave out or refer to a table with (the others are copied)
_KINDS = {"id": "id", "title": "title", "severity": "severity", **{k: "other" for k in [*_DEFAULTS, *_BY_KEY]}}
#: the in-memory key order of a result (other keys follow in the order they come)
_ORDER = ("id", "requirement", "title", "subject", "side", "status", "severity", "coverage", "unknown_share",
          "destination", "protocol", "port", "urls", "path", "decided_by", "denied_prefixes", "reasons", "message")


def is_packed_schema(report: Any) -> bool:
    """Whether a dictionary is an audit report of schema 2 (written lean by the JSON renderer)."""
    return (isinstance(report, dict) and isinstance(report.get("results"), (list, ResultRows)) and "command" not in report
            and str(report.get("schema_version", "")).split(".", 1)[0] == SCHEMA_VERSION.split(".", 1)[0])


def _subject_text(s: Any) -> str | None:
    """`_COMPACT(s.to_json())` of a `Subject`, written from its fields (a subject entry of the
    report, 60,000 of them at 30,000 VMs; a string's JSON is `encode_basestring`'s whichever
    encoder `_COMPACT` is); None when a field is not a plain string or the subject has other
    NICs (then its dictionary is encoded)."""
    kind, name, sid, address, region, string = s.kind, s.name, s.id, s.address, s.region, encode_basestring
    if (s.other_nics or type(kind) is not str or type(name) is not str or type(sid) is not str
            or type(address) is not str or type(region) is not str):
        return None
    return "".join(('{"kind":', string(kind), ',"name":', string(name), ',"id":', string(sid),
                    ',"address":', string(address), ',"region":', string(region), "}"))


def advisory_lines(advisories: Iterable[Any], encode: Callable[[Any], str]) -> Iterator[str]:
    """`encode(a.to_json())` of each `Advisory` (one per VM in large audits), written from its
    fields where they are plain strings, its location too (`_origin_text`): what advisories of
    one id and level, and of one details tuple, share is encoded once (a string's JSON is
    `encode_basestring`'s whichever encoder `encode` is); any other advisory is encoded whole."""
    string, join = encode_basestring, "".join
    heads: dict[tuple[str, str], str] = {}     # (id, level) -> the line up to the subject's text
    tails: dict[tuple[str, ...], str] = {}     # details -> the line after the location's text
    files: dict[str, str] = {}                 # a location's file -> its text
    for a in advisories:
        aid, level, subject, message, details, location = a.id, a.level, a.subject, a.message, a.details, a.location
        if (type(aid) is not str or type(level) is not str or type(subject) is not str
                or type(message) is not str or type(details) is not tuple):
            yield encode(a.to_json())
            continue
        at = "null" if location is None else _origin_text(location, files)
        if at is None:
            yield encode(a.to_json())
            continue
        tail = tails.get(details)
        if tail is None:
            if not all(type(d) is str for d in details):
                yield encode(a.to_json())
                continue
            tail = tails[details] = ',"details":[' + ",".join(map(string, details)) + "]}"
        head = heads.get((aid, level))
        if head is None:
            head = heads[aid, level] = join(('{"id":', string(aid), ',"level":', string(level), ',"subject":'))
        yield join((head, string(subject), ',"message":', string(message), ',"location":', at, tail))


def _origin_text(origin: Any, files: dict[str, str]) -> str | None:
    """`_COMPACT(origin_json(origin))` of an `Origin`, written from its fields (`files`: each
    file's text, remembered); None when a field is not what it is written from (plain strings;
    lines plain integers or None; an address a plain string, or empty)."""
    if type(origin) is not Origin:
        return None
    file, pointer, line, end, address = origin.file, origin.pointer, origin.line, origin.end_line, origin.address
    if (type(file) is not str or type(pointer) is not str or (line is not None and type(line) is not int)
            or (end is not None and type(end) is not int) or (address and type(address) is not str)):
        return None
    at = files.get(file)
    if at is None:
        at = files[file] = '{"file":' + encode_basestring(file) + ',"pointer":'
    parts = [at, encode_basestring(pointer), ',"line":', "null" if line is None else int.__repr__(line)]
    if end is not None:
        parts += (',"end_line":', int.__repr__(end))
    if address:
        parts += (',"address":', encode_basestring(address))
    parts.append("}")
    return "".join(parts)


def _subject_before_peer(r: dict[str, Any]) -> bool:
    """Whether a result's `subject` comes before its `peer` (both refer to the subjects table)."""
    for key in r:
        if key == "subject":
            return True
        if key == "peer":
            return False
    return False


def _result_id(r: dict[str, Any]) -> str:
    subject = r.get("subject") or {}
    peer = r.get("peer") or {}
    return finding_id(str(r.get("requirement", "")), str(r.get("side", "")), str(subject.get("id", "")),
                      str(peer.get("id", "")) if isinstance(peer, dict) else "")


class Packer:
    """Results (and tables) of one report in packed form; ids in order of first use."""

    def __init__(self, report: dict[str, Any]):
        self.titles = {str(q.get("id")): q.get("title") for q in report.get("requirements", []) or []
                       if isinstance(q, dict)}
        self.tables: dict[str, dict[str, Any]] = {name: {} for name in TABLES}
        #: each table's entries as compact JSON text (what `ref` matched them by)
        self.texts: dict[str, dict[str, str]] = {name: {} for name in TABLES}
        self._ids: dict[str, dict[Any, str]] = {name: {} for name in TABLES}
        self._held: list[Any] = []           # objects whose id() keys the cache stay alive
        #: a key order of results -> (key, kind, default, table, many, the table's ids) of the
        #: keys to look at (an id already given is taken from the table's ids without a call)
        self._work: dict[tuple[str, ...], tuple[tuple[Any, ...], ...]] = {}

    def ref(self, table: str, obj: Any, text: str | None = None) -> str:
        """The id of an entry (the same id for an equal entry); `text`, when given, is the
        entry's compact JSON (`_COMPACT(obj)`)."""
        ids = self._ids[table]
        hit = ids.get(id(obj))
        if hit is not None:
            return hit
        if text is None:
            text = _COMPACT(obj)
        hit = ids.get(text)
        if hit is None:
            hit = ids[text] = f"{TABLES[table][0]}{len(self.texts[table]) + 1}"
            self.texts[table][hit] = text
        self.tables[table].setdefault(hit, obj)     # (an entry `subject_ref` made has no value yet)
        ids[id(obj)] = hit
        self._held.append(obj)
        return hit

    def subject_ref(self, subject: Any, rows: ResultRows) -> str:
        """`ref("subjects", rows.subject_json(subject))`, the entry's text written from the
        subject's fields (`_subject_text`) and matched by it alone: a subject is referred to
        from its rows, one look-up per subject object (60,000 at 30,000 VMs), no dictionary
        made. (`tables` holds the entry only when a result packed whole refers to it.)"""
        text = _subject_text(subject)
        if text is None:
            return self.ref("subjects", rows.subject_json(subject))
        ids = self._ids["subjects"]
        hit = ids.get(text)
        if hit is None:
            texts = self.texts["subjects"]
            hit = ids[text] = f"S{len(texts) + 1}"
            texts[hit] = text
        return hit

    def result(self, r: dict[str, Any]) -> dict[str, Any]:
        # a copy keeps every key in place; only the keys `_KINDS` names are looked at, in the
        # result's order (table ids are numbered in order of first use). Results of one report
        # have a few key orders: which keys to look at is worked out once per order.
        out = r.copy()
        order = tuple(r)
        work = self._work.get(order)
        if work is None:
            work = self._work[order] = tuple(
                (k, _KINDS[k], _DEFAULTS.get(k, _NO_DEFAULT), *_BY_KEY.get(k, (None, False)),
                 self._ids[_BY_KEY[k][0]] if k in _BY_KEY else None) for k in order if k in _KINDS)
        ref = self.ref
        for key, kind, default, table, many, ids in work:
            value = r[key]
            if kind == "other":
                if value == default and type(value) is type(default):
                    del out[key]
                elif table is not None:
                    if many:
                        if isinstance(value, list):
                            out[key] = [ids.get(id(x)) or ref(table, x) for x in value]
                    elif isinstance(value, (list, dict)):
                        out[key] = ids.get(id(value)) or ref(table, value)
            elif kind == "id":
                if value == _result_id(r):
                    del out[key]
            elif kind == "title":
                if value == self.titles.get(str(r.get("requirement"))):
                    del out[key]
            elif value == STATUS_SEVERITY.get(str(r.get("status"))):     # severity
                del out[key]
        return out

    def results(self, results: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for r in results:
            yield self.result(r)

    def lines(self, results: Iterable[dict[str, Any]], encode: Callable[[Any], str]) -> Iterator[str]:
        """`encode(self.result(r))` for each result, with the same table ids.

        A result whose values, all but `id` and `subject`, are the very objects of an earlier
        result's with the same keys (`Report.to_json` gives the results of subjects of equal
        standing such values) packs like it but for those two: its line is the earlier one's
        with this subject's reference, when `id` is left out for both (it is the id their
        requirement, side, subject and peer give). Keyed by the values' identities, held here."""
        rows: dict[tuple, Any] = {}
        blanks: dict[tuple[str, ...], tuple[int, int] | None] = {}
        for r in results:
            order = tuple(r)
            at = blanks.get(order, _UNSEEN)
            if at is _UNSEEN:
                at = blanks[order] = ((order.index("id"), order.index("subject"))
                                      if "id" in order and "subject" in order else None)
            if at is None:
                yield encode(self.result(r))
                continue
            values = tuple(r.values())
            ids = list(map(id, values))
            ids[at[0]] = ids[at[1]] = 0
            key = (order, *ids)
            row = rows.get(key, _UNSEEN)
            subject = r["subject"]
            if row is not None and row is not _UNSEEN and type(subject) is dict:
                _, requirement, side, peer_id, before, after = row
                if r["id"] == finding_id(requirement, side, str(subject.get("id", "")), peer_id):
                    yield before + self.ref("subjects", subject) + after
                    continue
            packed = self.result(r)
            yield encode(packed)
            if row is _UNSEEN:
                rows[key] = self._row(r, packed, values, encode)

    def row_lines(self, rows: ResultRows, encode: Callable[[Any], str]) -> Iterator[str]:
        """`lines(rows, encode)`, per kind: a kind's first row is packed and encoded, each further
        row of it is that line with the row's subject's reference (the rows of a kind differ only
        in `id` and `subject`: `ResultRows`), when the first row's `id` was left out and the
        subject's id is a string (then every row's `id` is the one `_result_id` gives it)."""
        made: list[Any] = [None] * len(rows.kinds)    # kind -> (before, after) its subject's reference (joined by it)
        more = {k for k, n in rows.kind_counts().items() if n > 1}     # kinds with more rows than one
        refs: dict[int, str | None] = {}               # id(subject) -> its reference (None: not reusable)
        subject_ref, subject_ids = self.subject_ref, self._ids["subjects"]
        last, at = None, None                          # the previous row's subject and reference
        likes = _Likes(rows, encode) if rows.like is not None else None
        for subject, k in rows.rows():
            line = made[k]
            if line:
                if subject is not last:
                    last, at = subject, refs.get(id(subject), _UNSEEN)
                    if at is _UNSEEN:
                        at = refs[id(subject)] = subject_ref(subject, rows) if type(subject.id) is str else None
                if at is not None:
                    yield at.join(line)
                    continue
            elif line is None and likes is not None:
                line = likes.line(subject, k)
                if line is not None:         # (like a kind packed already: nothing to number but the subject)
                    made[k] = line if k in more else False
                    hit = refs.get(id(subject))
                    if hit is None:
                        hit = refs[id(subject)] = subject_ref(subject, rows)
                    yield hit.join(line)
                    continue
            r = rows.row(subject, k)
            entry = r["subject"]
            if id(entry) not in subject_ids and ("peer" not in r or _subject_before_peer(r)):
                # (its reference as `subject_ref` gives it, without encoding its dictionary: the
                # entry `result` would number first among the subjects table's it refers to)
                hit = refs.get(id(subject))
                if hit is None:
                    hit = subject_ref(subject, rows)
                    if type(subject.id) is str:
                        refs[id(subject)] = hit
                subject_ids[id(entry)] = hit
                self._held.append(entry)
            packed = self.result(r)
            if line is None:
                if likes is not None:
                    likes.packed(k, r, packed)
                row = self._row(r, packed, (), encode) if k in more else None
                made[k] = row[4:] if row is not None else False
                if row is not None:      # (its line: the kind's around this row's subject's reference)
                    yield row[4] + packed["subject"] + row[5]
                    continue
            yield encode(packed)

    def _row(self, r: dict[str, Any], packed: dict[str, Any], values: tuple, encode: Callable[[Any], str]) -> Any:
        """What `lines` reuses of a packed result: its line around the subject's reference, and
        what the id of a result like it is made of, to leave `id` out as `_result_id` would (None:
        not reusable)."""
        if "id" in packed or type(r["subject"]) is not dict or not isinstance(packed.get("subject"), str):
            return None
        marked = dict(packed)
        marked["subject"] = _MARK
        parts = encode(marked).split(encode(_MARK))
        if len(parts) != 2:
            return None
        peer = r.get("peer") or {}
        peer_id = str(peer.get("id", "")) if isinstance(peer, dict) else ""
        return values, str(r.get("requirement", "")), str(r.get("side", "")), peer_id, parts[0] + '"', '"' + parts[1]


class _Likes:
    """The first rows of kinds like another (`ResultRows.like`: the same dictionary but for `id`,
    `subject` and `message`; at 30,000 VMs 6,421 of 13,931 kinds, multi-VM results whose message
    names the member's peers) whose first row comes after one of the other's was packed: such a
    row packs as that one did but for its subject and message (its table entries are numbered
    already, by the very objects), so its line is that row's with its subject's reference and
    its message, when `id` is left out of both (the id their requirement, side, subject and peer
    give) and both messages are strings. `line` gives it as the text before and after the
    subject's reference (as `Packer._row`), or None: the row is to be packed."""

    def __init__(self, rows: ResultRows, encode: Callable[[Any], str]):
        self.rows, self.encode = rows, encode
        self.like = rows.like or []
        #: a kind of no earlier one -> the first row packed of it or of a kind like it, then the
        #: template made of that (`_template`; None: not one)
        self.seen: dict[int, Any] = {}

    def line(self, subject: Any, k: int) -> tuple[str, str] | None:
        """The text of the first row of kind `k` (about `subject`) around its subject's reference,
        made from the first row packed of a kind it is like (class docstring), or None."""
        j = self.like[k]
        made = self.seen.get(k if j is None else j)
        if made is None:
            return None
        if type(made) is _Packed:          # (its template made now: a second kind of those is met)
            made = self.seen[k if j is None else j] = self._template(*made)
            if made is None:
                return None
        before, middle, after, requirement, side, peer_id = made
        message = self.rows.kinds[k]["message"]
        first = self.rows.firsts[k]
        if (type(message) is not str or type(subject.id) is not str or finding_id(
                first.requirement, first.side, subject.id, first.peer.id if first.peer else "")
                != finding_id(requirement, side, subject.id, peer_id)):     # (`rows.row`'s id, `_result_id`'s)
            return None
        return before, middle + self.encode(message) + after

    def packed(self, k: int, r: dict[str, Any], packed: dict[str, Any]) -> None:
        """Kind `k`'s first row `r` was packed as `packed`: kept for the kinds like it."""
        j = self.like[k]
        if (k if j is None else j) not in self.seen:
            self.seen[k if j is None else j] = _Packed((r, packed))

    def _template(self, r: dict[str, Any], packed: dict[str, Any]) -> tuple[str, ...] | None:
        """(text up to the subject's reference, from it to the message, after the message, and
        the requirement, side and peer id `_result_id` reads) of a packed row, or None when its
        `id` is kept, its subject or message is not a plain one, or the message comes first."""
        if ("id" in packed or type(r["subject"]) is not dict or type(packed.get("subject")) is not str
                or type(packed.get("message")) is not str):
            return None
        marked = dict(packed)
        marked["subject"], marked["message"] = _MARK, _MESSAGE_MARK
        text, mark, message_mark = self.encode(marked), self.encode(_MARK), self.encode(_MESSAGE_MARK)
        if text.count(mark) != 1 or text.count(message_mark) != 1 or text.find(mark) > text.find(message_mark):
            return None
        head, _, rest = text.partition(mark)
        middle, _, tail = rest.partition(message_mark)
        peer = r.get("peer") or {}
        peer_id = str(peer.get("id", "")) if isinstance(peer, dict) else ""
        return head + '"', '"' + middle, tail, str(r.get("requirement", "")), str(r.get("side", "")), peer_id


class _Packed(tuple):
    """A kind's first row and its packed form, as `_Likes` keeps them until a template is made."""


def pack(report: dict[str, Any]) -> dict[str, Any]:
    """The report as written to a file (module docstring); the input is not changed."""
    packer = Packer(report)
    out = {k: v for k, v in report.items() if k not in TABLES}
    out["schema_version"] = SCHEMA_VERSION
    out["results"] = list(packer.results(report.get("results", []) or []))
    out.update(packer.tables)
    return out


def unpack(report: dict[str, Any]) -> dict[str, Any]:
    """The in-memory form of a packed report (a report without tables is returned as it is)."""
    if not isinstance(report, dict) or not any(isinstance(report.get(t), dict) for t in TABLES):
        return report
    tables = {t: report.get(t) or {} for t in TABLES}
    titles = {str(q.get("id")): q.get("title") for q in report.get("requirements", []) or [] if isinstance(q, dict)}
    out = {k: v for k, v in report.items() if k not in TABLES}
    out["results"] = [_unpack_result(r, tables, titles) for r in report.get("results", []) or []]
    return out


def _unpack_result(r: dict[str, Any], tables: dict[str, dict[str, Any]], titles: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(r, dict):
        return r
    full: dict[str, Any] = {}
    for key, value in r.items():
        if key in _BY_KEY:
            table, many = _BY_KEY[key]
            entries = tables[table]
            if many and isinstance(value, list):
                value = [entries.get(x, x) if isinstance(x, str) else x for x in value]
            elif not many and isinstance(value, str):
                value = entries.get(value, value)
        full[key] = value
    full.setdefault("id", _result_id(full))
    if "title" not in full and str(full.get("requirement")) in titles:
        full["title"] = titles[str(full.get("requirement"))]
    if "severity" not in full and str(full.get("status")) in STATUS_SEVERITY:
        full["severity"] = STATUS_SEVERITY[str(full.get("status"))]
    for key, default in _DEFAULTS.items():
        if key not in full:
            full[key] = list(default) if isinstance(default, list) else default
    ordered = {k: full[k] for k in _ORDER if k in full}
    ordered.update((k, v) for k, v in full.items() if k not in ordered)
    return ordered
