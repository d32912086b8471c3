"""``format = "pattern"``: the loghub layout rule, checked on the real loghub 2k samples.

The samples and their labelled ``Content`` column live in ../shared/data (read only, never copied
here); the tests that need them skip when it is absent.
"""

from __future__ import annotations

import csv
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_flow.logs import compile_pattern, read_records

LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub-2k"
DATASETS = ("HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Linux", "OpenSSH")


def loghub() -> Path:
    if not (LOGHUB / "formats.toml").exists():
        pytest.skip(f"{LOGHUB} is absent: the shared loghub-2k samples are not beside this checkout")
    return LOGHUB


@pytest.mark.parametrize("name", DATASETS)
def test_every_loghub_line_parses_and_content_matches_the_labels(name: str) -> None:
    root = loghub()
    layout = tomllib.loads((root / "formats.toml").read_text())[name]["log_format"]
    log = root / name / f"{name}_2k.log"
    with open(f"{log}_structured_corrected.csv", newline="", encoding="utf-8") as f:
        labelled = list(csv.DictReader(f))
    warnings: list[str] = []
    records = list(
        read_records(
            [log], pattern=layout, reference_time=datetime(2024, 1, 1, tzinfo=UTC), warn=warnings.append
        )
    )
    assert warnings == []
    assert [r.line for r in records] == list(range(1, len(labelled) + 1))
    assert all(r.fields for r in records), "a line did not match the layout"
    assert [r.message for r in records] == [row["Content"] for row in labelled]
    assert all(r.at is not None for r in records), "Date/Time/Timestamp did not give a time"
    assert [r.component for r in records] == [row["Component"] for row in labelled]


def test_loghub_fields_map_to_time_level_and_component() -> None:
    root = loghub()
    hadoop = next(
        read_records(
            [root / "Hadoop" / "Hadoop_2k.log"],
            pattern=r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>",
        )
    )
    assert hadoop.at == datetime(2015, 10, 18, 18, 1, 47, 978000, tzinfo=UTC)
    assert hadoop.level == "info"
    assert hadoop.component == "org.apache.hadoop.mapreduce.v2.app.MRAppMaster"
    assert hadoop.fields["Process"] == "main"


def test_year_less_loghub_stamps_take_the_year_nearest_the_reference() -> None:
    root = loghub()
    first = next(
        read_records(
            [root / "OpenSSH" / "OpenSSH_2k.log"],
            pattern=r"<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>",
            reference_time=datetime(2017, 1, 3, tzinfo=UTC),
            component_field="Component",
        )
    )
    assert first.at == datetime(2016, 12, 10, 6, 55, 46, tzinfo=UTC)
    assert first.component == "LabSZ"


def test_a_layout_is_anchored_and_spaces_match_any_white_space() -> None:
    compiled = compile_pattern("<Level>  <Component>: <Content>")
    assert compiled.layout
    m = compiled.regex.fullmatch("ERROR\t\tdb:   connection lost")
    assert m is not None and m.group("Content") == "connection lost"
    assert compiled.regex.fullmatch("ERROR db connection lost") is None


def test_a_regex_with_named_groups_is_used_as_written(tmp_path: Path) -> None:
    path = tmp_path / "custom.log"
    path.write_text("[orders] 2024-01-02T03:04:05Z !! stock low\nnoise\n")
    records = list(
        read_records(
            [path],
            pattern=r"\[(?P<component>\w+)\] (?P<timestamp>\S+) !! (?P<message>.*)",
        )
    )
    assert (records[0].component, records[0].message) == ("orders", "stock low")
    assert records[0].at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (records[1].message, records[1].fields) == ("noise", {})


def test_field_overrides_name_other_groups(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("2024-01-02 03:04:05 sev=E who=payments what=card declined\n")
    (record,) = read_records(
        [path],
        pattern="<When> <Clock> sev=<S> who=<Who> what=<What>",
        level_field="S",
        message_field="What",
        component_field="Who",
    )
    assert (record.level, record.message, record.component) == ("error", "card declined", "payments")
    assert record.at is None  # no Date/Time group and no time_field: no time


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("no fields at all", "at least one <Field>"),
        ("<Date> <Date> <Content>", "appears twice"),
        ("<Log-Id> <Content>", "letters, digits and _"),
        ("<Date> (unclosed <Content>", "valid regex"),
        ("(?P<x>[)", "compiles"),
    ],
)
def test_unusable_patterns_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
        compile_pattern(value)


HADOOP = r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>"
LOGHUB_LAYOUTS = [
    "<Date> <Time> <Pid> <Level> <Component>: <Content>",
    HADOOP,
    r"<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>",
    "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>",
    r"<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>",
    r"<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>",
    "<A> <B>; <C>.",
]


def test_header_fields_may_hold_spaces_as_in_loghub() -> None:
    layout = compile_pattern(HADOOP).layout
    assert layout is not None
    line = (
        "2015-10-18 18:01:51,806 INFO [IPC Server listener on 62260] org.apache.hadoop.ipc.Server: "
        "IPC Server listener on 62260: starting"
    )
    assert layout.match(line) == {
        "Date": "2015-10-18",
        "Time": "18:01:51,806",
        "Level": "INFO",
        "Process": "IPC Server listener on 62260",
        "Component": "org.apache.hadoop.ipc.Server",
        "Content": "IPC Server listener on 62260: starting",
    }


HOSTILE = [
    "a " * 30000,
    "a:" * 30000 + " x",
    "[" + "a@a:" * 10000,
    "x y z [" + "a " * 5000 + "] q: " + "b:" * 5000,
    " ".join(["[a] b: c@d:"] * 3000),
    "a" + " " * 3000 + "b",
    "- " * 20000,
]


@pytest.mark.parametrize("layout", LOGHUB_LAYOUTS)
def test_hostile_lines_cannot_stall_a_layout(layout: str) -> None:
    # loghub's own regex needs hours on some of these: its groups backtrack over every word
    compiled = compile_pattern(layout).layout
    assert compiled is not None
    started = time.process_time()
    for line in HOSTILE:
        compiled.match(line.strip())
    assert time.process_time() - started < 1.0


_TOKENS = st.sampled_from(
    ["a", "b7", "[", "]", ":", "@", "-", " ", " ", "x:y", "INFO", "q@1]", "(z)", ";", "."]
)


@pytest.mark.parametrize("layout", LOGHUB_LAYOUTS)
@settings(max_examples=60, deadline=None)
@given(tokens=st.lists(_TOKENS, max_size=14))
def test_bounded_matching_gives_loghubs_answer(layout: str, tokens: list[str]) -> None:
    compiled = compile_pattern(layout).layout
    assert compiled is not None
    line = "".join(tokens).strip()
    ours = compiled.match(line)
    exact = compiled.regex.fullmatch(line)
    if ours is not None:
        assert exact is not None and ours == exact.groupdict()
    elif "  " not in line:  # a separator giving back part of a run of spaces is the one known gap
        assert exact is None
