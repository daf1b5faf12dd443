# A new bluestore OSD's folder. Arguments: FOLDER OWNER DATA-DEVICE, then
# pairs LINK DEVICE (`block`, and `block.wal`/`block.db` when the OSD has
# those partitions): each link made in FOLDER; the folder, the links and
# the devices given to OWNER. The first 10 MiB of every device are zeroed
# first: the partitions still carry their bootstrap label, so whatever is
# on them is what a stopped creation left (a bluestore label that says
# "mkfs done" would make the next mkfs fail).
set -e
dir=$1 owner=$2 data=$3
shift 3
zero() {
  if [ -b "$1" ]; then size=$(blockdev --getsize64 "$1"); else size=$(stat -c %s -- "$1"); fi
  mib=$((size / 1048576))
  [ "$mib" -gt 10 ] && mib=10
  [ "$mib" -gt 0 ] && dd if=/dev/zero of="$1" bs=1M count="$mib" conv=notrunc,fsync status=none
  true
}
mkdir -p -- "$dir"
chown -h -- "$owner" "$dir"
zero "$data"
chown -- "$owner" "$data"
while [ "$#" -ge 2 ]; do
  [ "$2" = "$data" ] || zero "$2"
  ln -sfn -- "$2" "$dir/$1"
  chown -h -- "$owner" "$dir/$1"
  chown -- "$owner" "$2"
  shift 2
done
