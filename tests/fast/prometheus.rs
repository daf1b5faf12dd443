//! `prometheus-targets` output on a lab: the mgrs (at their public
//! address and the port ceph.conf gives them) and the custom containers
//! with a metrics port, labelled cluster, host and daemon, as file_sd JSON
//! and as a `scrape_configs:` snippet (golden), both parsed back.

use std::path::Path;

use cephalo::fake::fresh;
use cephalo::model::{self, Cluster, Sources};
use cephalo::prometheus;

const CUSTOM: &str = r#"ceph_custom_containers:
  - name: rbd-mapper
    image: example/rbd-mapper:1.0
    hosts: mons
    ports: [9500]
    metrics_port: 9500
  - name: no-metrics
    image: example/quiet:1
    hosts: osds
"#;

fn lab(dir: &Path, globals: &str) -> Cluster {
    let hosts: Vec<String> = (1..=4).map(|i| format!("ceph{i}")).collect();
    fresh::write_lab(dir, &hosts, 1, globals).unwrap();
    model::load(&Sources {
        inventory: dir.join("inventory"),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn mgrs_and_custom_metrics_ports_as_file_sd_and_scrape_config() {
    let dir = tempfile::tempdir().unwrap();
    // ceph2's mgr listens elsewhere (its own override file).
    std::fs::create_dir_all(dir.path().join("config/ceph2")).unwrap();
    std::fs::write(
        dir.path().join("config/ceph2/ceph.conf"),
        "[mgr]\nmgr/prometheus/server_port = 9284\n",
    )
    .unwrap();
    let cluster = lab(
        dir.path(),
        &format!("enable_ceph_mgr_prometheus: true\ncluster_name: prod\n{CUSTOM}"),
    );
    let t = prometheus::targets(&cluster, None).unwrap();
    assert!(t.notes.is_empty(), "{:?}", t.notes);
    let sd = prometheus::file_sd(&t.targets);
    insta::assert_snapshot!("prometheus_file_sd", sd);
    let parsed: serde_json::Value = serde_json::from_str(&sd).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 5);
    let yaml = prometheus::scrape_config(&t.targets);
    insta::assert_snapshot!("prometheus_scrape_config", yaml);
    let parsed: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let jobs = parsed["scrape_configs"].as_array().unwrap();
    assert_eq!(jobs[0]["job_name"], "ceph");
    assert_eq!(jobs[0]["honor_labels"], true);
    assert_eq!(jobs[0]["static_configs"][1]["targets"][0], "10.64.0.2:9284");
    assert_eq!(jobs[1]["job_name"], "rbd-mapper");
    assert_eq!(jobs[1]["static_configs"].as_array().unwrap().len(), 3);
    assert_eq!(
        jobs[1]["static_configs"][2]["labels"]["daemon"],
        "custom.rbd-mapper"
    );
    assert_eq!(jobs[1]["static_configs"][2]["labels"]["cluster"], "prod");
}

#[test]
fn live_marks_the_active_mgr_and_the_module_off_gives_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = lab(dir.path(), "enable_ceph_mgr_prometheus: true\n");
    let t = prometheus::targets(&cluster, Some("ceph2")).unwrap();
    let active: Vec<(&str, &str)> = t
        .targets
        .iter()
        .map(|t| {
            (
                t.labels["host"].as_str(),
                t.labels["ceph_mgr_active"].as_str(),
            )
        })
        .collect();
    assert_eq!(active, [("ceph1", "false"), ("ceph2", "true")]);

    let dir = tempfile::tempdir().unwrap();
    let cluster = lab(dir.path(), CUSTOM);
    let t = prometheus::targets(&cluster, None).unwrap();
    assert_eq!(t.targets.len(), 3, "only the mappers: {:?}", t.targets);
    assert!(t.notes[0].contains("enable_ceph_mgr_prometheus is off"));

    let dir = tempfile::tempdir().unwrap();
    let cluster = lab(
        dir.path(),
        "enable_ceph_mgr_prometheus: true\nceph_conf_overrides:\n  mgr:\n    mgr/prometheus/server_port: 99999\n",
    );
    let e = prometheus::targets(&cluster, None).unwrap_err();
    assert!(e.contains("`99999` is not a port"), "{e}");
}
