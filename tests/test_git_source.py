"""The ``git`` source type on real repositories built by the tests."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from git_helpers import commit, git

from incident_flow.config import ComponentSpec, ConfigError, Settings, build_source_specs, load_config
from incident_flow.sources import SourceError, SourceSpec
from incident_flow.sources.changes import CHANGES_SOURCE_TYPE
from incident_flow.sources.git import GIT_SOURCE_TYPE, CodeOwners, GitSource, create_git_source

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
COMPONENTS = {
    "orders": ComponentSpec("orders", ("services/orders/**",)),
    "payments": ComponentSpec("payments", ("services/payments/**",)),
}


@pytest.fixture(autouse=True)
def _git_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Old history, then in the window: a commit, a branch merged, a tag, a payments commit."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    shas = {}
    shas["old"] = commit(
        path,
        {"services/orders/app.py": "a = 1\nb = 2\nc = 3\n", "README.md": "x\n"},
        "Initial",
        T0 - timedelta(days=10),
    )
    shas["config"] = commit(
        path,
        {"services/orders/config.yaml": "timeout: 5\n", "services/orders/app.py": "a = 1\nb = 20\nc = 3\n"},
        "Tune orders",
        T0 - timedelta(hours=3),
        author="Alice",
    )
    git(path, "switch", "-q", "-c", "topic")
    shas["topic"] = commit(path, {"services/payments/pay.py": "pay = 1\n"}, "Pay", T0 - timedelta(hours=2))
    git(path, "switch", "-q", "main")
    git(path, "merge", "-q", "--no-ff", "-m", "Merge topic", "topic", at=T0 - timedelta(hours=1))
    shas["merge"] = git(path, "rev-parse", "HEAD")
    git(path, "tag", "v1.2.0")
    shas["later"] = commit(path, {"docs/x.md": "doc\n"}, "Docs", T0 + timedelta(hours=5))
    return path, shas


def test_the_look_back_reads_only_the_window_with_files_authors_merges_and_tags(
    repo: tuple[Path, dict[str, str]],
) -> None:
    path, shas = repo
    source = GitSource("code", path, components=COMPONENTS)
    commits = source.commits(T0 - timedelta(hours=24), T0)
    assert [c.sha for c in commits] == [shas["config"], shas["topic"], shas["merge"]]  # oldest first
    config = commits[0]
    assert config.author == "Alice"
    assert config.files == ("services/orders/app.py", "services/orders/config.yaml")
    assert (config.insertions, config.deletions) == (2, 1)
    assert config.at == T0 - timedelta(hours=3)
    merge = commits[2]
    assert merge.is_merge and merge.tags == ("v1.2.0",)
    assert merge.files == ("services/payments/pay.py",)  # what the merge brought to main
    # The branch commit landed with the merge.
    assert commits[1].landed_at == T0 - timedelta(hours=1)
    changes = list(source.changes(T0 - timedelta(hours=24), T0))
    assert [c.kind for c in changes] == ["commit", "commit", "merge"]
    assert [c.component for c in changes] == ["orders", "payments", "payments"]
    assert all(len(c.id) == 40 for c in changes)
    assert source.last_query is not None and "--since=2026-03-13T12:00:00+00:00" in source.last_query
    # What the branch pointed at, at a time: the merge, not the branch commit made before it.
    assert source.rev_at(T0 - timedelta(minutes=30)) == shas["merge"]
    assert source.rev_at(T0 - timedelta(hours=1, minutes=30)) == shas["config"]
    assert source.rev_at(T0 - timedelta(days=30)) is None


def test_a_fixed_component_wins_and_rev_picks_the_history(repo: tuple[Path, dict[str, str]]) -> None:
    path, shas = repo
    source = GitSource("code", path, component="shop", rev="v1.2.0")
    changes = list(source.changes(T0 - timedelta(days=30), T0 + timedelta(days=1)))
    assert {c.component for c in changes} == {"shop"}
    assert shas["later"] not in {c.id for c in changes}  # after the tag


def test_diff_is_capped_and_blame_names_the_commit_of_each_line(repo: tuple[Path, dict[str, str]]) -> None:
    path, shas = repo
    source = GitSource("code", path)
    diff = source.diff(shas["config"])
    assert "+b = 20" in diff and "services/orders/config.yaml" in diff
    cut = source.diff(shas["config"], max_bytes=40)
    assert cut.endswith("[diff truncated at 40 bytes]") and len(cut) < 100
    blame = source.blame("services/orders/app.py", [1, 2, 99])
    assert blame[2].sha == shas["config"] and blame[2].author == "Alice"
    assert blame[1].sha == shas["old"]
    assert 99 not in blame  # past the end of the file
    windowed = source.blame("services/orders/app.py", [1, 2], since=T0 - timedelta(days=1))
    assert windowed[1].boundary and not windowed[2].boundary
    assert source.files_touched(shas["config"]) == ("services/orders/app.py", "services/orders/config.yaml")
    with pytest.raises(SourceError, match="not a commit id"):
        source.diff("--output=/tmp/x")


def test_tree_and_codeowners(repo: tuple[Path, dict[str, str]]) -> None:
    path, _ = repo
    commit(
        path,
        {
            ".github/CODEOWNERS": "# owners\n*       @acme/all\n"
            "/services/orders/ @acme/orders\n*.yaml @acme/sre\n"
        },
        "Owners",
        T0 + timedelta(hours=6),
    )
    source = GitSource("code", path)
    assert "services/orders/app.py" in source.tree()
    owners = source.codeowners()
    assert owners.path == ".github/CODEOWNERS"
    assert owners.owners("services/orders/app.py") == ("@acme/orders",)
    assert owners.owners("services/orders/config.yaml") == ("@acme/sre",)
    assert owners.owners("README.md") == ("@acme/all",)


def test_codeowners_patterns_follow_gitignore_rules() -> None:
    rules = CodeOwners.parse(
        "docs/ @docs\napps/ @apps\n/build/logs/ @logs\n**/migrations @db\nREADME.md @readme\n"
    )
    assert rules.owners("docs/guide.md") == ("@docs",)
    assert rules.owners("nested/apps/x.py") == ("@apps",)  # a bare folder name matches at any depth
    assert rules.owners("build/logs/a.log") == ("@logs",)
    assert rules.owners("x/build/logs/a.log") == ()
    assert rules.owners("svc/db/migrations/001.sql") == ("@db",)
    assert rules.owners("sub/README.md") == ("@readme",)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is a file"),
        (lambda p: (p / "plain").mkdir() or p / "plain", "is not a git repository"),
    ],
)
def test_a_path_that_is_not_a_repository_is_one_clear_error(
    tmp_path: Path, make: object, message: str
) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(SourceError) as caught:
        GitSource("code", target)
    text = str(caught.value)
    assert message in text and "\n" not in text and "code" in text


def test_a_folder_inside_a_repository_is_not_read_as_that_repository(
    repo: tuple[Path, dict[str, str]],
) -> None:
    path, _ = repo
    (path / "services" / "orders" / "plain").mkdir()
    for inner in (path / "services" / "orders" / "plain", path / "services"):
        with pytest.raises(SourceError, match=f"is inside the repository {path}"):
            GitSource("code", inner)


def test_an_unknown_rev_and_an_empty_repository(tmp_path: Path, repo: tuple[Path, dict[str, str]]) -> None:
    path, _ = repo
    with pytest.raises(SourceError, match="'nope' is not a branch, tag or commit"):
        GitSource("code", path, rev="nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert GitSource("code", empty).commits(T0 - timedelta(days=1), T0) == []


def test_shallow_clones_detached_heads_and_bare_repositories(
    tmp_path: Path, repo: tuple[Path, dict[str, str]]
) -> None:
    path, shas = repo
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", path.as_uri(), str(shallow)], check=True, capture_output=True
    )
    git(shallow, "checkout", "-q", "--detach", "HEAD~1")
    source = GitSource("code", shallow)
    commits = source.commits(T0 - timedelta(days=30), T0 + timedelta(days=1))
    assert commits[-1].sha == shas["merge"]  # HEAD~1 of the clone
    boundary = [c for c in commits if c.boundary]
    assert boundary and all(c.files == () for c in boundary)  # not the whole tree
    assert any("shallow clone" in w for w in source.warnings)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(path), str(bare)], check=True, capture_output=True)
    assert len(GitSource("code", bare).commits(T0 - timedelta(hours=24), T0)) == 3


def test_the_source_type_is_configured_from_a_file(tmp_path: Path, repo: tuple[Path, dict[str, str]]) -> None:
    path, _ = repo
    config_file = path.parent / "incident-flow.toml"
    config_file.write_text(
        '[[sources]]\nname = "code"\ntype = "git"\npath = "repo"\nmax_commits = 2\ntimeout = "10s"\n',
        encoding="utf-8",
    )
    types = {"git": GIT_SOURCE_TYPE, "changes": CHANGES_SOURCE_TYPE}
    config = load_config(config_file, types)
    spec = build_source_specs(config)[0]
    source = GIT_SOURCE_TYPE.factory(spec)
    assert isinstance(source, GitSource)
    assert source.path == path and source.max_commits == 2 and source.timeout == 10
    commits = source.commits(T0 - timedelta(days=30), T0 + timedelta(days=1))
    assert len(commits) == 2 and any("max_commits" in w for w in source.warnings)
    config_file.write_text('[[sources]]\nname = "code"\ntype = "git"\npth = "repo"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="pth"):
        load_config(config_file, types)
    bad = SourceSpec("code", "git", {"path": "repo", "max_commits": 0}, path.parent, Settings())
    with pytest.raises(ConfigError, match=r"sources\.code\.max_commits"):
        create_git_source(bad)


def _fast_import(path: Path, commits: int, start: datetime, step: timedelta) -> None:
    """A linear history of ``commits`` commits, written in one ``git fast-import`` stream."""
    chunks = []
    for n in range(commits):
        when = int((start + n * step).timestamp())
        message = f"change {n}".encode()
        content = f"value {n}\n".encode()
        chunks.append(
            b"commit refs/heads/main\n"
            + f"committer Bench <b@example.com> {when} +0000\n".encode()
            + f"data {len(message)}\n".encode()
            + message
            + b"\n"
            + f"M 100644 inline services/s{n % 50}/f{n % 400}.py\n".encode()
            + f"data {len(content)}\n".encode()
            + content
            + b"\n"
        )
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, capture_output=True)
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input=b"".join(chunks), check=True, capture_output=True
    )


def test_the_look_back_is_pushed_down_to_git(tmp_path: Path) -> None:
    """5,000 commits, ten minutes apart: a 24-hour look-back reads 145 of them, quickly."""
    path = tmp_path / "big"
    start = T0 - timedelta(minutes=10 * 4999)
    _fast_import(path, 5000, start, timedelta(minutes=10))
    source = GitSource("code", path)
    began = time.perf_counter()
    commits = source.commits(T0 - timedelta(hours=24), T0)
    took = time.perf_counter() - began
    assert len(commits) == 145
    assert commits[-1].at == T0 and commits[0].at == T0 - timedelta(hours=24)
    assert took < 0.5
