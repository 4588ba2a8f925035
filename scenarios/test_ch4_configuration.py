"""Chapter 4: Configure heartbeat And ldirectord.

"Now we have to create three configuration files for heartbeat. They must be identical on
loadb1 and loadb2!" - and ldirectord.cf, "which again must be identical". The lab's files are
the tutorial's, except where bookworm needs otherwise (docs/bookworm-differences.md: ipfail's
path, and the lab's stated log file and timing, appended after the tutorial's lines).
"""

import pytest

from lab import tutorial as doc

pytestmark = [pytest.mark.chapter4, pytest.mark.usefixtures("chapter5_cluster", "heartbeat_stack")]
BALANCERS = ["loadb1", "loadb2"]
BOOKWORM_IPFAIL = ("respawn hacluster /usr/lib/heartbeat/ipfail", "respawn hacluster /usr/libexec/heartbeat/ipfail")
LAB_ADDITIONS = {"logfile", "keepalive", "warntime", "deadtime", "initdead"}


@pytest.fixture
def heartbeat_stack(cluster):
    """These are heartbeat's and ldirectord's files: another stack writes its own (keepalived.conf,
    checked by `keepalived --config-test` when lab/provision/ch4-keepalived.sh writes it)."""
    if cluster.stack_name != "heartbeat":
        pytest.skip(f"chapter 4's files are heartbeat's and ldirectord's; --lab-stack={cluster.stack_name} has its own")


def documented_lines(text, cluster):
    """The tutorial's lines, on this provider's LAN interface (eth0 in namespaces, eth1 on Vagrant)."""
    return [line.replace("eth0", cluster.interface) for line in doc.config_lines(text)]


def read(lab, node, path):
    return lab.node(node).host.file(path).content_string


@pytest.mark.parametrize("path", ["/etc/ha.d/ha.cf", "/etc/ha.d/haresources", "/etc/ha.d/authkeys",
                                  "/etc/ha.d/ldirectord.cf"])
def test_files_are_identical_on_both_load_balancers(lab, path):
    loadb1, loadb2 = (read(lab, n, path) for n in BALANCERS)
    assert loadb1 == loadb2, f"{path} differs between loadb1 and loadb2"


def test_ha_cf_is_the_tutorials(tutorial, cluster, loadb1):
    def verify(result):
        tutorial_lines = [line.replace(*BOOKWORM_IPFAIL) for line in documented_lines(doc.CH4_HA_CF, cluster)]
        lines = doc.config_lines(result.stdout)
        assert lines[: len(tutorial_lines)] == tutorial_lines, f"expected {tutorial_lines}, saw {lines}"
        extra = {line.split()[0] for line in lines[len(tutorial_lines):]}
        assert extra <= LAB_ADDITIONS, f"unexpected ha.cf lines: {extra - LAB_ADDITIONS}"

    tutorial.expect("4", "ha.cf as documented (ipfail's bookworm path)", loadb1, "cat /etc/ha.d/ha.cf",
                    documented=doc.CH4_HA_CF, verify=verify)


@pytest.mark.parametrize("path, documented", [("/etc/ha.d/haresources", doc.CH4_HARESOURCES),
                                              ("/etc/ha.d/authkeys", doc.CH4_AUTHKEYS),
                                              ("/etc/ha.d/ldirectord.cf", doc.CH4_LDIRECTORD_CF)],
                         ids=["haresources", "authkeys", "ldirectord.cf"])
def test_file_is_exactly_the_tutorials(tutorial, cluster, loadb1, path, documented):
    def verify(result):
        assert doc.config_lines(result.stdout) == documented_lines(documented, cluster)

    tutorial.expect("4", f"{path} as documented", loadb1, ["cat", path], documented=documented, verify=verify)


@pytest.mark.parametrize("name", BALANCERS)
def test_authkeys_is_readable_by_root_only(lab, name):
    authkeys = lab.node(name).host.file("/etc/ha.d/authkeys")
    assert (authkeys.user, authkeys.mode) == ("root", 0o600)


@pytest.mark.parametrize("name", BALANCERS)
def test_heartbeat_starts_at_boot_and_ldirectord_does_not(lab, name):
    host = lab.node(name).host
    assert host.file("/etc/rc2.d").listdir() and any(f.startswith("S") and f.endswith("heartbeat")
                                                     for f in host.file("/etc/rc2.d").listdir())
    assert not any(f.endswith("ldirectord") for f in host.file("/etc/rc2.d").listdir())
