# Block devices, mounts and LVM physical volumes, as sections `block`,
# `mounts` and `lvm`. Arguments: the devices to look at (none: every disk).
# Partition names come from the GPT (blkid -p probes the device), never
# from udev, which containers do not have.
sec() { echo "=== $1 ==="; }
# One device by its name under /sys/class/block.
show() {
  b=$1 s=/sys/class/block/$1
  case $b in loop*|sd*|vd*|xvd*|hd*|nvme*) ;; *) return ;; esac
  [ -e "$s" ] || { echo "dev $b 0 - missing"; return; }
  # /sys lists every block device of the machine; a container host has
  # nodes only for its own.
  [ -b "/dev/$b" ] || return
  size=$(cat "$s/size" 2>/dev/null || echo 0)
  [ "$size" = 0 ] && return
  parent=-
  [ -e "$s/partition" ] && parent=$(basename -- "$(dirname -- "$(readlink -f -- "$s")")")
  echo "dev $b $size $parent"
  blkid -p -o export "/dev/$b" 2>/dev/null
  echo
}
sec block
if [ $# -gt 0 ]; then
  for d in "$@"; do
    b=$(basename -- "$(readlink -f -- "$d")")
    show "$b"
    for p in /sys/class/block/"$b"/"$b"*; do [ -e "$p/partition" ] && show "$(basename -- "$p")"; done
  done
else
  for p in /sys/class/block/*; do [ -e "$p" ] && show "$(basename -- "$p")"; done
fi
sec mounts; cat /proc/mounts
sec lvm; pvs --noheadings -o pv_name 2>/dev/null
true
