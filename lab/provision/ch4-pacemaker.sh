#!/bin/bash
# Chapter 4 on Pacemaker + Corosync (--lab-stack=pacemaker): the tutorial's heartbeat v1 pair as
# a two-node cluster of today. Runs on: loadb1, loadb2. ldirectord.cf and LVSSyncDaemonSwap are
# the tutorial's (lab/provision/ldirectord.sh); what heartbeat's files said is said to Corosync
# (membership) and to Pacemaker's CIB (resources):
#   ha.cf's nodes, mcast              -> corosync.conf: nodelist, knet transport on the LAN
#   two nodes, no quorum to speak of  -> quorum { two_node: 1 } (wait_for_all: both must be seen once)
#   no fencing in the tutorial        -> stonith-enabled=false (a lab has no power switch to cut;
#                                        in production a two-node cluster needs fencing)
#   haresources: loadb1 ldirectord    -> one group "lvs": ldirectord, the sync master, the VIP
#     LVSSyncDaemonSwap::master IPaddr2  (ocf:heartbeat:ldirectord, lsb:lvs-sync-master, ocf:heartbeat:IPaddr2)
#   loadb1 named first                -> a location preference for loadb1 (score LAB_PM_PREFERRED_SCORE)
#   auto_failback off                 -> resource-stickiness above that score (LAB_PM_STICKINESS)
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/ldirectord.sh"
read -r -a BALANCERS <<< "$LAB_BALANCERS"
write_ldirectord_cf
install_sync_swap

# The sync master as an LSB resource: Pacemaker calls init scripts with start|stop|status only.
write_file /etc/init.d/lvs-sync-master 0755 <<'SCRIPT'
#!/bin/sh
### BEGIN INIT INFO
# Provides:          lvs-sync-master
# Short-Description: LVSSyncDaemonSwap master, as a Pacemaker lsb: resource (lvs-ha-lab)
### END INIT INFO
out=$(/etc/ha.d/resource.d/LVSSyncDaemonSwap master "$1") ; rc=$?
echo "$out"
# logged as heartbeat's ResourceManager logs it (the sync family reads whether a node ever swapped)
[ "$1" = status ] || logger -t lvs-sync-master "Running /etc/ha.d/resource.d/LVSSyncDaemonSwap master $1"
if [ "$1" = status ]; then
    case "$out" in "master running"*) exit 0 ;; *) exit 3 ;; esac
fi
exit $rc
SCRIPT

{
    cat <<CONF
# written by lvs-ha-lab (lab/provision/ch4-pacemaker.sh) from lab/cluster.json
totem {
    version: 2
    cluster_name: lvslab
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    # heartbeat's deadtime, in ms: Corosync's 1 s default loses the token when an emulated
    # node is not scheduled for 2.6 s (seen: "Corosync main process was not scheduled")
    token: $((${LAB_HB_DEADTIME:-10} * 1000))
}
nodelist {
CONF
    id=1
    for node in "${BALANCERS[@]}"; do
        printf '    node {\n        ring0_addr: %s\n        name: %s\n        nodeid: %s\n    }\n' "$node" "$node" "$id"
        id=$((id + 1))
    done
    cat <<CONF
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_syslog: yes
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
}
CONF
} | write_file /etc/corosync/corosync.conf 0644
mkdir -p /var/log/corosync /var/log/pacemaker

# Started by provisioning; their rc links start them after a reboot.
for unit in corosync pacemaker; do
    compgen -G "/etc/rc2.d/S*$unit" >/dev/null || update-rc.d "$unit" defaults 2>&1 || true
done
if compgen -G "/etc/rc[0-6S].d/[SK]*ldirectord" >/dev/null; then update-rc.d -f ldirectord remove; fi
if [[ -d /run/systemd/system ]]; then
    systemctl enable -q corosync.service pacemaker.service
    if systemctl is-enabled -q ldirectord.service 2>/dev/null; then systemctl disable -q ldirectord.service; fi
fi

if crm_mon -1 >/dev/null 2>&1; then
    say "pacemaker already running"
    reload_ldirectord
    exit 0
fi
/etc/init.d/ldirectord stop >/dev/null 2>&1 || true
/etc/init.d/corosync start
/etc/init.d/pacemaker start

# The CIB is the cluster's, not a node's: the preferred node writes it, once both are members.
[[ $(uname -n) == "$LAB_PREFERRED" ]] || exit 0
for i in $(seq 1 120); do
    online=$(crm_mon -1 --output-as=xml 2>/dev/null | grep -c 'online="true"' || true)
    [[ $online -ge ${#BALANCERS[@]} ]] && crm_mon -1 2>/dev/null | grep -q "Current DC: [a-z]" && break
    sleep 1
done
crm_attribute --type crm_config --name stonith-enabled --update false
crm_attribute --type crm_config --name no-quorum-policy --update stop
crm_attribute --type rsc_defaults --name resource-stickiness --update "$LAB_PM_STICKINESS"
# Pacemaker's default 20 s per operation is too short under emulation: ldirectord's agent runs the
# perl ldirectord two or three times per start (seen: a start timed out after 20 s, then its stop,
# which left the group blocked, as a cluster without fencing must).
crm_attribute --type op_defaults --name timeout --update 120s
if ! cibadmin --query --scope resources | grep -q 'id="lvs"'; then
    cibadmin --create --scope resources --xml-text "<group id=\"lvs\">
  <primitive id=\"ldirectord\" class=\"ocf\" provider=\"heartbeat\" type=\"ldirectord\">
    <instance_attributes id=\"ldirectord-ia\"><nvpair id=\"ldirectord-cf\" name=\"configfile\" value=\"/etc/ha.d/ldirectord.cf\"/></instance_attributes>
    <operations><op id=\"ldirectord-monitor\" name=\"monitor\" interval=\"60s\"/></operations>
  </primitive>
  <primitive id=\"sync-master\" class=\"lsb\" type=\"lvs-sync-master\">
    <operations><op id=\"sync-master-monitor\" name=\"monitor\" interval=\"30s\"/></operations>
  </primitive>
  <primitive id=\"vip\" class=\"ocf\" provider=\"heartbeat\" type=\"IPaddr2\">
    <instance_attributes id=\"vip-ia\">
      <nvpair id=\"vip-ip\" name=\"ip\" value=\"$LAB_VIP\"/>
      <nvpair id=\"vip-cidr\" name=\"cidr_netmask\" value=\"$LAB_PREFIXLEN\"/>
      <nvpair id=\"vip-nic\" name=\"nic\" value=\"$LAB_IFACE\"/>
      <nvpair id=\"vip-brd\" name=\"broadcast\" value=\"$LAB_BROADCAST\"/>
    </instance_attributes>
    <operations><op id=\"vip-monitor\" name=\"monitor\" interval=\"10s\"/></operations>
  </primitive>
</group>"
    cibadmin --create --scope constraints --xml-text \
        "<rsc_location id=\"lvs-prefers-$LAB_PREFERRED\" rsc=\"lvs\" node=\"$LAB_PREFERRED\" score=\"$LAB_PM_PREFERRED_SCORE\"/>"
fi
say "CIB written: $(crm_mon -1 | grep -E 'Started|Stopped' | tr -s ' ' | tr '\n' ';')"
