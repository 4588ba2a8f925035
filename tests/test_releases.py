"""--lab-release: which Debian the nodes and the microVM's kernel come from, without touching
this machine's apt configuration."""

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.runtime import image, releases


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LVSLAB_CACHE", str(tmp_path))
    monkeypatch.setenv(releases.RELEASE_ENV, "bookworm")  # restored after the test, whatever choose() did
    return tmp_path


def test_bookworm_is_the_default_and_an_unknown_release_says_the_choices(cache, monkeypatch):
    monkeypatch.delenv(releases.RELEASE_ENV)
    assert releases.current().name == "bookworm"
    with pytest.raises(LabError) as error:
        releases.choose("sid")
    assert "unknown Debian release 'sid'" in error.value.what and "bookworm, trixie" in error.value.fix


def test_choosing_a_release_names_its_own_image_and_keeps_bookworms(cache):
    bookworm = image.image_dir()
    assert bookworm.name.startswith("image-bookworm-")
    releases.choose("trixie")
    assert image.suite() == "trixie" and image.recipe()["suite"] == "trixie"
    assert image.image_dir().name.startswith("image-trixie-") and image.image_dir() != bookworm


def test_another_releases_packages_come_from_an_apt_folder_of_the_labs_own(cache, monkeypatch):
    monkeypatch.setattr(releases, "host_sources", lambda release: None)  # as on a bookworm machine for trixie
    trixie = releases.get("trixie")
    options = releases.apt_options(trixie)
    source = releases.sources_file(trixie)
    assert source.is_relative_to(cache) and source.suffix == ".sources"
    text = source.read_text()
    assert "Suites: trixie trixie-updates" in text and "Suites: trixie-security" in text
    assert f"Dir::Etc::sourceparts={source.parent}" in options and "Dir::Etc::sourcelist=/dev/null" in options
    lists = next(o for o in options if o.startswith("Dir::State::lists="))
    assert Path(lists.split("=", 1)[1]).is_relative_to(cache)  # never /var/lib/apt/lists


def test_the_machines_own_sources_serve_their_own_release(cache, monkeypatch, tmp_path):
    own = tmp_path / "debian.sources"
    own.write_text("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n")
    monkeypatch.setattr(releases, "host_sources", lambda release: own if release.name == "bookworm" else None)
    assert releases.apt_options(releases.get("bookworm")) == []
    assert releases.sources_file(releases.get("bookworm")) == own


def test_the_microvm_is_told_the_release(cache, monkeypatch, tmp_path):
    from lab.runtime import accel, microvm

    releases.choose("trixie")
    monkeypatch.setattr(microvm, "check_host", lambda: None)
    monkeypatch.setattr(image, "ensure_ext4", lambda: tmp_path / "root.ext4")
    monkeypatch.setattr(microvm, "ensure_kernel", lambda: tmp_path / "vmlinuz")
    monkeypatch.setattr(accel, "choose", lambda kernel=None: accel.Accel("tcg", "test"))
    argv, _ = microvm._prepare(["true"], cwd=tmp_path, rwdirs=[], why="test", memory="1G")
    assert f"{releases.RELEASE_ENV}=trixie" in argv[-1]


def test_vagrant_with_another_release_is_refused_with_what_to_do(pytester, monkeypatch):
    monkeypatch.setenv(releases.RELEASE_ENV, "bookworm")
    pytester.makepyfile("def test_x(lab): pass")
    result = pytester.runpytest("--lab=vagrant", "--lab-release=trixie")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lab-release=trixie runs on --lab=netns only*",
                                 "*use --lab=netns --lab-release=trixie*"])


def test_a_trixie_report_says_where_trixie_differs_and_a_bookworm_one_does_not():
    from lab.differences import TRIXIE
    from lab.report import TutorialReport

    trixie, bookworm = TutorialReport(release="trixie"), TutorialReport()
    assert "## Where trixie differs from bookworm" in trixie.markdown()
    assert all(d.later in trixie.markdown() for d in TRIXIE)
    assert "<h2>Where trixie differs from bookworm</h2>" in trixie.html()
    assert "trixie differs" not in bookworm.markdown() + bookworm.html()
    assert '"release": "trixie"' in __import__("json").dumps(trixie.results())


def test_lvslab_up_refuses_vagrant_with_another_release_in_its_own_options(cache):
    with pytest.raises(LabError) as error:
        releases.choose("trixie", "vagrant", flags=("--release ", "--lab "))
    assert error.value.what.startswith("--release trixie runs on --lab netns only")
    assert error.value.fix == "use --lab netns --release trixie, or --lab vagrant without --release"
    assert releases.choose("bookworm", "vagrant").name == "bookworm"
