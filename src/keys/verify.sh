# `ceph -s` on a host: its own ceph CLI, else the Ceph image through the
# container engine. Arguments: ENGINE IMAGE CLUSTER NO-CEPH (the exit
# status when the host has neither). Says which on stderr (`via: ...`).
engine=$1 image=$2 cluster=$3 no_ceph=$4
if command -v ceph >/dev/null 2>&1; then
  echo 'via: the ceph CLI' >&2
  exec ceph --cluster "$cluster" --connect-timeout 20 -s -f json
elif command -v "$engine" >/dev/null 2>&1 && "$engine" image inspect "$image" >/dev/null 2>&1; then
  echo "via: image $image" >&2
  exec "$engine" run --rm --network=host -v /etc/ceph:/etc/ceph:ro --entrypoint=ceph "$image" \
    --cluster "$cluster" --connect-timeout 20 -s -f json
else
  exit "$no_ceph"
fi
