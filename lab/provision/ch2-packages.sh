#!/bin/bash
# Chapter 2: Install Ultra Monkey On The Load Balancers.  Runs on: loadb1, loadb2.
# There is no Ultra Monkey for bookworm: its parts are Debian packages of their own. With
# another stack (LAB_STACK, --lab-stack), that stack's packages instead of heartbeat's.
. "$(dirname "$0")/common.sh"
case "${LAB_STACK:-heartbeat}" in
    heartbeat) ensure_packages heartbeat ldirectord ipvsadm libwww-perl resource-agents cluster-glue arping
               only_startup_links heartbeat ldirectord ;;   # ch4 turns ldirectord's off (heartbeat starts it)
    keepalived) ensure_packages keepalived ipvsadm
                only_startup_links keepalived ;;
    pacemaker) ensure_packages pacemaker pacemaker-cli-utils corosync ldirectord resource-agents ipvsadm libwww-perl
               only_startup_links corosync pacemaker ldirectord ;;
    *) echo "ch2-packages.sh: unknown LAB_STACK=$LAB_STACK" >&2; exit 2 ;;
esac
# The tutorial's answers to the install questions, as ipvsadm's settings:
# "automatically load IPVS rules on boot? No" and "Select a daemon method: none".
write_file /etc/default/ipvsadm 0644 <<'CONF'
# written by lvs-ha-lab: the tutorial's debconf answers
AUTO="false"
DAEMON="none"
CONF
