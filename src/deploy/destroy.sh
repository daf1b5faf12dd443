# Removes a host's Ceph daemons and data. Arguments: ENGINE (docker or
# podman), CLUSTER, ZAP (yes/no). With ZAP, wipes the OSD partitions and
# gives them back their bootstrap labels. Prints `changed` when it removed
# anything. Further arguments: the keyrings of the host's custom
# containers, removed with their containers (`ceph_custom_*`).
engine=$1 cluster=$2 zap=$3
shift 3
names=$("$engine" ps -a --format '{{.Names}}' | grep -E '^ceph_(mon|mgr|mds|rgw|osd_[0-9]+|custom_.+)$')
# shellcheck disable=SC2086 # one container name per word
[ -n "$names" ] && { "$engine" rm -f $names >/dev/null && echo changed; }
for d in /var/lib/ceph/mon /var/lib/ceph/mgr /var/lib/ceph/osd /var/lib/ceph/mds /var/lib/ceph/radosgw /var/lib/ceph/tmp; do
  [ -n "$(ls -A $d 2>/dev/null)" ] && { rm -rf "$d"/* && echo changed; }
done
for f in "/etc/ceph/$cluster.conf" "/etc/ceph/$cluster.client.admin.keyring" /var/lib/ceph/bootstrap-*/"$cluster.keyring" "$@"; do
  [ -e "$f" ] && { rm -f "$f" && echo changed; }
done
if [ "$zap" = yes ]; then
  for p in /sys/class/block/*; do
    b=$(basename $p)
    [ -e $p/partition ] && [ -b /dev/$b ] || continue
    n=$(blkid -p -o value -s PART_ENTRY_NAME /dev/$b 2>/dev/null)
    case $n in
      KOLLA_CEPH_DATA_BS_*) kind=_BS; rest=${n#KOLLA_CEPH_DATA_BS_} ;;
      KOLLA_CEPH_DATA_*) kind=; rest=${n#KOLLA_CEPH_DATA_} ;;
      *) continue ;;
    esac
    id=${rest%%_*}; suffix=${rest#$id}
    dd if=/dev/zero of=/dev/$b bs=1M count=10 conv=fsync status=none
    parent=$(basename $(dirname $(readlink -f $p))); num=$(cat $p/partition)
    parted -s /dev/$parent name $num KOLLA_CEPH_OSD_BOOTSTRAP${kind}_OSD$id$suffix && echo changed
  done
fi
true
