from lab import tutorial as doc
from lab.checks.ipvsadm import RealServer, parse_daemons, parse_table, table_differences

import pytest


def test_tutorial_table_as_printed_without_line_breaks():
    # The tutorial's page lost its line breaks: "...InActConnTCP 192.168.0.105:80 rr -> ..."
    flat = ("IP Virtual Server version 1.2.1 (size=4096)Prot LocalAddress:Port Scheduler Flags -> "
            "RemoteAddress:Port Forward Weight ActiveConn InActConnTCP 192.168.0.105:80 rr -> "
            "192.168.0.101:80 Route 0 0 0 -> 192.168.0.102:80 Route 0 0 0 -> 127.0.0.1:80 Local 1 0 0")
    assert parse_table(flat) == parse_table(doc.CH5_IPVSADM_ACTIVE)


def test_documented_active_table():
    table = parse_table(doc.CH5_IPVSADM_ACTIVE)
    assert (table.version, table.size) == ("1.2.1", 4096)
    service = table.service("192.168.0.105:80")
    assert service.scheduler == "rr" and service.persistent is None
    assert service.reals == (RealServer("192.168.0.101:80", "Route", 0), RealServer("192.168.0.102:80", "Route", 0),
                             RealServer("127.0.0.1:80", "Local", 1))


def test_empty_table_has_no_services():
    assert parse_table(doc.CH5_IPVSADM_STANDBY).services == ()


def test_real_recorded_table_with_fallback(golden):
    table = parse_table(golden("ipvsadm-ch5-active.txt"))
    service = table.service("192.168.0.105:80")
    # Recorded on Linux 6.1: the fallback is listed first and shown as Route, not Local.
    assert [(r.address, r.forward, r.weight) for r in service.reals] == [
        ("127.0.0.1:80", "Route", 1), ("192.168.0.101:80", "Route", 0), ("192.168.0.102:80", "Route", 0)]


def test_persistent_flag_and_counters():
    text = """IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.0.105:80 rr persistent 600
  -> 192.168.0.101:80             Route   1      3          12
UDP  192.168.0.105:53 wlc
"""
    table = parse_table(text)
    assert table.service("192.168.0.105:80").persistent == 600
    assert table.service("192.168.0.105:80").real("192.168.0.101:80") == RealServer("192.168.0.101:80", "Route", 1, 3, 12)
    assert table.service("192.168.0.105:53", "UDP").reals == ()


def test_not_ipvsadm_output_is_an_error():
    with pytest.raises(ValueError):
        parse_table("Can't initialize ipvs: Protocol not available")


def test_route_for_local_fallback_is_accepted_only_where_allowed(golden):
    documented, observed = parse_table(doc.CH5_IPVSADM_ACTIVE), parse_table(golden("ipvsadm-ch5-active.txt"))
    assert table_differences(documented, observed, may_show_route=frozenset({"127.0.0.1:80"})) == []
    problems = table_differences(documented, observed)
    assert problems == ["TCP 192.168.0.105:80 -> 127.0.0.1:80: expected Local weight 1, saw Route weight 1"]


def test_differences_name_weights_and_missing_servers():
    documented = parse_table(doc.CH6_IPVSADM_ACTIVE)
    observed = parse_table(doc.CH5_IPVSADM_ACTIVE)
    problems = table_differences(documented, observed)
    assert "TCP 192.168.0.105:80 -> 192.168.0.101:80: expected Route weight 1, saw Route weight 0" in problems
    assert "TCP 192.168.0.105:80: unexpected real server 127.0.0.1:80 (weight 1)" in problems
    assert table_differences(documented, parse_table(doc.CH5_IPVSADM_STANDBY)) == [
        "missing virtual service TCP 192.168.0.105:80"]


def test_real_tables_of_standby_and_new_active(golden):
    assert parse_table(golden("ipvsadm-ch5-standby.txt")).services == ()
    table = parse_table(golden("ipvsadm-ch7-loadb2.txt"))
    assert table_differences(parse_table(doc.CH6_IPVSADM_ACTIVE), table) == []


def test_sync_daemons():
    assert parse_daemons("") == ()
    daemons = parse_daemons("master sync daemon (mcast=eth0, syncid=0)\nbackup sync daemon (mcast=eth0, syncid=3)\n")
    assert [(d.role, d.mcast_interface, d.syncid) for d in daemons] == [("master", "eth0", 0), ("backup", "eth0", 3)]


def test_connection_entries_and_templates():
    from lab.checks.ipvsadm import parse_connections

    text = """IPVS connection entries
pro expire state       source             virtual            destination
TCP 09:58  NONE        192.168.0.51:0     192.168.0.105:80   192.168.0.101:80
TCP 01:52  FIN_WAIT    192.168.0.51:41234 192.168.0.105:80   192.168.0.101:80
"""
    recorded = parse_connections(  # as Linux 6.1 prints a template (state ASSURED)
        "IPVS connection entries\npro expire state       source             virtual            destination\n"
        "TCP 09:59  ASSURED     192.168.0.51:0     192.168.0.105:80   192.168.0.102:80\n")
    assert recorded[0].is_template and recorded[0].state == "ASSURED"
    template, connection = parse_connections(text)
    assert template.is_template and template.client == "192.168.0.51" and template.destination == "192.168.0.101:80"
    assert not connection.is_template and connection.state == "FIN_WAIT"
    assert parse_connections("IPVS connection entries\npro expire state source virtual destination\n") == ()
    with pytest.raises(ValueError):
        parse_connections("Memory allocation problem")


def test_stats_recorded_from_the_lab(golden):
    from lab.checks.ipvsadm import parse_stats
    stats = parse_stats(golden("ipvsadm-stats-exact.txt"))
    service = stats["192.168.0.105:80"]
    assert service[""].conns == 112 and service[""].out_packets == 0
    assert service["192.168.0.101:80"].in_packets == 352 and service["192.168.0.102:80"].in_bytes == 20171
    assert set(service) == {"", "192.168.0.101:80", "192.168.0.102:80"}
