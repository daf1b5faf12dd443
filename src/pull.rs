//! `cephalo pull`: puts the cluster's Ceph image on every host through the
//! SSH engine, the way an air-gapped site would: from an image archive
//! (`docker save` output) streamed into `docker load`, skipping hosts that
//! already have the archive's image id, or from the registry (`docker
//! pull`). Custom containers' images are pulled from their registries onto
//! the hosts that run them. It reads archives locally and knows nothing of
//! the playground.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::{Action, HostOutcome, Node, OnFailure, Plan, Status, Step, StepContext};
use crate::error::{Error, Origin, Result};
use crate::transport::{BoxFuture, Command, Endpoint, Output, Transport};

/// An image archive and the image it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub path: PathBuf,
    /// `sha256:<hex>`, as `docker image inspect --format {{.Id}}` prints it.
    pub image_id: String,
    /// The names it loads as (`cephalo/ceph:pacific`).
    pub repo_tags: Vec<String>,
}

/// Reads the image id and tags from a `docker save` archive's
/// `manifest.json` (without reading the layers).
pub fn read_archive(path: &Path) -> Result<Archive> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let manifest = tar_member(&mut file, "manifest.json")
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => Error::invalid(
                Origin::file(path),
                format!("not an image archive made by `docker save` ({e})"),
            ),
            _ => read_err(e),
        })?
        .ok_or_else(|| {
            Error::invalid(
                Origin::file(path),
                "not an image archive made by `docker save` (no manifest.json)",
            )
        })?;
    let (image_id, repo_tags) =
        manifest_image(&manifest).map_err(|why| Error::invalid(Origin::file(path), why))?;
    Ok(Archive {
        path: path.to_path_buf(),
        image_id,
        repo_tags,
    })
}

/// The image id and tags of the one image in a `docker save` manifest:
/// `Config` is `<hex>.json` (Docker before 25) or `blobs/sha256/<hex>`
/// (OCI layout).
pub fn manifest_image(json: &[u8]) -> std::result::Result<(String, Vec<String>), String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry {
        config: String,
        #[serde(default)]
        repo_tags: Option<Vec<String>>,
    }
    let entries: Vec<Entry> =
        serde_json::from_slice(json).map_err(|e| format!("manifest.json cannot be read: {e}"))?;
    let [entry] = entries.as_slice() else {
        return Err(format!(
            "the archive holds {} images; give an archive of exactly one",
            entries.len()
        ));
    };
    let name = entry.config.rsplit('/').next().unwrap_or(&entry.config);
    let hex = name.strip_suffix(".json").unwrap_or(name);
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "manifest.json names the image config `{}`, which is not a sha256 digest",
            entry.config
        ));
    }
    Ok((
        format!("sha256:{}", hex.to_ascii_lowercase()),
        entry.repo_tags.clone().unwrap_or_default(),
    ))
}

/// The content of one top-level member of a tar file, found by walking the
/// headers and seeking past every other member (image archives are large).
fn tar_member<R: Read + Seek>(r: &mut R, wanted: &str) -> std::io::Result<Option<Vec<u8>>> {
    let mut long_name: Option<String> = None;
    loop {
        let mut header = [0u8; 512];
        match r.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        if header.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let field = |from: usize, to: usize| {
            let raw = &header[from..to];
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).into_owned()
        };
        let size = tar_size(&header[124..136]).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "bad tar header size")
        })?;
        let kind = header[156];
        let mut name = field(0, 100);
        if &header[257..262] == b"ustar" {
            let prefix = field(345, 500);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        if let Some(l) = long_name.take() {
            name = l;
        }
        let padded = size.div_ceil(512) * 512;
        let read_data = |r: &mut R| -> std::io::Result<Vec<u8>> {
            let mut data = vec![0u8; size as usize];
            r.read_exact(&mut data)?;
            r.seek(SeekFrom::Current((padded - size) as i64))?;
            Ok(data)
        };
        match kind {
            // GNU long name: the next member's name is this data.
            b'L' => {
                let data = read_data(r)?;
                let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
                long_name = Some(String::from_utf8_lossy(&data[..end]).into_owned());
            }
            // pax header: `path=` gives the next member's name.
            b'x' => {
                let data = read_data(r)?;
                let text = String::from_utf8_lossy(&data);
                long_name = text
                    .lines()
                    .filter_map(|l| l.split_once(' ').map(|(_, kv)| kv))
                    .find_map(|kv| kv.strip_prefix("path=").map(str::to_string));
            }
            _ if name.trim_start_matches("./") == wanted && size < 64 << 20 => {
                return read_data(r).map(Some);
            }
            _ => {
                r.seek(SeekFrom::Current(padded as i64))?;
            }
        }
    }
}

