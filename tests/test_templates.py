"""The template miner: stable ids, what merges and what stays apart, and its accuracy on loghub-2k."""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.analysis import Template, TemplateMiner, mine

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LOGHUB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "loghub-2k"


def test_ids_are_assigned_in_order_and_repeat_for_the_same_event() -> None:
    miner = TemplateMiner()
    a = miner.add("Connection closed by 10.0.0.1 port 22")
    b = miner.add("Disk /dev/sda1 is 91% full")
    c = miner.add("Connection closed by 192.168.7.40 port 40022")
    assert (a.id, b.id) == ("T0001", "T0002")
    assert c is a
    assert a.template == "Connection closed by <*> port <*>"
    assert a.count == 2
    assert [t.id for t in miner.templates()] == ["T0001", "T0002"]


def test_a_word_position_turns_variable_after_enough_different_words() -> None:
    miner = TemplateMiner()
    users = ["alice", "bob", "carol", "dave", "erin"]
    first = [miner.add(f"session opened for user {u} by cron") for u in users]
    merged = miner.add("session opened for user frank by cron")
    assert merged.template == "session opened for user <*> by cron"
    assert merged.count == 6
    # every id handed out before the merge still leads to the merged template
    assert {miner.resolve(t.id) for t in first} == {merged.id}
    assert miner.get(first[1].id) is merged
    assert len(miner.templates()) == 1
    assert first[0].id == merged.id  # the biggest (then oldest) template keeps its id


def test_two_or_three_alternatives_stay_distinct_events() -> None:
    miner = TemplateMiner()
    for _ in range(50):
        for a, b in [("NEW", "SCHEDULED"), ("SCHEDULED", "RUNNING"), ("RUNNING", "SUCCEEDED")]:
            miner.add(f"task_1445144423722_0020_m_000001 Task Transitioned from {a} to {b}")
    assert sorted(t.template for t in miner.templates()) == [
        "<*> Task Transitioned from NEW to SCHEDULED",
        "<*> Task Transitioned from RUNNING to SUCCEEDED",
        "<*> Task Transitioned from SCHEDULED to RUNNING",
    ]


def test_a_masked_value_next_to_words_makes_the_position_variable() -> None:
    miner = TemplateMiner()
    miner.add("Invalid user admin from 1.2.3.4")
    t = miner.add("Invalid user test123 from 1.2.3.5")
    assert t.template == "Invalid user <*> from <*>"
    assert len(miner.templates()) == 1


def test_the_first_word_names_the_event() -> None:
    miner = TemplateMiner()
    for daemon in ["cupsd", "klogd", "syslogd", "portmap", "sdpd", "hcid"]:
        miner.add(f"{daemon} startup succeeded")
    assert len(miner.templates()) == 6


def test_short_messages_keep_a_constant_core() -> None:
    miner = TemplateMiner()
    for word in ["active", "blocked", "closing", "critical", "normal", "running"]:
        miner.add(f"state {word}")
    assert len(miner.templates()) == 6


def test_optional_parts_and_lists_of_values_vary_within_one_template() -> None:
    messages = [
        "db.example.com:5070 close, 0 bytes sent, 0 bytes received, lifetime 00:01",
        "db.example.com:5070 close, 403 bytes sent, 18846 bytes (18.4 KB) received, lifetime <1 sec",
        "db.example.com:5070 close, 1190 bytes (1.16 KB) sent, 1671 bytes (1.63 KB) received, lifetime 00:02",
        "db.example.com:5070 close, 1165 bytes (1.13 KB) sent, 815 bytes received, lifetime <1 sec",
        "BLOCK* ask 10.0.0.1:50010 to delete blk_1",
        "BLOCK* ask 10.0.0.2:50010 to delete blk_1 blk_2 blk_3",
    ]
    result = mine(messages)
    assert len(set(result.assignments[:4])) == 1
    assert len(set(result.assignments[4:])) == 1
    close = result.templates[result.assignments[0]]
    assert close.template == "<*> close, <*> bytes <*>sent, <*> bytes <*>received, lifetime <*>"
    for message, template_id in zip(messages, result.assignments, strict=True):
        assert result.templates[template_id].matches(message)


