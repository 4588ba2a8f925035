"""The Debian release of the lab's nodes and of the microVM's kernel (--lab-release).

Bookworm (Debian 12) is the default. Another release's packages come from Debian's archive
through an apt configuration of the lab's own, in the cache (Dir::Etc::sourceparts,
Dir::State::lists, Dir::Cache pointed there), so nothing on this machine changes: its apt
sources, lists and package cache stay as they were.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab import log
from lab.errors import LabError

RELEASE_ENV = "LVSLAB_RELEASE"  # the release this process (and the microVM it boots) builds for
DEBIAN = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class Release:
    name: str      # Debian's code name, also the suite
    version: int   # Debian's release number

    @property
    def title(self) -> str:
        return f"Debian {self.version} ({self.name})"

    def sources(self) -> str:
        """A deb822 sources file for this release: the archive, its updates, its security suite."""
        return (f"Types: deb\nURIs: {DEBIAN}\nSuites: {self.name} {self.name}-updates\nComponents: main\n"
                f"Signed-By: {KEYRING}\n\n"
                f"Types: deb\nURIs: {SECURITY}\nSuites: {self.name}-security\nComponents: main\n"
                f"Signed-By: {KEYRING}\n")


RELEASES = {
    "bookworm": Release("bookworm", 12),
    "trixie": Release("trixie", 13),
}
DEFAULT = "bookworm"
RELEASE_NAMES = tuple(RELEASES)


def get(name: str) -> Release:
    if name not in RELEASES:
        raise LabError(f"unknown Debian release {name!r}", f"choose one of: {', '.join(RELEASE_NAMES)}")
    return RELEASES[name]


def current() -> Release:
    """The release chosen for this process (--lab-release, carried in LVSLAB_RELEASE), else bookworm."""
    return get(os.environ.get(RELEASE_ENV) or DEFAULT)


def choose(name: str, provider: str = "netns", *, flags: tuple[str, str] = ("--lab-release=", "--lab=")) -> Release:
    """Make `name` this process's release; the microVM and the agent inherit it. Only bookworm
    has a Vagrant box: another release with the vagrant provider is refused, in the words of the
    caller's options (`flags`: how the release and the provider are spelled on its command line)."""
    release = get(name)
    if provider == "vagrant" and release.name != DEFAULT:
        spell_release, spell_lab = flags
        raise LabError(f"{spell_release}{release.name} runs on {spell_lab}netns only: the Vagrant box of "
                       f"{release.title} has not been built and run yet",
                       f"use {spell_lab}netns {spell_release}{release.name}, or {spell_lab}vagrant without "
                       f"{spell_release.rstrip('= ')}")
    os.environ[RELEASE_ENV] = release.name
    return release


def host_sources(release: Release) -> Path | None:
    """This machine's own apt sources when they are the release's, else None."""
    for candidate in (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")):
        if candidate.is_file() and any(word == release.name for word in candidate.read_text().split()):
            return candidate
    return None


def apt_dir(release: Release) -> Path:
    from lab.runtime.image import cache_dir

    return cache_dir() / f"apt-{release.name}"


def sources_file(release: Release) -> Path:
    """Where the release's packages come from: this machine's sources when they are its, else
    a sources file of the lab's own in the cache (mmdebstrap and apt-get take either)."""
    own = host_sources(release)
    if own is not None:
        return own
    folder = apt_dir(release) / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{release.name}.sources"
    if not path.is_file() or path.read_text() != release.sources():
        path.write_text(release.sources())
    return path


def apt_options(release: Release) -> list[str]:
    """apt-get/apt-cache options that read the release's own lists (none: this machine's)."""
    if host_sources(release) is not None:
        return []
    folder = apt_dir(release)
    for sub in ("lists/partial", "cache/archives/partial"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return ["-o", "Dir::Etc::sourcelist=/dev/null", "-o", f"Dir::Etc::sourceparts={sources_file(release).parent}",
            "-o", f"Dir::State::lists={folder / 'lists'}", "-o", f"Dir::Cache={folder / 'cache'}",
            "-o", "Dir::State::status=/dev/null"]


def apt_update(release: Release) -> None:
    """Fetch the release's package lists into the lab's own apt folder (not this machine's)."""
    options = apt_options(release)
    if not options:
        return  # this machine's own lists: `apt-get update` is the user's (./run.sh setup runs it)
    with log.step(f"apt lists for {release.title} into {apt_dir(release)}"):
        proc = subprocess.run(["apt-get", *options, "update"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"apt-get update for {release.name} failed: {proc.stderr.strip()[-500:]}",
                       f"check that {DEBIAN} is reachable from this machine")
