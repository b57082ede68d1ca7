"""The ARM expression evaluator: literals, escapes, every function, errors, Unknown propagation."""

from __future__ import annotations

import pytest

from nsgcheck.errors import LoaderError
from nsgcheck.loaders.arm_expressions import (PLACEHOLDER_SUBSCRIPTION, SUPPORTED_FUNCTIONS, EvalContext,
                                              Evaluator, evaluate, is_expression, parse, tokenize)
from nsgcheck.model import Unknown

SUB = PLACEHOLDER_SUBSCRIPTION
UNK = Unknown("parameter 'secret' has no value")

PARAMS = {"name": "web", "count": 3, "flag": True, "rules": [{"name": "a"}, {"name": "b"}],
          "obj": {"Alpha": 1, "beta": {"x": 1}}, "secret": UNK, "mixed": [1, UNK]}
VARS = {"nsgName": "web-nsg", "ports": ["22", "443"]}


def ctx(**kw) -> EvalContext:
    c = EvalContext(parameter=lambda n: PARAMS[n], variable=lambda n: VARS[n],
                    file="t.json", pointer="/resources/0/name", line_of=lambda p: 7)
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def ev(text: str, **kw):
    return evaluate(text, ctx(**kw))


# ------------------------------------------------------------------ literals and escapes
def test_plain_strings_and_bracket_escape():
    assert ev("hello") == "hello"
    assert ev("[[not an expression]") == "[not an expression]"
    assert ev("[ not closed") == "[ not closed"
    assert ev("ends] [") == "ends] ["
    assert not is_expression("[[x]") and is_expression("[x()]")


def test_string_literal_quote_escape_and_numbers():
    assert ev("[concat('it''s', ' ', 'ok')]") == "it's ok"
    assert ev("['']") == ""
    assert ev("[add(-3, 5)]") == 2
    assert ev("[true()]") is True and ev("[false()]") is False and ev("[null()]") is None
    assert ev("[if(true, 1, 2)]") == 1


def test_tokenizer_and_parser_shapes():
    kinds = [t[0] for t in tokenize("concat('a', parameters('b').c[0])")]
    assert kinds == ["ident", "(", "str", ",", "ident", "(", "str", ")", ".", "name", "[", "num", "]", ")", "end"]
    assert parse("a.b(1)")[0] == "call"   # user-defined namespace.function


def test_property_access_and_indexing_nested():
    assert ev("[parameters('rules')[1].name]") == "b"
    assert ev("[parameters('obj').alpha]") == 1          # case-insensitive properties
    assert ev("[parameters('obj')['beta'].x]") == 1
    assert ev("[variables('ports')[add(0, 1)]]") == "443"
    assert ev("[split(concat('a,', toUpper('b')), ',')[1]]") == "B"


# ------------------------------------------------------------------ functions
@pytest.mark.parametrize("text,expected", [
    ("[parameters('name')]", "web"),
    ("[variables('nsgName')]", "web-nsg"),
    ("[concat('a', 1, 'b')]", "a1b"),
    ("[concat(createArray(1), createArray(2, 3))]", [1, 2, 3]),
    ("[format('{0}-{1:D3}-{{x}}', 'n', 7)]", "n-007-{x}"),
    ("[toLower('AbC')]", "abc"),
    ("[toUpper('AbC')]", "ABC"),
    ("[replace('a-b-c', '-', '')]", "abc"),
    ("[split('a;b,c', createArray(';', ','))]", ["a", "b", "c"]),
    ("[string(42)]", "42"),
    ("[string(createObject('a', 1))]", '{"a":1}'),
    ("[int('17')]", 17),
    ("[bool('true')]", True),
    ("[json('{\"a\": [1]}').a[0]]", 1),
    ("[add(2, 3)]", 5), ("[sub(2, 3)]", -1), ("[mul(2, 3)]", 6),
    ("[div(7, 2)]", 3), ("[div(-7, 2)]", -3), ("[mod(7, 3)]", 1), ("[mod(-7, 3)]", -1),
    ("[length('abc')]", 3), ("[length(parameters('rules'))]", 2), ("[length(parameters('obj'))]", 2),
    ("[empty('')]", True), ("[empty(createArray())]", True), ("[empty(parameters('obj'))]", False),
    ("[if(equals(1, 1), 'y', 'n')]", "y"),
    ("[equals(createArray(1, 'a'), createArray(1, 'a'))]", True),
    ("[not(true())]", False), ("[and(true(), false())]", False), ("[or(false(), true())]", True),
    ("[greater(2, 1)]", True), ("[less(2, 1)]", False), ("[greaterOrEquals(2, 2)]", True),
    ("[lessOrEquals('a', 'b')]", True),
    ("[coalesce(null(), null(), 'x')]", "x"),
    ("[createArray(1, 'a')]", [1, "a"]),
    ("[createObject('a', 1, 'b', 'x')]", {"a": 1, "b": "x"}),
    ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
    ("[union(createObject('a', createObject('x', 1)), createObject('a', createObject('y', 2)))]",
     {"a": {"x": 1, "y": 2}}),
    ("[intersection(createArray(1, 2, 3), createArray(3, 2))]", [2, 3]),
    ("[contains('hello', 'ell')]", True), ("[contains(createArray(1, 2), 3)]", False),
    ("[contains(parameters('obj'), 'ALPHA')]", True),
    ("[first('abc')]", "a"), ("[last(createArray(1, 2))]", 2),
    ("[take(createArray(1, 2, 3), 2)]", [1, 2]), ("[skip('abcd', 2)]", "cd"),
    ("[range(5, 3)]", [5, 6, 7]),
    ("[indexOf('abcB', 'B')]", 1), ("[lastIndexOf('abcb', 'B')]", 3),
    ("[startsWith('Hello', 'he')]", True), ("[endsWith('Hello', 'LO')]", True),
    ("[trim('  x ')]", "x"), ("[padLeft('7', 3, '0')]", "007"), ("[substring('abcdef', 1, 3)]", "bcd"),
    ("[base64('hi')]", "aGk="), ("[base64ToString('aGk=')]", "hi"),
    ("[items(createObject('b', 2, 'a', 1))]", [{"key": "a", "value": 1}, {"key": "b", "value": 2}]),
    ("[objectKeys(createObject('a', 1))]", ["a"]),
    ("[tryGet(parameters('obj'), 'missing')]", None),
    ("[tryGet(parameters('obj'), 'beta', 'x')]", 1),
    ("[array('x')]", ["x"]),
    ("[min(3, 1, 2)]", 1), ("[max(createArray(3, 1, 2))]", 3),
    ("[uri('https://a.example/x/', 'y.json')]", "https://a.example/x/y.json"),
])
def test_functions(text, expected):
    assert ev(text) == expected