def test_match_changes_nothing() -> None:
    miner = TemplateMiner()
    t = miner.add("Received block blk_1 of size 67108864 from 10.0.0.1")
    assert miner.match("Received block blk_99 of size 12 from 10.0.0.2") is t
    assert miner.match("something else entirely") is None
    assert t.count == 1
    assert len(miner.templates()) == 1


def test_resolve_rejects_unknown_ids() -> None:
    with pytest.raises(KeyError):
        TemplateMiner().resolve("T9999")


def test_mine_gives_final_ids_after_merges() -> None:
    lines = [f"Failed password for {u} from 10.0.0.{i} port 22 ssh2" for i, u in enumerate("abcdefg")]
    result = mine(lines)
    assert len(set(result.assignments)) == 1
    (template,) = result
    assert template.template == "Failed password for <*> from <*> port <*> ssh2"
    assert template.count == len(lines)


def test_memory_stays_bounded_with_unique_messages() -> None:
    miner = TemplateMiner(cache_size=1000)
    for i in range(5000):
        miner.add(f"request {i:x}{i * 7919:x}zz served by worker w{i % 3}x in {i} ms")
    assert len(miner._cache) <= 1000 and len(miner._fast) <= 1000
    assert len(miner.templates()) < 50


message_text = st.text(
    alphabet=st.sampled_from(list("ab xyz019:=/.,()[]'\"_-\t\n\u00e9\u2028\x00<*>")), min_size=0, max_size=60
)


def assert_message_fits(template: Template, message: str) -> None:
    assert template.matches(message), f"{message!r} does not fit {template.template!r}"
    if len(message) < 2000:
        assert template.regex().fullmatch(message.strip()), f"{message!r} vs {template.regex().pattern!r}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(message_text, st.text(max_size=80)), max_size=60))
def test_every_message_lands_in_exactly_one_template_that_fits_it(messages: list[str]) -> None:
    miner = TemplateMiner()
    result = miner.mine(messages)
    assert len(result.assignments) == len(messages)
    assert set(result.assignments) <= set(result.templates)
    assert sum(t.count for t in result.templates.values()) == len(messages)
    for message, template_id in zip(messages, result.assignments, strict=True):
        assert_message_fits(result.templates[template_id], message)
        assert miner.resolve(template_id) == template_id


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from([f"user {u} logged in from 10.0.0.{n}" for u in "abcdefgh" for n in (1, 2)]),
        max_size=40,
    )
)
def test_returned_template_always_fits_while_streaming(messages: list[str]) -> None:
    miner = TemplateMiner()
    for message in messages:
        assert_message_fits(miner.add(message), message)


class _NoCache(dict[str, object]):
    def __setitem__(self, key: str, value: object) -> None:
        pass


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["port {} via ssh{}", "eth{} up at 10.0.{}.1", "job {} took {} ms", "id=0x{}f ok{}"]
            ),
            st.integers(0, 10**6),
            st.integers(0, 99),
        ),
        max_size=40,
    )
)
def test_the_digit_blind_cache_never_changes_the_grouping(parts: list[tuple[str, int, int]]) -> None:
    messages = [form.format(a, b) for form, a, b in parts]
    plain = TemplateMiner()
    plain._fast = _NoCache()  # type: ignore[assignment]
    assert TemplateMiner().mine(messages).assignments == plain.mine(messages).assignments


def test_huge_and_odd_messages() -> None:
    miner = TemplateMiner()
    huge = "x=1 " * 50_000
    start = time.perf_counter()
    for message in [huge, huge + "y", "", " ", "\x00\x01\x02", "é" * 10_000, "<*>", "<*> <*>"]:
        assert_message_fits(miner.add(message), message)
    assert time.perf_counter() - start < 10


def _load_loghub() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_loghub", BENCHMARKS / "_loghub.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_loghub", module)
    spec.loader.exec_module(module)
    return module


def test_loghub_2k_mean_grouping_accuracy_is_at_least_095() -> None:
    if not LOGHUB.is_dir():
        pytest.skip(f"{LOGHUB} is absent: the shared loghub-2k samples are not beside this checkout")
    loghub = _load_loghub()
    scores = {}
    for name in loghub.DATASETS:
        sample = loghub.load_sample(name, LOGHUB)
        result = TemplateMiner().mine(sample.messages)
        scores[name] = loghub.grouping_accuracy(sample.event_ids, result.assignments)
    mean = statistics.mean(scores.values())
    assert mean >= 0.95, f"mean GA {mean:.3f}: {scores}"
