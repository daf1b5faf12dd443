# What `cephalo tune` compares: live kernel settings, the OSD disks' queue
# settings and the two files it writes. Arguments: DISKS (yes/no), then
# the sysctl keys. Sections: sysctl, disks, files. Changes nothing.
want_disks=$1; shift
sec() { echo "=== $1 ==="; }
sec sysctl
for k in "$@"; do
  p=/proc/sys/$(echo "$k" | tr . /)
  if [ ! -e "$p" ]; then echo "absent $k"; continue; fi
  w=ro; [ -w "$p" ] && w=rw
  printf '%s %s %s\n' "$w" "$k" "$(tr -s ' \t' '  ' < "$p")"
done
sec disks
if [ "$want_disks" = yes ]; then
  seen=" "
  for s in /sys/class/block/*; do
    b=$(basename "$s")
    [ -e "$s/partition" ] && [ -b "/dev/$b" ] || continue
    name=$(blkid -p -o value -s PART_ENTRY_NAME "/dev/$b" 2>/dev/null)
    case $name in KOLLA_CEPH_*) ;; *) continue ;; esac
    d=$(basename "$(dirname "$(readlink -f "$s")")")
    echo "part $d $b $name"
    case $seen in *" $d "*) continue ;; esac
    seen="$seen$d "
    q=/sys/block/$d/queue
    ptuuid=$(blkid -p -o value -s PTUUID "/dev/$d" 2>/dev/null)
    echo "disk $d $(cat $q/rotational 2>/dev/null || echo 1) ${ptuuid:--}"
    for a in scheduler nr_requests read_ahead_kb; do
      w=ro; [ -w "$q/$a" ] && w=rw
      echo "queue $d $a $w $(cat $q/$a 2>/dev/null)"
    done
  done
fi
sec files
for f in /etc/sysctl.d/90-ceph.conf /etc/udev/rules.d/90-ceph-osd-disks.rules; do
  if [ -f "$f" ]; then echo "file $f $(sha256sum < "$f" | cut -d' ' -f1)"; else echo "file $f absent"; fi
done
true