def test_resource_ids():
    rg = f"/subscriptions/{SUB}/resourceGroups/resource-group"
    assert ev("[resourceId('Microsoft.Network/networkSecurityGroups', 'n1')]") == \
        f"{rg}/providers/Microsoft.Network/networkSecurityGroups/n1"
    assert ev("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]") == \
        f"{rg}/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    assert ev("[resourceId('other-rg', 'Microsoft.Network/virtualNetworks', 'v')]") == \
        f"/subscriptions/{SUB}/resourceGroups/other-rg/providers/Microsoft.Network/virtualNetworks/v"
    assert ev("[resourceId('s1', 'g1', 'Microsoft.Network/virtualNetworks', 'v')]") == \
        "/subscriptions/s1/resourceGroups/g1/providers/Microsoft.Network/virtualNetworks/v"
    assert ev("[resourceId('Microsoft.Network/virtualNetworks', 'v')]", subscription_id="abc",
              resource_group="prod") == "/subscriptions/abc/resourceGroups/prod/providers/Microsoft.Network/virtualNetworks/v"
    assert ev("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r')]") == \
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r"
    assert ev("[extensionResourceId('/x/y', 'Microsoft.Insights/diagnosticSettings', 'd')]") == \
        "/x/y/providers/Microsoft.Insights/diagnosticSettings/d"
    assert ev("[tenantResourceId('Microsoft.Management/managementGroups', 'm')]") == \
        "/providers/Microsoft.Management/managementGroups/m"


def test_scope_functions_and_overrides():
    assert ev("[resourceGroup().name]") == "resource-group"
    assert ev("[resourceGroup().id]") == f"/subscriptions/{SUB}/resourceGroups/resource-group"
    loc = ev("[resourceGroup().location]")
    assert isinstance(loc, Unknown) and "location" in loc.reason
    assert ev("[resourceGroup().location]", location="westeurope") == "westeurope"
    assert ev("[subscription().subscriptionId]") == SUB
    assert isinstance(ev("[deployment().name]"), Unknown)
    assert ev("[deployment().name]", deployment_name="d1") == "d1"


def test_copy_index_with_name_and_offset():
    # a resource loop 'outer' and a property loop 'inner' inside it
    c = ctx().with_loop("outer", 2, resource=True).with_loop("inner", 5)
    assert evaluate("[copyIndex()]", c) == 2          # without a name: the resource loop (ARM)
    assert evaluate("[copyIndex(1)]", c) == 3
    assert evaluate("[copyIndex('inner')]", c) == 5
    assert evaluate("[copyIndex('inner', 1)]", c) == 6
    assert evaluate("[copyIndex('outer', 10)]", c) == 12


def test_copy_index_without_name_outside_a_resource_loop_is_an_error():
    c = ctx().with_loop("vars", 3)                    # a variable (or property) loop only
    assert evaluate("[copyIndex('vars')]", c) == 3
    with pytest.raises(LoaderError) as e:
        evaluate("[copyIndex()]", c)
    assert "resource copy loop" in str(e.value) and "copyIndex('loopName')" in str(e.value)


def test_deterministic_hashes():
    a = ev("[uniqueString(resourceGroup().id, 'x')]")
    assert a == ev("[uniqueString(resourceGroup().id, 'x')]") and len(a) == 13 and a.isalnum()
    assert a != ev("[uniqueString(resourceGroup().id, 'y')]")
    g = ev("[guid('a', 'b')]")
    assert g == ev("[guid('a', 'b')]") and len(g) == 36


def test_function_names_are_case_insensitive():
    assert ev("[CONCAT(ToLower('A'), resourceid('Microsoft.Network/x', 'n'))]").startswith("a/subscriptions/")


