# A new bluestore OSD's folder. Arguments: FOLDER OWNER DATA-DEVICE, then
# pairs LINK DEVICE (`block`, and `block.wal`/`block.db` when the OSD has
# those partitions): each link made in FOLDER; the folder, the links and
# the devices given to OWNER.
set -e
dir=$1 owner=$2 data=$3
shift 3
mkdir -p -- "$dir"
chown -h -- "$owner" "$dir"
chown -- "$owner" "$data"
while [ "$#" -ge 2 ]; do
  ln -sfn -- "$2" "$dir/$1"
  chown -h -- "$owner" "$dir/$1"
  chown -- "$owner" "$2"
  shift 2
done
