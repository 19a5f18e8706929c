"""The rule for the upstream oracle (tests/oracle.py): skip without Go on a developer's machine, fail under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import oracle


@pytest.fixture
def broken_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A build script that fails as the real one does without Go, a PATH without go, nothing cached."""
    script = tmp_path / "build.sh"
    script.write_text("echo 'build-psa-oracle: error: the Go toolchain (go) was not found on PATH' >&2; exit 1\n")
    monkeypatch.setattr(oracle, "BUILD", script)
    monkeypatch.setattr(oracle, "_built", [])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to("/bin/bash")
    monkeypatch.setenv("PATH", str(bin_dir))
    return script


@pytest.mark.parametrize(("ci", "outcome"), [
    (None, pytest.skip.Exception), ("", pytest.skip.Exception), ("false", pytest.skip.Exception),
    ("0", pytest.skip.Exception), ("true", pytest.fail.Exception), ("1", pytest.fail.Exception),
    ("yes", pytest.fail.Exception)])
def test_missing_go_skips_outside_ci_and_fails_under_ci(broken_build: Path, monkeypatch: pytest.MonkeyPatch,
                                                         ci: str | None, outcome: type[BaseException]) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome) as info:
        oracle.psa_oracle_binary()
    assert "the Go toolchain is not installed" in str(info.value)
    assert "go) was not found on PATH" in str(info.value)  # the script's own words
    if outcome is pytest.fail.Exception:
        assert "CI is set, so the upstream-oracle tests must run" in str(info.value)


def test_a_failed_build_with_go_present_fails_even_outside_ci(broken_build: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    go = tmp_path / "bin" / "go"
    go.write_text("#!/bin/sh\nexit 0\n")
    go.chmod(0o755)
    with pytest.raises(pytest.fail.Exception, match="building the PSS oracle failed"):
        oracle.psa_oracle_binary()


def test_a_built_binary_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "build.sh"
    count = tmp_path / "count"
    script.write_text(f"echo x >> {count}; echo building >&2; echo /cache/psa-oracle\n")
    monkeypatch.setattr(oracle, "BUILD", script)
    monkeypatch.setattr(oracle, "_built", [])
    assert oracle.psa_oracle_binary() == oracle.psa_oracle_binary() == "/cache/psa-oracle"
    assert count.read_text().count("x") == 1
