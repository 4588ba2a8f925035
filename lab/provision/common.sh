# Shared by every chapter script (sourced). Runs on a node as root, under bash.
# The scripts read the topology from LAB_* variables (lab/cluster.json via lab/cluster.py;
# the Vagrantfile passes the same). Every step is idempotent: run twice, change nothing.
set -euo pipefail
: "${LAB_IFACE:=eth0}"

say() { echo "[$(uname -n)] $*"; }

# Install packages only when absent, so the same scripts provision a bare Vagrant box
# and cost nothing on the lab's prebuilt node image.
ensure_packages() {
    local installed missing=() p
    installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "$@" 2>/dev/null) "
    for p in "$@"; do
        [[ $installed == *" $p:installed "* ]] || missing+=("$p")
    done
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi
}

# ensure_line FILE LINE: append LINE unless FILE already has it.
ensure_line() {
    touch "$1"
    grep -qxF -- "$2" "$1" || printf '%s\n' "$2" >> "$1"
}

# write_file PATH MODE < content: replace PATH only when its content differs.
write_file() {
    local path=$1 mode=$2 new
    new=$(cat)
    if [[ ! -f $path || "$(<"$path")" != "$new" ]]; then
        printf '%s\n' "$new" > "$path"
        say "wrote $path"
    fi
    chmod "$mode" "$path"
}

# only_startup_links DAEMON...: the lab's node image carries every stack's packages (one image
# for all); a tutorial machine has only its own. The start-up links of the others are removed, so
# a node that is rebooted (the faults' crash) starts what the tutorial's machine would.
LAB_DAEMONS=(apache2 heartbeat ldirectord keepalived corosync pacemaker logd apache-htcacheclean)
only_startup_links() {
    local d keep=" $* "
    for d in "${LAB_DAEMONS[@]}"; do
        [[ $keep == *" $d "* ]] && continue
        rm -f /etc/rc[0-6S].d/[SK][0-9][0-9]"$d"
    done
}