def test_user_defined_functions():
    c = ctx(functions={"my.nsgname": (["base"], "[concat(parameters('base'), '-nsg')]")})
    assert evaluate("[my.nsgName('web')]", c) == "web-nsg"


def test_supported_list_covers_the_brief():
    for name in ("parameters", "variables", "concat", "format", "resourceid", "resourcegroup",
                 "subscription", "copyindex", "reference", "listkeys", "utcnow", "newguid", "items"):
        assert name in SUPPORTED_FUNCTIONS


# ------------------------------------------------------------------ Unknown propagation
@pytest.mark.parametrize("text", [
    "[reference('x').properties.ipAddress]",
    "[listKeys('x', '2020-01-01').keys[0].value]",
    "[utcNow()]", "[newGuid()]",
    "[concat('a', parameters('secret'))]",
    "[toLower(parameters('secret'))]",
    "[length(parameters('secret'))]",
    "[add(1, int(parameters('secret')))]",
    "[if(equals(parameters('secret'), 'x'), 1, 2)]",
    "[not(empty(parameters('secret')))]",
    "[resourceId('Microsoft.Network/networkSecurityGroups', parameters('secret'))]",
    "[format('{0}', parameters('secret'))]",
    "[string(parameters('mixed'))]",
    "[equals(parameters('mixed'), createArray(1, 2))]",
    "[json(parameters('secret'))]",
    "[parameters('secret').anything[3]]",
    "[coalesce(parameters('secret'), 'x')]",
    "[split(parameters('secret'), ',')[0]]",
    "[union(parameters('secret'), createArray(1))]",
    "[contains(createArray(parameters('secret')), 'x')]",
    "[someFutureFunction(1)]",
])
def test_unknown_propagates_with_expression_and_origin(text):
    v = ev(text)
    assert isinstance(v, Unknown), v
    assert v.text == text
    assert v.origin is not None and v.origin.file == "t.json" and v.origin.line == 7


def test_unknown_does_not_spread_where_the_answer_is_exact():
    assert ev("[if(true(), 'a', reference('x'))]") == "a"
    assert ev("[and(false(), equals(parameters('secret'), 1))]") is False
    assert ev("[or(true(), equals(parameters('secret'), 1))]") is True
    assert ev("[length(parameters('mixed'))]") == 2
    assert ev("[first(parameters('mixed'))]") == 1
    assert ev("[coalesce('x', parameters('secret'))]") == "x"
    assert ev("[contains(createArray('x', parameters('secret')), 'x')]") is True
    arr = ev("[createArray(1, parameters('secret'))]")
    assert arr[0] == 1 and isinstance(arr[1], Unknown)


def test_unknown_reason_names_the_cause():
    v = ev("[concat('a', reference('vm').x)]")
    assert "reference()" in v.reason and "deployment time" in v.reason
    assert "secret" in ev("[parameters('secret')]").reason


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("text,fragment", [
    ("[concat('a']", "expected ')'"),
    ("[concat('a)]", "unterminated string"),
    ("[concat('a') 'b']", "expected end of expression"),
    ("[parameters('nope')]", "not declared"),
    ("[variables('nope')]", "not declared"),
    ("[add('a', 1)]", "expected int"),
    ("[parameters('rules')[5]]", "out of range"),
    ("[parameters('obj').missing]", "no property 'missing'"),
    ("[div(1, 0)]", "division by zero"),
    ("[copyIndex()]", "outside a copy loop"),
    ("[if(1, 2)]", "takes 3"),
    ("[int('x')]", "cannot convert"),
    ("[resourceId('nope', 'x')]", "resource type"),
    ("[format('{1}', 'a')]", "no argument"),
    ("[concat(#)]", "unexpected character"),
    ("[]", "a value was expected"),
])
def test_errors_name_expression_and_location(text, fragment):
    with pytest.raises(LoaderError) as ei:
        ev(text)
    err = ei.value
    assert fragment in err.message
    assert text in err.message
    assert err.file == "t.json" and err.pointer == "/resources/0/name" and err.line == 7


def test_deep_nesting_is_an_error_not_a_crash():
    text = "[" + "concat(" * 3000 + "'x'" + ")" * 3000 + "]"
    with pytest.raises(LoaderError):
        ev(text)


def test_parse_cache_is_reused():
    e = Evaluator()
    c = ctx()
    assert e.string("[concat('a', 'b')]", c) == e.string("[concat('a', 'b')]", c) == "ab"


# ------------------------------------------------------------------ robustness
from hypothesis import given, strategies as st  # noqa: E402

_PIECES = st.sampled_from(["concat(", "parameters(", "'name'", "'x''y'", ",", ")", "[", "]", ".", "1", "-2",
                           "createArray(", "if(", "true", "reference('r')", "copyIndex()", "length(",
                           "variables('ports')", "json('{}')", "split('a,b',','", " ", "'", "name", "#"])


@given(st.lists(_PIECES, max_size=14))
def test_any_expression_text_gives_a_value_an_unknown_or_a_loader_error(pieces):
    text = "[" + "".join(pieces) + "]"
    try:
        ev(text)
    except LoaderError as e:
        assert e.file == "t.json" and text in e.message


