#!/bin/bash
# One entry point that does its own set-up on a fresh Debian 12 machine, then runs:
#   ./run.sh tutorial   the tutorial's checks (chapters 5-7) on a fresh lab, with the report
#   ./run.sh test       the whole test suite: harness unit tests, every scenario (namespaces, in
#                       two lanes at once), the tutorial's behaviours on keepalived, chapter 5 on
#                       Pacemaker and on five Vagrant VMs, and the comparison (reports/comparison.md)
#   ./run.sh compare    the tutorial's behaviours on every stack and release, side by side
#                       (reports/comparison.md)
#   ./run.sh bench      the benchmark figures
#   ./run.sh clean      remove what an interrupted run left behind
#   ./run.sh setup      only the set-up
# Extra arguments go to pytest (tutorial, test) or lvslab.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
APT_PACKAGES=(qemu-system-x86 busybox-static udev mmdebstrap e2fsprogs python3-venv kmod iproute2 util-linux mount tmux)
# The Vagrant lab (--lab=vagrant): Vagrant, its libvirt plugin, a libvirtd of the lab's own
# (without their recommends: no desktop bits); ipxe-qemu has the VMs' NIC option ROMs.
APT_VAGRANT=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu qemu-utils dnsmasq-base
             iptables ipxe-qemu)

say() { echo "run.sh: $*" >&2; }

# apt_install OPTION PACKAGE...: install those not installed yet (OPTION may be "").
apt_install() {
    local option=$1 installed missing=() p
    shift
    installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "$@" 2>/dev/null || true) "
    for p in "$@"; do [[ $installed == *" $p:installed "* ]] || missing+=("$p"); done
    if ((${#missing[@]})); then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${option:+"$option"} "${missing[@]}"
    fi
}

setup() {
    if [[ $EUID -ne 0 ]]; then
        say "the lab needs root (namespaces, mounts, IPVS): run 'sudo $0 ${ACTION}'"
        exit 2
    fi
    apt_install "" "${APT_PACKAGES[@]}"
    apt_install --no-install-recommends "${APT_VAGRANT[@]}"
    # The microVM's kernel is resolved with apt-cache: make sure the package lists exist.
    if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then apt-get update -q; fi
    local stamp="$VENV/.lvslab-installed" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [[ ! -x $VENV/bin/python ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        say "creating the Python environment in $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check -e .
        echo "$want" > "$stamp"
    fi
}

# What every stack is compared on (issue 10): the tutorial's chapters 5 and 7, and the two
# families its comments ask about. Each stack's run has its own report folder under reports/compare/.
COMPARED="chapter5 or chapter7 or persistence or sync"
TUTORIAL="chapter4 or chapter5 or chapter6 or chapter7"
STACKS=(heartbeat keepalived pacemaker)
# `./run.sh test`'s second lane: the scenario family that runs beside the chapters (in a lab
# and a microVM of their own), about half of the namespace run's time; its scenarios marked
# chapters_lane run in the chapters' lane, to even the two out (scenarios/test_faults.py).
LANE="faults and not chapters_lane"

# start_lane / end_lane: a lane of runs beside the others (lab/runtime/lanes.sh; .ci/run uses it too)
source lab/runtime/lanes.sh
RELEASES=(bookworm trixie)

ACTION=${1:-test}
shift || true
case "$ACTION" in
    setup) setup ;;
    tutorial) setup; exec "$VENV/bin/pytest" scenarios/ --lab=netns -m "$TUTORIAL" "$@" ;;
    test) setup
        # What CI runs, within its 90 minutes on a 2-core machine under TCG: the harness unit tests
        # on this machine; then two lanes at once, each microVM with one vCPU (one core each: two
        # 2-vCPU microVMs at once were each 2.3-3.2x slower): every scenario on namespaces in two
        # runs, the faults family in the lane beside, the chapters and the other families, then
        # keepalived's compared set, then Pacemaker's chapter 5, here (the faults are the longer
        # lane: 43-47 min in the last CI runs, this one 33 before Pacemaker); then chapter 5 on
        # five Vagrant VMs (their bring-up counts against
        # the first test's time limit: --timeout), then the comparison, which joins the two
        # heartbeat runs into one column. README, "The two commands".
        status=0
        "$VENV/bin/pytest" tests/ "$@" || status=$?
        export LVSLAB_VM_CPUS=1
        beside() {
            local rc=0
            "$VENV/bin/pytest" scenarios/ --lab=netns --lab-timeout=4800 -m "$LANE" --lab-reports=reports/compare/heartbeat-bookworm-2 "$@" || rc=$?
            return $rc
        }
        start_lane beside "$@"
        "$VENV/bin/pytest" scenarios/ --lab=netns --lab-timeout=4800 -m "not ($LANE)" --lab-reports=reports/compare/heartbeat-bookworm "$@" || status=$?
        "$VENV/bin/pytest" scenarios/ --lab=netns --lab-stack=keepalived -m "$COMPARED" --lab-reports=reports/compare/keepalived-bookworm "$@" || status=$?
        "$VENV/bin/pytest" scenarios/ --lab=netns --lab-stack=pacemaker -m chapter5 --lab-reports=reports/compare/pacemaker-bookworm "$@" || status=$?
        end_lane || status=$?
        unset LVSLAB_VM_CPUS
        "$VENV/bin/pytest" scenarios/ --lab=vagrant -m chapter5 --lab-reports=reports/vagrant --timeout=3600 "$@" || status=$?
        "$VENV/bin/lvslab" compare || status=$?
        exit $status ;;
    compare) setup
        status=0
        for release in "${RELEASES[@]}"; do
            for stack in "${STACKS[@]}"; do
                "$VENV/bin/pytest" scenarios/ --lab=netns --lab-stack="$stack" --lab-release="$release" -m "$COMPARED" \
                    --lab-reports="reports/compare/$stack-$release" "$@" || status=$?
            done
        done
        "$VENV/bin/lvslab" compare || status=$?
        exit $status ;;
    bench) setup; exec "$VENV/bin/lvslab" bench "$@" ;;
    clean) setup; exec "$VENV/bin/lvslab" clean "$@" ;;
    *) say "unknown action '$ACTION': use tutorial, test, compare, bench, clean or setup"; exit 2 ;;
esac
