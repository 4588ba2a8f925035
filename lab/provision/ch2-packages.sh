#!/bin/bash
# Chapter 2: Install Ultra Monkey On The Load Balancers.  Runs on: loadb1, loadb2.
# There is no Ultra Monkey for bookworm: its parts are Debian packages of their own.
. "$(dirname "$0")/common.sh"
ensure_packages heartbeat ldirectord ipvsadm libwww-perl resource-agents cluster-glue arping
# The tutorial's answers to the install questions, as ipvsadm's settings:
# "automatically load IPVS rules on boot? No" and "Select a daemon method: none".
write_file /etc/default/ipvsadm 0644 <<'CONF'
# written by lvs-ha-lab: the tutorial's debconf answers
AUTO="false"
DAEMON="none"
CONF