# ------------------------------------------------------------------ functions compiled Bicep emits
# Expected values are the outputs printed in Microsoft's ARM template function reference
# (template-functions-lambda, -object, -array, -cidr, -string), checked by hand.
DOGS = [{"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]},
        {"name": "Casper", "age": 3, "interests": ["Other dogs"]},
        {"name": "Indy", "age": 2, "interests": ["Butter"]},
        {"name": "Kira", "age": 8, "interests": ["Rubs"]}]


def dogs(text: str):
    c = ctx(variable=lambda n: {"dogs": DOGS, **VARS}[n])
    return evaluate(text, c)


def names(v):
    return [d["name"] for d in v]


def test_filter():
    assert names(dogs("[filter(variables('dogs'), lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))]")) \
        == ["Evie", "Kira"]
    assert ev("[filter(range(0, 10), lambda('i', equals(0, mod(lambdaVariables('i'), 2))))]") == [0, 2, 4, 6, 8]
    # Bicep's optional index variable
    assert ev("[filter(createArray('a', 'b', 'c'), lambda('x', 'i', not(equals(lambdaVariables('i'), 1))))]") \
        == ["a", "c"]


def test_map():
    assert dogs("[map(variables('dogs'), lambda('dog', lambdaVariables('dog').name))]") == \
        ["Evie", "Casper", "Indy", "Kira"]
    assert dogs("[map(variables('dogs'), lambda('dog', format('Hello {0}!', lambdaVariables('dog').name)))]")[3] \
        == "Hello Kira!"
    assert dogs("[map(range(0, length(variables('dogs'))), lambda('i', createObject('i', lambdaVariables('i'), "
                "'dog', variables('dogs')[lambdaVariables('i')].name)))]")[1] == {"i": 1, "dog": "Casper"}
    assert ev("[map(createArray('a', 'b'), lambda('x', 'i', concat(lambdaVariables('x'), string(lambdaVariables('i')))))]") \
        == ["a0", "b1"]


def test_reduce():
    ages = "map(variables('dogs'), lambda('dog', lambdaVariables('dog').age))"
    plus = "lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next')))"
    assert dogs(f"[reduce({ages}, 0, {plus})]") == 18
    assert dogs(f"[reduce({ages}, 1, {plus})]") == 19
    assert ev("[reduce(createArray(createObject('foo', 123), createObject('bar', 456), createObject('baz', 789)), "
              "createObject(), lambda('cur', 'next', union(lambdaVariables('cur'), lambdaVariables('next'))))]") \
        == {"foo": 123, "bar": 456, "baz": 789}


def test_sort_is_stable_by_the_predicate():
    assert names(dogs("[sort(variables('dogs'), lambda('a', 'b', less(lambdaVariables('a').age, "
                      "lambdaVariables('b').age)))]")) == ["Indy", "Casper", "Evie", "Kira"]
    assert ev("[sort(createArray('b1', 'a', 'b2'), lambda('x', 'y', less(length(lambdaVariables('x')), "
              "length(lambdaVariables('y')))))]") == ["a", "b1", "b2"]


def test_to_object_group_by_map_values():
    assert dogs("[toObject(variables('dogs'), lambda('entry', lambdaVariables('entry').name))]")["Indy"] == DOGS[2]
    assert dogs("[toObject(variables('dogs'), lambda('e', lambdaVariables('e').name), "
                "lambda('e', lambdaVariables('e').age))]") == {"Evie": 5, "Casper": 3, "Indy": 2, "Kira": 8}
    assert ev("[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]") \
        == {"f": ["foo"], "b": ["bar", "baz"]}
    assert ev("[mapValues(createObject('foo', 'foo'), lambda('val', toUpper(lambdaVariables('val'))))]") \
        == {"foo": "FOO"}


def test_lambdas_close_over_outer_lambda_variables():
    assert ev("[map(createArray(1, 2), lambda('x', map(createArray(10, 20), "
              "lambda('y', add(lambdaVariables('x'), lambdaVariables('y'))))))]") == [[11, 21], [12, 22]]


def test_lambda_errors_are_loader_errors():
    for text in ("[lambdaVariables('x')]", "[map(createArray(1), 'notalambda')]",
                 "[filter(createArray(1), lambda('x', 'y', 'z', true()))]", "[filter(createArray(1), lambda('x', 1))]"):
        with pytest.raises(LoaderError):
            ev(text)


def test_lambdas_over_unknowns_give_unknowns_never_a_guess():
    assert isinstance(ev("[filter(parameters('secret'), lambda('x', true()))]"), Unknown)
    # whether the unknown element is kept is not known: the whole result is unknown
    assert isinstance(ev("[filter(parameters('mixed'), lambda('x', equals(lambdaVariables('x'), 1)))]"), Unknown)
    mapped = ev("[map(parameters('mixed'), lambda('x', lambdaVariables('x')))]")
    assert mapped[0] == 1 and isinstance(mapped[1], Unknown)
    assert isinstance(ev("[sort(parameters('mixed'), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]"),
                      Unknown)
    assert isinstance(ev("[toObject(parameters('mixed'), lambda('x', string(lambdaVariables('x'))))]"), Unknown)
    assert isinstance(ev("[reduce(parameters('mixed'), 0, lambda('c', 'n', add(lambdaVariables('c'), lambdaVariables('n'))))]"),
                      Unknown)


def test_flatten_join_index_from_end():
    assert ev("[flatten(createArray(createArray('one', 'two'), createArray('three'), createArray('four', 'five')))]") \
        == ["one", "two", "three", "four", "five"]
    assert ev("[flatten(createArray(createArray(createArray(1))))]") == [[1]]   # one level only
    assert isinstance(ev("[flatten(createArray(createArray(1), parameters('secret')))]"), Unknown)
    assert ev("[join(createArray('a', 'b', 'c'), ',')]") == "a,b,c"
    assert ev("[indexFromEnd(createArray(1, 2, 3), 1)]") == 3
    assert ev("[tryIndexFromEnd(createArray(1, 2, 3), 4)]") is None
    with pytest.raises(LoaderError):
        ev("[flatten(createArray(1))]")


def test_contains_empty_length_on_unknowns_are_unknown():
    for text in ("[contains(parameters('secret'), 'a')]", "[empty(parameters('secret'))]",
                 "[length(parameters('secret'))]", "[contains(parameters('mixed'), 2)]",
                 "[contains(parameters('obj'), parameters('secret'))]"):
        assert isinstance(ev(text), Unknown), text
    assert ev("[contains(parameters('mixed'), 1)]") is True
    assert ev("[contains('OneTwoThree', 'two')]") is False          # strings: case-sensitive
    assert ev("[contains(createObject('One', 1), 'one')]") is True   # object keys: case-insensitive


def test_union_merges_objects_deeply_and_replaces_nested_arrays():
    first = "createObject('property', createObject('one', 'a', 'two', 'b', 'three', 'c1'), 'nestedArray', createArray(1, 2))"
    second = "createObject('property', createObject('three', 'c2', 'four', 'd', 'five', 'e'), 'nestedArray', createArray(3, 4))"
    assert ev(f"[union({first}, {second})]") == {
        "property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]}
    assert ev("[union(createArray(createArray('one', 'two'), createArray('three')), "
              "createArray(createArray('three'), createArray('four', 'two')))]") == [["one", "two"], ["three"], ["four", "two"]]
    assert ev("[intersection(createObject('one', 'a', 'two', 'b', 'three', 'c'), "
              "createObject('one', 'a', 'two', 'z', 'three', 'c'))]") == {"one": "a", "three": "c"}


def test_items_object_keys_try_get_shallow_merge_coalesce():
    assert ev("[items(createObject('item002', 2, 'item001', 1))]") == [{"key": "item001", "value": 1},
                                                                       {"key": "item002", "value": 2}]
    assert ev("[objectKeys(createObject('a', 1, 'b', 2))]") == ["a", "b"]
    assert ev("[tryGet(createObject('a', createObject('b', 1)), 'a', 'b')]") == 1
    assert ev("[tryGet(createObject('a', 1), 'missing')]") is None
    assert ev("[shallowMerge(createArray(createObject('a', createObject('x', 1)), createObject('a', createObject('y', 2))))]") \
        == {"a": {"y": 2}}
    assert ev("[coalesce(null(), null(), 'x')]") == "x"
    assert isinstance(ev("[coalesce(parameters('secret'), 'x')]"), Unknown)


def test_json_string_index_of():
    assert ev("[json('{\"a\": \"b\"}')]") == {"a": "b"}
    assert ev("[json('null')]") is None
    assert ev("[string(createObject('a', createArray(1, true())))]") == '{"a":[1,true]}'
    assert ev("[string(true())]") == "True"
    assert ev("[indexOf('test', 'T')]") == 0 and ev("[lastIndexOf('abcdef', 'AB')]") == 0
    assert ev("[indexOf(createArray('a', 'b', 'b'), 'b')]") == 1 and ev("[lastIndexOf(createArray(1, 2, 2), 2)]") == 2


def test_uri_and_data_uri():
    assert ev("[uri('http://contoso.org/firstpath', 'myscript.sh')]") == "http://contoso.org/myscript.sh"
    assert ev("[uri('http://contoso.org/firstpath/', 'myscript.sh')]") == "http://contoso.org/firstpath/myscript.sh"
    assert ev("[uri('http://contoso.org/firstpath/azuredeploy.json/', 'myscript.sh')]") \
        == "http://contoso.org/firstpath/azuredeploy.json/myscript.sh"
    assert ev("[dataUri('Hello')]") == "data:text/plain;charset=utf8;base64,SGVsbG8="
    assert ev("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]") == "Hello, World!"



@pytest.mark.parametrize("arg, says", [
    ("'aGk'", "not valid base64 text"),                      # wrong padding (binascii.Error)
    ("'gA=='", "does not decode to UTF-8 text"),             # byte 0x80 (UnicodeDecodeError)
    ("'aGk\u00e9='", "characters outside ASCII"),            # ValueError
    ("1", "expected string"),                                 # the argument check, not a decoding error
])
def test_base64_to_string_errors_say_what_is_wrong(arg, says):
    with pytest.raises(LoaderError) as e:
        ev(f"[base64ToString({arg})]")
    assert says in str(e.value)

def test_cidr_functions():
    assert ev("[parseCidr('10.144.0.0/20')]") == {
        "network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255",
        "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20}
    assert ev("[parseCidr('fdad:3236:5555::/48')]") == {
        "network": "fdad:3236:5555::", "netmask": "ffff:ffff:ffff::", "firstUsable": "fdad:3236:5555::",
        "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff", "cidr": 48}
    assert [ev(f"[cidrSubnet('10.144.0.0/20', 24, {i})]") for i in range(5)] == [
        "10.144.0.0/24", "10.144.1.0/24", "10.144.2.0/24", "10.144.3.0/24", "10.144.4.0/24"]
    assert ev("[cidrSubnet('fdad:3236:5555::/48', 52, 4)]") == "fdad:3236:5555:4000::/52"
    assert [ev(f"[cidrHost('10.144.3.0/24', {i})]") for i in (0, 4)] == ["10.144.3.1", "10.144.3.5"]
    assert ev("[cidrHost('fdad:3236:5555:3000::/52', 0)]") == "fdad:3236:5555:3000::1"
    for bad in ("[cidrSubnet('10.0.0.0/24', 16, 0)]", "[cidrSubnet('10.0.0.0/24', 26, 4)]",
                "[cidrHost('10.0.0.0/30', 2)]", "[parseCidr('nope')]"):
        with pytest.raises(LoaderError):
            ev(bad)


def test_user_defined_functions_with_namespaces_call_each_other():
    c = ctx(functions={"__bicep.suffix": (["n"], "[format('{0}-nsg', parameters('n'))]"),
                       "__bicep.full": (["n"], "[toUpper(__bicep.suffix(parameters('n')))]")})
    assert evaluate("[__bicep.full('web')]", c) == "WEB-NSG"


def test_management_group_resource_id_and_fail():
    assert ev("[managementGroupResourceId('mg1', 'Microsoft.Authorization/policyDefinitions', 'p1')]") == \
        "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/p1"
    assert isinstance(ev("[managementGroupResourceId('Microsoft.Authorization/policyDefinitions', 'p1')]"), Unknown)
    assert isinstance(ev("[if(true(), fail('bad input'), 1)]"), Unknown)
    assert ev("[if(false(), fail('bad input'), 1)]") == 1


# ------------------------------------------------------------------ remembered pure expressions
def _expressions():
    from hypothesis import strategies as st

    lits = st.sampled_from(["'a'", "'nic-1'", "'Microsoft.Network/networkInterfaces'", "'x/y'", "''", "1", "true",
                            "null", "'Microsoft.Network/virtualNetworks/subnets'", "'it''s'"])
    impure = st.sampled_from(["parameters('name')", "variables('nsgName')", "parameters('secret')",
                              "copyIndex()", "reference('x')", "uniqueString('a')", "resourceGroup().name"])
    whole = st.sampled_from([
        "resourceId('Microsoft.Network/networkInterfaces', 'nic-1')",
        "resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', toLower('SNET'))",
        "subscriptionResourceId('Microsoft.Network/networkSecurityGroups', 'n')",
        "resourceId('other-sub', 'other-rg', 'Microsoft.Network/networkSecurityGroups', 'n')",
        "concat('nic-', copyIndex())", "concat(resourceGroup().name, '-x')", "toUpper(parameters('name'))",
        "concat('a', parameters('secret'))", "resourceId('Microsoft.Network/networkInterfaces', concat('n', 'ic'))"])
    return whole | st.recursive(lits | impure, lambda kids: st.builds(
        lambda f, args: f"{f}({', '.join(args)})",
        st.sampled_from(["concat", "toLower", "toUpper", "resourceId", "subscriptionResourceId", "format", "string"]),
        st.lists(kids, max_size=4)), max_leaves=6)


def _outcome(evaluator, text, c):
    try:
        value = evaluator.string(text, c)
    except LoaderError as e:
        return ("error", type(e).__name__, str(e))
    return ("value", repr(value))


def test_pure_expressions_give_what_evaluating_them_afresh_gives():
    """An expression of literals and pure functions is remembered per subscription and resource
    group: each use gives exactly what a fresh evaluator gives there (value, Unknown and its
    origin, or the error and where it is written)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scopes = st.tuples(st.sampled_from(["s1", "s2", UNK]), st.sampled_from(["g1", "G1", UNK]), st.booleans(),
                       st.sampled_from(["/resources/0/name", "/resources/3/properties/x"]),
                       st.sampled_from([{}, {"": 2}]))

    @settings(max_examples=150, deadline=None)
    @given(st.lists(_expressions(), min_size=1, max_size=4), st.lists(scopes, min_size=2, max_size=6),
           st.randoms(use_true_random=False))
    def check(bodies, contexts, rnd):
        shared = Evaluator()
        uses = [(body, scope) for body in bodies for scope in contexts]
        rnd.shuffle(uses)
        for body, (sub, rg, symbolic, pointer, loops) in uses:
            c = ctx(subscription_id=sub, resource_group=rg, symbolic=symbolic, pointer=pointer, copy_indexes=loops)
            known = shared.known(f"[{body}]", c)
            assert _outcome(shared, f"[{body}]", c) == _outcome(Evaluator(), f"[{body}]", c)
            assert known is None or ("value", repr(known)) == _outcome(Evaluator(), f"[{body}]", c)
    check()


# ------------------------------------------------------------------ the flat-call shortcut of parse
def _parse_outcome(fn, body):
    from nsgcheck.loaders.arm_expressions import _Fail
    try:
        return ("node", fn(body))
    except _Fail as e:
        return ("error", str(e))


def test_parse_of_a_call_with_literal_arguments_gives_what_the_tokenizer_and_parser_give():
    """`parse` reads `name('a', 'b')` without the tokenizer: the node (or the error) is exactly
    what the tokenizer and parser give, for texts close to that form and those just off it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from nsgcheck.loaders.arm_expressions import _parse_tokens, parse

    pieces = st.sampled_from(["resourceId", "concat", "a.b", "$x", "_1", "true", "9z", "(", ")", "'", "''",
                              "'Microsoft.Network/networkInterfaces'", "'nic-1'", "'a''b'", "'(,)'", "'\n'",
                              ",", ", ", ",  ", " ", "\t", "[0]", ".name", "1", "x"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(pieces, max_size=10))
    def check(parts):
        body = "".join(parts)
        assert _parse_outcome(parse, body) == _parse_outcome(_parse_tokens, body)
    check()
    for body in ["resourceId('Microsoft.Network/networkInterfaces', 'nic-1')", "f('')", "f('', '')",
                 "f('a','b', 'c')", "f('a''b')", "f( 'a')", "f('a' )", "f('a',)", "f()", "a.b('x')",
                 "f('a')[0]", "f('a').x", "f('a') ", " f('a')"]:
        assert _parse_outcome(parse, body) == _parse_outcome(_parse_tokens, body), body
    assert parse("resourceId('T/t', 'n')") == ("call", "resourceId", [("lit", "T/t"), ("lit", "n")], 0)


# ------------------------------------------------------------------ the literal resourceId() shortcut
def test_known_gives_what_evaluating_afresh_gives_for_resource_ids_of_literals():
    """`Evaluator.known` reads `[resourceId('T', 'n')]` of literal arguments without the general
    evaluator: when it answers, the string is exactly what a fresh evaluator gives there; it
    leaves to `string` what it cannot answer (errors, unknown scopes, other functions, other forms)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    words = st.sampled_from(["Microsoft.Network/networkInterfaces", "Microsoft.Network/virtualNetworks/subnets",
                             "microsoft.network/networkSecurityGroups", "nic-1", "vnet/snet", "a.b/c", "other-rg",
                             "other-sub", "", "x/", "Microsoft.Network", "it''s", "n.1", "\ue000p\ue001"])
    rtypes = st.sampled_from(["Microsoft.Network/networkInterfaces", "Microsoft.Network/virtualNetworks/subnets",
                              "Microsoft.Network/a/b/c", "a.b/c", "Microsoft.Network/"])
    # a scope of 0 to 3 segments, a type, as many names as it needs (sometimes one more or less); or any words
    name = st.sampled_from(["nic-1", "v", "s", "", "n.1", "x/y", "\ue000p\ue001"])
    shaped = st.builds(lambda scope, rtype_names: scope + rtype_names,
                       st.lists(st.sampled_from(["other-sub", "other-rg", "g", ""]), max_size=3).filter(
                           lambda scope: len(scope) < 3 or scope[0] == ""),
                       rtypes.flatmap(lambda t: st.lists(name, min_size=max(0, t.count("/") - 1),
                                                         max_size=t.count("/") + 1).map(lambda ns: [t] + ns)))
    args = shaped | st.lists(words, max_size=5)
    # mostly the form the shortcut reads, and forms just off it
    names = st.sampled_from(["resourceId"] * 4 + ["RESOURCEID", "resourceid", "subscriptionResourceId", "concat"])
    seps = st.sampled_from([", "] * 4 + [",", " , ", ",  "])
    scopes = st.tuples(st.sampled_from(["s1", "s1", "s1", UNK]), st.sampled_from(["g1", "G 2", "g1", UNK]),
                       st.sampled_from([False, False, False, True]))

    @settings(max_examples=300, deadline=None)
    @given(names, args, seps, st.sampled_from(["[{}]"] * 6 + ["[{} ]", "[[{}]", "{}]", "[ {}]"]),
           st.lists(scopes, min_size=1, max_size=3))
    def check(name, given_args, sep, frame, contexts):
        text = frame.format(f"{name}({sep.join(repr_arg(a) for a in given_args)})")
        shared = Evaluator()
        for sub, rg, symbolic in contexts * 2:     # each scope twice: the second from what is remembered
            c = ctx(subscription_id=sub, resource_group=rg, symbolic=symbolic)
            known = shared.known(text, c)
            assert known is None or ("value", repr(known)) == _outcome(Evaluator(), text, c), (text, sub, rg)

    def repr_arg(a: str) -> str:
        return f"'{a}'"

    check()
    # texts just off the form: a type too far along, names spelt with letters that match
    # 'resourceId' only when case is folded beyond ASCII, a name segment too many or too few
    for text in ["[resourceId('a', 'b', 'c', 'Microsoft.Network/networkInterfaces', 'n')]",
                 "[reſourceId('Microsoft.Network/networkInterfaces', 'n')]",
                 "[resourceİd('Microsoft.Network/networkInterfaces', 'n')]",
                 "[resourceId('Microsoft.Network/networkInterfaces', 'n', 'm')]",
                 "[resourceId('Microsoft.Network/networkInterfaces', 'n/m')]",
                 "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v')]"]:
        c = ctx(subscription_id="s1", resource_group="g1")
        assert Evaluator().known(text, c) is None, text
    # the shortcut answers the forms a large template writes thousands of times
    for text, want in [("[resourceId('Microsoft.Network/networkInterfaces', 'nic-1')]",
                        "/subscriptions/s1/resourceGroups/g1/providers/Microsoft.Network/networkInterfaces/nic-1"),
                       ("[resourceId('rg2', 'Microsoft.Network/virtualNetworks/subnets', 'v', 's')]",
                        "/subscriptions/s1/resourceGroups/rg2/providers/Microsoft.Network/virtualNetworks/v/subnets/s"),
                       ("[resourceId('s9', 'rg2', 'Microsoft.Network/networkSecurityGroups', 'n')]",
                        "/subscriptions/s9/resourceGroups/rg2/providers/Microsoft.Network/networkSecurityGroups/n")]:
        assert Evaluator().known(text, ctx(subscription_id="s1", resource_group="g1")) == want


def test_the_one_name_resource_id_read_at_once_is_what_the_flat_reading_and_the_evaluator_give():
    """`[resourceId('Ns.X/type', 'name')]` in the template's own scope is read by one regular
    expression (`_ONE_RESOURCE_ID`): over texts on and just off that form (namespaces without a
    dot, types and names with more segments, quotes doubled or missing, nested calls, spaces, the
    name of the function in any case, unknown scopes) `known` answers what the general flat reading
    (`_literal_resource_id` of the split arguments) and a fresh evaluator give, and answers the form."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from nsgcheck.loaders.arm_expressions import _FLAT_ARG, _FLAT_RESOURCE_ID, _ONE_RESOURCE_ID

    words = ["nic-1", "", "it''s", "it's", "n)", "n]", "concat('a')", "Ä", "x y", "n.1", "a, 'b"]
    part = st.sampled_from(["Microsoft.Network", "microsoft.network", "a.b", ".", "Network", "", "a'b.c", "x y.z",
                            "Ä.b", "[a.b", "a.b)"])
    segments = st.lists(st.sampled_from(words), min_size=1, max_size=3).map("/".join)   # a type or a name
    fn = st.sampled_from(["resourceId"] * 6 + ["RESOURCEID", "resourceid", "resourceIds", "concat"])
    sep = st.sampled_from([", "] * 6 + [",", " ,", ",  ", ", '', "])
    scope = st.tuples(st.sampled_from(["s1", "s1", "s1", UNK]), st.sampled_from(["g1", "G 2", "g1", UNK]),
                      st.booleans())

    def agree(text, sub, rg, symbolic):
        c = ctx(subscription_id=sub, resource_group=rg, symbolic=symbolic)
        known = Evaluator().known(text, c)
        m = _FLAT_RESOURCE_ID.fullmatch(text)
        flat = None if m is None else Evaluator()._literal_resource_id([m[1], *_FLAT_ARG.findall(m[2])], sub, rg)
        assert known == flat, text
        assert known is None or ("value", repr(known)) == _outcome(Evaluator(), text, c), text
        if _ONE_RESOURCE_ID.fullmatch(text) and isinstance(sub, str) and isinstance(rg, str):
            assert known is not None, text

    @settings(max_examples=300, deadline=None)
    @given(fn, part, segments, sep, segments, st.sampled_from(["[{}]"] * 8 + ["[{} ]", "{}]", "[{}", "[{}]x"]),
           scope)
    def check(f, ns, rt, s, n, frame, sc):
        agree(frame.format(f"{f}('{ns}/{rt}'{s}'{n}')"), *sc)

    check()
    for body in ["'Microsoft.Network/networkInterfaces', 'n/m'", "'Network/networkInterfaces', 'n'",
                 "'Microsoft.Network/virtualNetworks/subnets', 'v'", "'Microsoft.Network/t', 'it''s'",
                 "'Microsoft.Network/t','n'", "'Microsoft.Network/t' , 'n'", "'Microsoft.Network/t', 'n', 'm'",
                 "'rg', 'Microsoft.Network/t', 'n'", "'Microsoft.Network/', 'n'", "'Microsoft.Network/t', ''"]:
        for f in ("resourceId", "RESOURCEID", "reſourceId"):
            for sc in (("s1", "g1", False), ("s1", UNK, False), (UNK, "g1", True)):
                agree(f"[{f}({body})]", *sc)


def test_known_leaves_a_resource_id_past_the_text_limit_to_the_evaluator(monkeypatch):
    """A literal resourceId() longer than MAX_TEXT is not answered by the shortcut: the evaluator
    refuses it with its limit error."""
    from nsgcheck.loaders import arm_expressions

    text = "[resourceId('Microsoft.Network/networkInterfaces', 'nic-1')]"
    monkeypatch.setattr(arm_expressions, "MAX_TEXT", 60)
    c = ctx(subscription_id="s1", resource_group="g1")
    assert Evaluator().known(text, c) is None
    from nsgcheck.errors import LimitError
    with pytest.raises(LimitError, match="limit is 60"):
        Evaluator().string(text, c)
    monkeypatch.setattr(arm_expressions, "MAX_TEXT", 100)
    assert Evaluator().known(text, c) == Evaluator().string(text, c)
