# Block devices, mounts and LVM physical volumes, as sections `block`,
# `mounts` and `lvm`. Arguments: the devices to look at (none: every disk).
# Partition names come from the GPT (blkid -p probes the device), never
# from udev, which containers do not have.
sec() { echo "=== $1 ==="; }
sec block
if [ $# -gt 0 ]; then
  devs=""
  for d in "$@"; do
    b=$(basename "$(readlink -f "$d")")
    devs="$devs $b"
    for p in /sys/class/block/"$b"/"$b"*; do [ -e "$p/partition" ] && devs="$devs $(basename "$p")"; done
  done
else
  devs=$(ls /sys/class/block 2>/dev/null)
fi
for b in $devs; do
  s=/sys/class/block/$b
  case $b in loop*|sd*|vd*|xvd*|hd*|nvme*) ;; *) continue ;; esac
  [ -e "$s" ] || { echo "dev $b 0 - missing"; continue; }
  # /sys lists every block device of the machine; a container host has
  # nodes only for its own.
  [ -b "/dev/$b" ] || continue
  size=$(cat "$s/size" 2>/dev/null || echo 0)
  [ "$size" = 0 ] && continue
  parent=-
  [ -e "$s/partition" ] && parent=$(basename "$(dirname "$(readlink -f "$s")")")
  echo "dev $b $size $parent"
  blkid -p -o export "/dev/$b" 2>/dev/null
  echo
done
sec mounts; cat /proc/mounts
sec lvm; pvs --noheadings -o pv_name 2>/dev/null
true
