#!/bin/sh
# First thing inside the microVM: attach the node image disk, then run the given command.
set -eu
modprobe -a virtio_blk ext4 overlay ip_vs bridge veth
mkdir -p /run/lvslab-image
mount -o ro,noload /dev/vda /run/lvslab-image
export LVSLAB_IMAGE=/run/lvslab-image PYTHONDONTWRITEBYTECODE=1
cd "$LVSLAB_CWD"
exec "$@"
