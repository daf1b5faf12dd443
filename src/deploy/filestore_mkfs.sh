# A new filestore OSD, run in a one-off container of the Ceph image.
# Arguments: FOLDER DATA-DEVICE JOURNAL-DEVICE OWNER CLUSTER ID UUID; the
# keyring on stdin. An XFS file system on DATA-DEVICE, mounted at FOLDER
# for the mkfs, holding the keyring and a `journal` link to JOURNAL-DEVICE.
set -e
d=$1 data=$2 journal=$3 owner=$4 cluster=$5 id=$6 uuid=$7
mkfs.xfs -f -q "$data"
mkdir -p -- "$d"
mount -o noatime,inode64 "$data" "$d"
trap 'umount "$d"' EXIT
cat > "$d/keyring"
chmod 600 "$d/keyring"
ln -sfn -- "$journal" "$d/journal"
chown -R -- "$owner" "$d"
chown -- "$owner" "$data" "$journal"
ceph-osd --cluster "$cluster" -i "$id" --mkfs --osd-uuid "$uuid" --osd-objectstore filestore \
  --osd-data "$d" --osd-journal "$d/journal" --setuser ceph --setgroup ceph