/// A tar size field: octal text, or base-256 when the high bit is set.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut n: u64 = (field[0] & 0x7f) as u64;
        for b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(*b as u64)?;
        }
        return Some(n);
    }
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Puts `image` on a host: the action behind `cephalo pull`.
pub struct PullImage {
    pub image: String,
    /// The container engine command per host (`docker`, `podman`).
    pub engines: HashMap<String, String>,
    pub archive: Option<Archive>,
    /// How long a load or pull may take on a host.
    pub timeout: Duration,
}

/// What a host answered about the image.
enum Present {
    Id(String),
    Missing,
}

impl PullImage {
    fn engine(&self, host: &str) -> &str {
        self.engines
            .get(host)
            .map(String::as_str)
            .unwrap_or("docker")
    }

    fn command(&self, host: &Endpoint, args: &[&str]) -> Command {
        Command::new(std::iter::once(self.engine(&host.name)).chain(args.iter().copied()))
            .become_root(host.connection.become_root)
    }

    async fn present(
        &self,
        host: &Endpoint,
        transport: &dyn Transport,
    ) -> std::result::Result<Present, HostOutcome> {
        let cmd = self
            .command(
                host,
                &["image", "inspect", "--format", "{{.Id}}", &self.image],
            )
            .timeout(Duration::from_secs(120));
        let out = crate::transport::run(transport, host, &cmd)
            .await
            .map_err(|e| HostOutcome {
                status: Status::from_error(&cmd.display(), &e),
                output: None,
                error: Some(e),
            })?;
        if out.success() {
            // podman prints the id without docker's `sha256:`.
            let id = out.stdout_text().trim().to_string();
            let id = if id.contains(':') {
                id
            } else {
                format!("sha256:{id}")
            };
            return Ok(Present::Id(id));
        }
        if crate::containers::says_image_missing(&out.stderr_text()) {
            return Ok(Present::Missing);
        }
        Err(failed(host, &cmd, out))
    }
}

fn failed(host: &Endpoint, cmd: &Command, out: Output) -> HostOutcome {
    HostOutcome::exited(host, cmd, out, String::new())
}

/// A result with a line to show for the host.
fn outcome(status: Status, text: String) -> HostOutcome {
    HostOutcome {
        status,
        output: Some(Output {
            status: 0,
            stdout: text.into_bytes(),
            stderr: Vec::new(),
            duration: Duration::ZERO,
        }),
        error: None,
    }
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

impl Action for PullImage {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        transport: &'a dyn Transport,
        ctx: &'a StepContext,
    ) -> BoxFuture<'a, HostOutcome> {
        Box::pin(async move {
            let before = match self.present(host, transport).await {
                Ok(p) => p,
                Err(o) => return o,
            };
            let cmd = match &self.archive {
                Some(a) => {
                    if let Present::Id(id) = &before
                        && *id == a.image_id
                    {
                        return outcome(
                            Status::Ok,
                            format!("{} {} already there", self.image, short(id)),
                        );
                    }
                    self.command(host, &["load"]).stdin_file(&a.path)
                }
                None => self.command(host, &["pull", &self.image]),
            }
            .timeout(self.timeout)
            .on_line(ctx.output_to_log(&host.name));
            let out = match crate::transport::run(transport, host, &cmd).await {
                Ok(out) if out.success() => out,
                Ok(out) => return failed(host, &cmd, out),
                Err(e) => {
                    return HostOutcome {
                        status: Status::from_error(&cmd.display(), &e),
                        output: None,
                        error: Some(e),
                    };
                }
            };
            let after = match self.present(host, transport).await {
                Ok(Present::Id(id)) => id,
                Ok(Present::Missing) => {
                    return failed_message(
                        host,
                        &cmd,
                        out,
                        format!(
                            "{}: {} is still missing after `{}`",
                            host.name,
                            self.image,
                            cmd.display()
                        ),
                    );
                }
                Err(o) => return o,
            };
            match (&self.archive, &before) {
                (Some(a), _) if after != a.image_id => failed_message(
                    host,
                    &cmd,
                    out,
                    format!(
                        "{}: after loading, {} is {}, not the archive's {}",
                        host.name,
                        self.image,
                        short(&after),
                        short(&a.image_id)
                    ),
                ),
                (None, Present::Id(id)) if *id == after => outcome(
                    Status::Ok,
                    format!("{} {} already up to date", self.image, short(&after)),
                ),
                (Some(_), _) => outcome(
                    Status::Changed,
                    format!(
                        "{} {} loaded in {:.1} s",
                        self.image,
                        short(&after),
                        out.duration.as_secs_f64()
                    ),
                ),
                (None, _) => outcome(
                    Status::Changed,
                    format!(
                        "{} {} pulled in {:.1} s",
                        self.image,
                        short(&after),
                        out.duration.as_secs_f64()
                    ),
                ),
            }
        })
    }
}

