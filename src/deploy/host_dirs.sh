# The folders of every Ceph host. Argument: OWNER (uid:gid) of the Ceph
# daemons' folders; /etc/ceph and the bootstrap folders stay root's.
# Prints `changed` for each folder made or given to OWNER.
owner=$1
ceph_dirs="/var/lib/ceph /var/lib/ceph/tmp /var/lib/ceph/mon /var/lib/ceph/mgr
  /var/lib/ceph/osd /var/lib/ceph/mds /var/lib/ceph/radosgw /var/log/ceph /var/run/ceph"
root_dirs="/etc/ceph /var/lib/ceph/bootstrap-osd /var/lib/ceph/bootstrap-mds
  /var/lib/ceph/bootstrap-mgr /var/lib/ceph/bootstrap-rgw"
for d in $ceph_dirs $root_dirs; do
  [ -d "$d" ] || { mkdir -p "$d" && echo changed; }
done
for d in $ceph_dirs; do
  [ "$(stat -c %u:%g "$d")" = "$owner" ] || { chown "$owner" "$d" && echo changed; }
done
true
