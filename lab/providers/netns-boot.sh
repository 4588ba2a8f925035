#!/bin/sh
# What a Debian boot does that the lab's daemons rely on, then idle as the node's init's child.
# (tini, PID 1 of the node, reaps the orphans that daemons leave behind.)
mkdir -p /run/lock /run/network /run/sendsigs.omit.d
# systemd-tmpfiles' job on a real boot: heartbeat needs /run/heartbeat/{ccm,crm,dopd} and /run/crm.
for conf in /usr/lib/tmpfiles.d/*.conf; do
    while read -r type path mode user group _; do
        [ "$type" = d ] || continue
        mkdir -p "$path" && chmod "$mode" "$path" && chown "$user:$group" "$path" 2>/dev/null
    done < "$conf"
done
# A syslog daemon, so logfacility local0 (heartbeat) and logfile="local0" (ldirectord) log somewhere.
busybox syslogd -O /var/log/syslog
# Every change of the neighbour (ARP) table, time-stamped: evidence for a request that failed with
# "No route to host" (a resolution that failed) and what it was waiting for. Lab-only; reads only.
ip -ts monitor neigh >> /var/log/lvslab-neigh.log 2>&1 &
exec sleep infinity
