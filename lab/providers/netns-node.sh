#!/bin/sh
# Turns the current (freshly unshared) namespaces into a Debian node, then becomes its init.
# Run by the netns provider as: unshare --net --uts --ipc --mount --pid --fork -- sh netns-node.sh ...
# Everything mounted here lives in the node's private mount namespace and vanishes with it.
set -eu
NAME=$1 IMAGE=$2 DIR=$3 MODULES=$4
ROOT=$DIR/root

mount --make-rprivate /
mount -t overlay "lvslab-$NAME" -o "lowerdir=$IMAGE,upperdir=$DIR/upper,workdir=$DIR/work" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount -t tmpfs -o mode=0755,size=64m run "$ROOT/run"
mount -t tmpfs -o mode=0755,size=8m dev "$ROOT/dev"
for dev in null zero full random urandom tty; do
    touch "$ROOT/dev/$dev"
    mount --bind "/dev/$dev" "$ROOT/dev/$dev"
done
mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$ROOT/dev/pts"
ln -s pts/ptmx "$ROOT/dev/ptmx"
ln -s /proc/self/fd "$ROOT/dev/fd"
mount -t tmpfs -o mode=1777,size=64m shm "$ROOT/dev/shm"
# The kernel's modules, so chapter 1's modprobe works inside the node as on a real host.
if [ -d "$MODULES" ]; then
    target="$ROOT/lib/modules/$(basename "$MODULES")"
    mkdir -p "$target"
    mount --bind "$MODULES" "$target"
    mount -o remount,bind,ro "$target"
fi
hostname "$NAME"
touch "$DIR/ready"
cd "$ROOT"
exec chroot "$ROOT" /usr/bin/tini -s -- /bin/sh /usr/lib/lvslab/boot
