#!/bin/sh
# First thing inside the microVM: attach the node image disk (/dev/vda) and the harness's Python
# (/dev/vdb, when given: lab/runtime/pyimage.py, bound over the paths it was copied from, so that
# Python reads it through the page cache instead of 9p), then run the given command.
set -eu
modprobe -a virtio_blk ext4 overlay ip_vs bridge veth
mkdir -p /run/lvslab-image
mount -o ro,noload /dev/vda /run/lvslab-image
if [ -b /dev/vdb ]; then
    mkdir -p /run/lvslab-python
    mount -o ro,noload /dev/vdb /run/lvslab-python
    while read -r name target; do
        mount --bind "/run/lvslab-python/$name" "$target"
    done < /run/lvslab-python/binds
fi
export LVSLAB_IMAGE=/run/lvslab-image PYTHONDONTWRITEBYTECODE=1
cd "$LVSLAB_CWD"
exec "$@"