fn failed_message(host: &Endpoint, cmd: &Command, out: Output, message: String) -> HostOutcome {
    HostOutcome::exited(host, cmd, out, message)
}

/// The pull plan: one step over the hosts.
pub fn plan(action: PullImage, hosts: Vec<String>) -> Plan {
    let name = match &action.archive {
        Some(a) => format!("load {} from {}", action.image, a.path.display()),
        None => format!("pull {}", action.image),
    };
    Plan {
        name: name.clone(),
        root: Node::Step(Step {
            name,
            hosts,
            batch: None,
            on_failure: OnFailure::Continue,
            action: std::sync::Arc::new(action),
        }),
    }
}

/// The pull plan with more images after the first, each on its hosts
/// (custom containers' images: from their registries).
pub fn plan_all(first: PullImage, hosts: Vec<String>, more: Vec<(PullImage, Vec<String>)>) -> Plan {
    let head = plan(first, hosts);
    if more.is_empty() {
        return head;
    }
    let mut nodes = vec![head.root];
    nodes.extend(more.into_iter().map(|(a, h)| plan(a, h).root));
    Plan {
        name: "pull".into(),
        root: Node::Serial("pull".into(), nodes),
    }
}

/// The images of the custom containers and the hosts (of `selected`, in
/// inventory order) that run each, in the order declared.
pub fn custom_images(
    cluster: &crate::model::Cluster,
    selected: &[String],
) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for h in cluster.hosts.iter().filter(|h| selected.contains(&h.name)) {
        for c in &h.custom {
            match out.iter_mut().find(|(i, _)| *i == c.image) {
                Some((_, hosts)) if !hosts.contains(&h.name) => hosts.push(h.name.clone()),
                Some(_) => {}
                None => out.push((c.image.clone(), vec![h.name.clone()])),
            }
        }
    }
    out
}

