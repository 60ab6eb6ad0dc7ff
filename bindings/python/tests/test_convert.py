"""Values copied between Python and the guest: property-based round trips and refusals."""

import math

import pytest
from hypothesis import given, settings, strategies as st

import sandvm

EXACT = 2**53

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-EXACT, max_value=EXACT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


def normal(v):
    """What a JSON copy gives back: tuples become lists, integral floats become ints."""
    if isinstance(v, float) and v.is_integer() and abs(v) < EXACT:
        return int(v)
    if isinstance(v, (list, tuple)):
        return [normal(x) for x in v]
    if isinstance(v, dict):
        return {k: normal(x) for k, x in v.items()}
    return v


SB = sandvm.Sandbox()


@settings(max_examples=150, deadline=None)
@given(values)
def test_round_trip_through_a_global(v):
    SB.set_global("v", v)
    assert SB.run("v") == normal(v)


@settings(max_examples=100, deadline=None)
@given(values)
def test_round_trip_through_an_exposed_function(v):
    SB.expose("echo", lambda x: x)
    SB.set_global("v", v)
    assert SB.run("echo(v)") == normal(v)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_strings_survive_guest_operations(s):
    SB.set_global("s", s)
    assert SB.run("s.length") == len(s.encode("utf-16-le")) // 2
    assert SB.run("JSON.parse(JSON.stringify(s))") == s


def test_special_values():
    assert sandvm.run("-0") == 0
    assert sandvm.run("1e308 * 10") is None  # no JSON form
    assert sandvm.run("NaN") is None
    assert sandvm.run("[1, , 3]") == [1, None, 3]
    assert sandvm.run("({a: undefined, b: () => 1, c: 2})") == {"c": 2}
    assert sandvm.run("x", globals={"x": (1, (2, 3))}) == [1, [2, 3]]
    assert sandvm.run("String(x)", globals={"x": EXACT}) == "9007199254740992"


def test_refusals_are_type_errors():
    cyclic = []
    cyclic.append(cyclic)
    d = {}
    d["me"] = d
    deep = []
    for _ in range(200):
        deep = [deep]
    for bad, words in [
        (cyclic, "cycle"),
        (d, "cycle"),
        (deep, "deeper"),
        ({1: "x"}, "keys must be str"),
        (EXACT + 1, "beyond 2^53"),
        (math.inf, "no JSON form"),
        (object(), "cannot be copied"),
        ({"k": [1, {2, 3}]}, "set"),
    ]:
        with pytest.raises(TypeError) as e:
            sandvm.run("x", globals={"x": bad})
        assert words in str(e.value), (bad, str(e.value))


def test_shared_references_are_not_cycles():
    shared = [1, 2]
    assert sandvm.run("x", globals={"x": [shared, shared, {"a": shared}]}) == [[1, 2], [1, 2], {"a": [1, 2]}]
