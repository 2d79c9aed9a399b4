"""The macro expander and the conditional evaluator (cvewatch.inventory.macros)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvewatch.errors import SpecParseError
from cvewatch.inventory.conditionals import ConditionalStack
from cvewatch.inventory.macros import MacroContext


def ctx(**defines: str) -> MacroContext:
    return MacroContext(dist=".azl3", arch="x86_64", defines=defines)


def test_dist_and_defaults() -> None:
    c = ctx()
    assert c.expand("3%{?dist}") == "3.azl3"
    assert c.expand("3%{dist}") == "3.azl3"
    assert c.expand("%{_libdir}/x") == "/usr/lib64/x"
    assert c.expand("%{_prefix}%{?_isa}") == "/usr(x86-64)"
    assert c.expand("100%% sure") == "100% sure"
    assert c.warnings == []


def test_define_global_nested_and_lazy() -> None:
    c = ctx()
    c.expand("%define major 1")
    c.expand("%global full %{major}.2")
    c.expand("%define lazy %{later}")
    c.expand("%global later x")
    assert c.expand("%{full}-%lazy") == "1.2-x"
    c.expand("%undefine major")
    assert not c.is_defined("major")


def test_conditional_forms() -> None:
    c = ctx(on="yes")
    assert (
        c.expand("[%{?on}][%{?off}][%{!?off:no}][%{?on:set}][%{!?on:x}][%{?off:x}]") == "[yes][][no][set][][]"
    )
    assert c.expand("%{defined on} %{undefined on} %{defined off}") == "1 0 0"
    assert c.expand("%?on") == "yes"
    assert c.warnings == []


def test_conditional_global_inside_braces() -> None:
    c = ctx()
    c.expand("%{!?KMP: %global KMP 0}")
    assert c.get("KMP") == "0"


def test_parametric_macro() -> None:
    c = ctx()
    c.expand("%define greet(n:) hello %1 %2 [%*] %{-n*} %#")
    assert c.expand("%{greet -n bob a b}") == "hello a b [a b] bob 2"
    assert c.expand("%greet x y z\nnext") == "hello x y [x y z]  3\nnext"


def test_multiline_define_body() -> None:
    c = ctx()
    c.expand("%define two() \\\nline1 %1 \\\nline2")
    assert c.expand("%two A") == "line1 A \nline2"


def test_expand_and_builtins() -> None:
    c = ctx(name="curl", version="8.1")
    assert c.expand("%{expand:%%{name}}") == "curl"
    assert c.expand("%{basename:/a/b/c.tar.gz} %{dirname:/a/b/c} %{suffix:x.patch}") == "c.tar.gz /a/b patch"
    assert c.expand("%{upper:ab} %{lower:CD} %{len:abc}") == "AB cd 3"
    assert c.expand("%[1 + 2 * 3]") == "7"


def test_unknown_macro_stays_literal_and_is_reported() -> None:
    c = ctx()
    assert c.expand("a %{nosuch} b %nosuch2") == "a %{nosuch} b %nosuch2"
    names = {w.macro for w in c.warnings}
    assert names == {"nosuch", "nosuch2"}
    assert all("left literal" in w.message for w in c.warnings)


def test_lua_and_shell_not_evaluated_but_reported() -> None:
    c = ctx()
    assert c.expand("%{lua: print(1)}") == "%{lua: print(1)}"
    assert c.expand("%(echo hi)") == "%(echo hi)"
    messages = " ".join(w.message for w in c.warnings)
    assert "lua" in messages and "shell" in messages


def test_silent_mode() -> None:
    c = ctx()
    c.expand("%{nosuch}", warn=False)
    assert c.warnings == []


def test_recursion_is_bounded() -> None:
    c = ctx()
    c.expand("%define loop %{loop}")
    with pytest.raises(SpecParseError, match="recursion"):
        c.expand("%{loop}")


def test_exponential_blowup_is_bounded() -> None:
    c = ctx()
    c.expand("%define a0 xxxxxxxxxxxxxxxx")
    for i in range(1, 40):
        c.expand(f"%define a{i} %{{a{i - 1}}}%{{a{i - 1}}}")
    with pytest.raises(SpecParseError):
        c.expand("%{a39}")


@pytest.mark.parametrize(
    ("expr", "defines", "expected"),
    [
        ("0%{?with_x}", {}, False),
        ("0%{?with_x}", {"with_x": "1"}, True),
        ("%{defined x}", {"x": "0"}, True),
        ("!%{defined x}", {}, True),
        ("%{undefined x}", {}, True),
        ("1 == 1 && 2 > 1", {}, True),
        ("1 != 1 || 0", {}, False),
        ("(1 || 0) && !(2 < 1)", {}, True),
        ("3 >= 3 && 3 <= 2", {}, False),
        ('"%{_vendor}" == "suse"', {}, False),
        ('"%{_arch}" == "x86_64"', {}, True),
        ('"abc" < "abd"', {}, True),
        ("%{azl} >= 3", {}, True),
        ("! %{azl}", {}, False),
        ("0%{?fedora} || 0%{?rhel} >= 8", {}, False),
        ("%{with tests}", {"with_tests": "1"}, True),
        ("%{without tests}", {"with_tests": "1"}, False),
        ('v"1.10" > v"1.9"', {}, True),
    ],
)
def test_if_expressions(expr: str, defines: dict[str, str], expected: bool) -> None:
    assert ctx(**defines).evaluate(expr) is expected


def test_bad_expression_is_false_and_reported() -> None:
    c = ctx()
    assert c.evaluate("%{with_check}") is False
    assert c.evaluate("1 +") is False
    assert len(c.warnings) == 2


def test_bcond() -> None:
    c = ctx()
    c.expand("%bcond_without docs")
    c.expand("%bcond_with tests")
    c.expand("%bcond lz4 1")
    c.expand("%bcond gnutls 0")
    assert c.evaluate("%{with docs}") and not c.evaluate("%{with tests}")
    assert c.evaluate("%{with lz4}") and c.evaluate("%{without gnutls}")


def run_stack(lines: list[str], arch: str = "x86_64") -> list[str]:
    c = MacroContext(arch=arch)
    s = ConditionalStack(c)
    out = []
    for n, line in enumerate(lines, 1):
        if s.handle(line, n) or not s.active:
            continue
        c.expand(line)
        out.append(line)
    return out


def test_if_elif_else_nesting() -> None:
    lines = [
        "%global v 2",
        "%if %{v} == 1",
        "one",
        "%elif %{v} == 2",
        "two",
        "%if 0",
        "never",
        "%else",
        "inner-else",
        "%endif",
        "%else",
        "other",
        "%endif",
    ]
    assert run_stack(lines) == ["%global v 2", "two", "inner-else"]


def test_ifarch_ifnarch_ifos() -> None:
    lines = [
        "%ifarch %{ix86} x86_64",
        "x86",
        "%endif",
        "%ifnarch aarch64",
        "not-arm",
        "%endif",
        "%ifos linux",
        "linux",
        "%endif",
    ]
    assert run_stack(lines) == ["x86", "not-arm", "linux"]
    assert run_stack(lines, arch="aarch64") == ["linux"]


def test_unbalanced_conditionals_are_recorded() -> None:
    c = MacroContext()
    s = ConditionalStack(c)
    assert s.handle("%endif", 1)
    assert s.handle("%else", 2)
    assert len(s.errors) == 2


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('%{}()[]?!:-*#01 az_\\\n"=<>&|')), max_size=80)
    | st.text(max_size=60)
)
def test_expander_never_crashes(text: str) -> None:
    c = ctx(a="%{b}", b="x%1")
    c.expand("%define p(f:) <%1|%{-f*}|%*>")
    try:
        c.expand(text)
        c.evaluate(text)
    except SpecParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["%if 1", "%if 0", "%else", "%endif", "%elif 1", "%ifarch x86_64", "x", "%{?y}"])
    )
)
def test_conditional_stack_never_crashes(lines: list[str]) -> None:
    run_stack(lines)