/// Checks that an archive loads as the image the cluster uses.
pub fn check_archive(archive: &Archive, image: &str) -> Result<()> {
    if archive.repo_tags.iter().any(|t| t == image) {
        return Ok(());
    }
    Err(Error::invalid(
        Origin::file(&archive.path),
        format!(
            "the archive loads as {}, not as the cluster's image {image}",
            if archive.repo_tags.is_empty() {
                "an untagged image".to_string()
            } else {
                archive.repo_tags.join(", ")
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "621938cf4f61c09ea864b2ca6ff85b69fe9883151955eba2b164a8a7709bcf7f";

    /// A tar member: header + data padded to 512.
    fn member(name: &str, kind: u8, data: &[u8]) -> Vec<u8> {
        let mut h = [0u8; 512];
        h[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
        h[100..107].copy_from_slice(b"0000644");
        let size = format!("{:011o}", data.len());
        h[124..135].copy_from_slice(size.as_bytes());
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| *b as u32).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let mut out = h.to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    fn archive(members: &[Vec<u8>]) -> std::io::Cursor<Vec<u8>> {
        let mut all: Vec<u8> = members.concat();
        all.extend_from_slice(&[0u8; 1024]);
        std::io::Cursor::new(all)
    }

    #[test]
    fn finds_the_manifest_past_large_members() {
        let manifest = format!(
            r#"[{{"Config":"{ID}.json","RepoTags":["cephalo/ceph:pacific"],"Layers":["abc/layer.tar"]}}]"#
        );
        let mut t = archive(&[
            member("abc/", b'5', b""),
            member("abc/layer.tar", b'0', &vec![7u8; 5000]),
            member(&format!("{ID}.json"), b'0', b"{}"),
            member("manifest.json", b'0', manifest.as_bytes()),
        ]);
        let found = tar_member(&mut t, "manifest.json").unwrap().unwrap();
        let (id, tags) = manifest_image(&found).unwrap();
        assert_eq!(id, format!("sha256:{ID}"));
        assert_eq!(tags, ["cephalo/ceph:pacific"]);
        let mut t = archive(&[member("other", b'0', b"x")]);
        assert_eq!(tar_member(&mut t, "manifest.json").unwrap(), None);
    }

    #[test]
    fn long_names_and_pax_paths() {
        let long = "a/".repeat(80) + "manifest.json";
        let mut t = archive(&[
            member("././@LongLink", b'L', long.as_bytes()),
            member("truncated", b'0', b"no"),
            member("manifest.json", b'0', b"yes"),
        ]);
        assert_eq!(
            tar_member(&mut t, "manifest.json").unwrap().unwrap(),
            b"yes"
        );
        let pax = "27 path=renamed/manifest.x\n";
        let mut t = archive(&[
            member("PaxHeaders/x", b'x', pax.as_bytes()),
            member("manifest.json", b'0', b"no: renamed by pax"),
        ]);
        assert_eq!(tar_member(&mut t, "manifest.json").unwrap(), None);
    }

    #[test]
    fn manifests_old_and_oci() {
        let oci = format!(r#"[{{"Config":"blobs/sha256/{ID}","RepoTags":["x:1"]}}]"#);
        assert_eq!(
            manifest_image(oci.as_bytes()).unwrap().0,
            format!("sha256:{ID}")
        );
        let untagged = format!(r#"[{{"Config":"{ID}.json","RepoTags":null}}]"#);
        assert!(manifest_image(untagged.as_bytes()).unwrap().1.is_empty());
        assert!(manifest_image(b"[]").unwrap_err().contains("0 images"));
        assert!(manifest_image(br#"[{"Config":"x.json"}]"#).is_err());
        assert!(manifest_image(b"{").is_err());
    }

    #[test]
    fn tar_sizes() {
        assert_eq!(tar_size(b"00000001750\0"), Some(1000));
        assert_eq!(tar_size(b"\0\0\0\0\0\0\0\0\0\0\0\0"), Some(0));
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 2;
        big[10] = 1;
        assert_eq!(tar_size(&big), Some(258));
        assert_eq!(tar_size(b"zz\0\0\0\0\0\0\0\0\0\0"), None);
    }

    #[test]
    fn a_file_that_is_not_a_tar() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.tar");
        std::fs::write(&p, "root:x:0:0:root:/root:/bin/bash\n".repeat(40)).unwrap();
        let e = read_archive(&p).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::BAD_INPUT);
        assert!(e.to_string().contains("not an image archive"), "{e}");
        let missing = read_archive(&dir.path().join("none.tar")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
    }

    #[test]
    fn archive_must_carry_the_image() {
        let a = Archive {
            path: "/x.tar".into(),
            image_id: format!("sha256:{ID}"),
            repo_tags: vec!["cephalo/ceph:reef".into()],
        };
        let e = check_archive(&a, "cephalo/ceph:pacific")
            .unwrap_err()
            .to_string();
        assert!(e.contains("loads as cephalo/ceph:reef"), "{e}");
        assert!(check_archive(&a, "cephalo/ceph:reef").is_ok());
    }
}
