"""Results whose fields come from small pools of objects, as the results of an audit share theirs.

Made as the audit makes them: `Result.replaced` from a few bases (keeping or changing their kind),
a second `replaced` of another field (the same objects again, or new ones), and copies made by
`dataclasses.replace` (no kind: grouped by their fields' identities). Subjects include one equal
to another but not the same object, and equal values come as distinct objects too.
"""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from nsgcheck.answers import Decision, PathStep
from nsgcheck.audit.results import Result, Subject

VM1 = Subject("vm", "vm1", "/s/VM1", "10.0.0.4", "eastus")
VM2 = Subject("vm", "vm2", "/s/VM2", "10.0.0.5", "eastus")
DENY = Decision("nsg-a", "nic-nsg", "deny-all", 4000, "deny", 1.0)
BASE = Result("A2A-SRC-STORAGE", "t", VM1, "source", "fail", 0.0, "Storage.EastUS", "tcp", "443",
              decided_by=(DENY,), path=(PathStep("nic-nsg", "nsg-a", "deny"),), urls=("*.blob.core.windows.net",))


class OddId(str):
    """An id that is not a plain string: its `str()` is not its text (a packed result's `id`
    is then not the one `_result_id` gives, and is kept)."""

    def __str__(self) -> str:
        return "odd"


SUBJECTS = [VM1, VM2, Subject("vm", "vm3", "/s/vm3", "10.0.0.6"), Subject("nic", "nic1", "/s/NIC1"),
            Subject("vm", "VM1", "/s/VM1", "10.0.0.4", "eastus"),          # equal to VM1, another object
            Subject("vm", "vm4", OddId("/s/vm4"))]
FIX = (Decision("nsg-a", "nic-nsg", "fix-allow", 100, "allow", 1.0),)
#: second changes: the same objects each time (one kind after them) or new ones (a kind each),
#: equal values written differently (0.0, -0.0, 0), equal floats and tuples as new objects, NaN
CHANGES = [lambda: {"fixes": FIX}, lambda: {"fixes": (FIX[0],)}, lambda: {"fixes": (), "fix_note": "no fix"},
           lambda: {"status": "unknown", "coverage": 0.0}, lambda: {"message": "".join(["de", "nied"])},
           lambda: {"subject": VM2, "severity": "note"}, lambda: {"destination": "".join(["Stor", "age"])},
           lambda: {"coverage": 0.0}, lambda: {"coverage": -0.0}, lambda: {"coverage": 0},
           lambda: {"coverage": float("0.5")}, lambda: {"coverage": float("nan")},
           lambda: {"decided_by": (*BASE.decided_by,)}, lambda: {"decided_by": (*BASE.decided_by, *FIX)}]


def pooled_results() -> st.SearchStrategy[list[Result]]:
    messages = ["denied", "".join(["den", "ied"]), "allowed"]       # equal but not the same object
    decided = [(DENY,), (DENY,), (Decision("nsg-b", "subnet-nsg", "allow", 100, "allow", 0.5),), ()]
    fields = {
        "status": st.sampled_from(["fail", "partial", "pass", "unknown"]), "coverage": st.sampled_from([0.0, 0.5, 1.0, -0.0, 0]),
        "message": st.sampled_from(messages), "destination": st.sampled_from(["Storage", "".join(["Stor", "age"])]),
        "decided_by": st.sampled_from(decided),
        "peer": st.sampled_from([None, VM2]), "side": st.sampled_from(["source", "group"]),
        "requirement": st.sampled_from(["A2A-SRC-STORAGE", "A2A-SRC-AAD"]),
        "fixes": st.sampled_from([(), ()]), "fix_note": st.sampled_from(["", "no fix offered"]),
        "severity": st.sampled_from(["", "note"]), "urls": st.sampled_from([(), ("*.blob.core.windows.net",)]),
    }
    bases = st.lists(st.fixed_dictionaries(fields).map(lambda f: BASE.replaced(**f)), min_size=1, max_size=4)

    def made(base: Result, subject: Subject, how: str, change: int) -> Result:
        if how == "init":
            return dataclasses.replace(base, subject=subject)
        if how == "init, then":
            return dataclasses.replace(base, **{"subject": subject, **CHANGES[change]()})
        r = base.replaced(subject=subject)
        return r if how == "replaced" else r.replaced(**CHANGES[change]())

    return bases.flatmap(lambda bs: st.lists(
        st.builds(made, st.sampled_from(bs), st.sampled_from(SUBJECTS),
                  st.sampled_from(["init", "init, then", "replaced", "replaced, then"]),
                  st.integers(0, len(CHANGES) - 1)),
        max_size=12))
