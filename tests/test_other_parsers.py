import pytest

from lab import tutorial as doc
from lab.checks.daemons import parse_ldirectord_status, parse_sync_status
from lab.checks.ipaddr import parse_interface


def test_tutorial_active_ip_addr():
    eth0 = parse_interface(doc.CH5_IP_ADDR_ACTIVE)
    assert eth0.name == "eth0" and eth0.addresses == ["192.168.0.103", "192.168.0.105"]
    vip = eth0.inet[1]
    assert (vip.prefixlen, vip.broadcast, vip.secondary) == (24, "192.168.0.255", True)


def test_tutorial_standby_ip_addr():
    assert parse_interface(doc.CH5_IP_ADDR_STANDBY).addresses == ["192.168.0.104"]


def test_real_ip_addr_of_a_veth_with_the_vip(golden):
    eth0 = parse_interface(golden("ip-addr-eth0-active.txt"))
    assert eth0.name == "eth0"
    assert [(i.address, i.secondary, i.label) for i in eth0.inet] == [
        ("192.168.0.103", False, "eth0"), ("192.168.0.105", True, "eth0")]


def test_real_ip_addr_of_lo_with_lo0(golden):
    lo = parse_interface(golden("ip-addr-lo-realserver.txt"))
    assert [(i.address, i.prefixlen, i.label) for i in lo.inet] == [("127.0.0.1", 8, "lo"),
                                                                     ("192.168.0.105", 32, "lo:0")]


def test_ip_addr_rejects_other_text():
    with pytest.raises(ValueError):
        parse_interface('Device "eth9" does not exist.')


def test_ldirectord_status_lines():
    running = parse_ldirectord_status(doc.CH5_LDIRECTORD_ACTIVE)
    assert (running.running, running.config, running.pid) == (True, "/etc/ha.d/ldirectord.cf", 1455)
    stopped = parse_ldirectord_status(doc.CH5_LDIRECTORD_STANDBY)
    assert (stopped.running, stopped.pid) == (False, None)
    with pytest.raises(ValueError):
        parse_ldirectord_status("bash: ldirectord: command not found")


def test_sync_status_tutorial_and_lab_forms():
    assert parse_sync_status(doc.CH5_SYNC_ACTIVE).detail == "ipvs_syncmaster pid: 1591"
    assert parse_sync_status("master running (mcast=eth0, syncid=0)\n").running
    assert not parse_sync_status(doc.CH5_SYNC_STANDBY).running
    with pytest.raises(ValueError):
        parse_sync_status("")


def test_real_status_lines(golden):
    assert parse_ldirectord_status(golden("ldirectord-status-running.txt")).running
    status = parse_sync_status(golden("syncswap-status-running.txt"))
    assert (status.role, status.running) == ("master", True)
    assert status.detail.startswith("mcast=eth0, syncid=0")


def test_config_lines_fold_what_does_not_matter():
    from lab.tutorial import CH4_HARESOURCES, config_lines

    assert config_lines("bcast        eth0                # Linux\n\n  auto_failback off\n") == [
        "bcast eth0", "auto_failback off"]
    assert config_lines(CH4_HARESOURCES) == [
        "loadb1 ldirectord::ldirectord.cf LVSSyncDaemonSwap::master IPaddr2::192.168.0.105/24/eth0/192.168.0.255"]
