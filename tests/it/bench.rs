//! Every benchmark at its smallest size (bench/smoke.sh), so that none can
//! rot: sim.sh, deploy.sh, deploy-hosts.sh and map.sh on one-host
//! playgrounds of their own, fanout.sh inside namespaces of its own. It
//! runs beside the other tests (it sorts early, so that its playgrounds
//! overlap theirs instead of running after them); bench/upgrade.sh runs at
//! the end of the upgrade e2e, from the figures that test writes.

use super::support::{output_text, repo};

#[test]
fn every_benchmark_runs_at_its_smallest_size() {
    let out = std::process::Command::new("bash")
        .arg(repo().join("bench/smoke.sh"))
        .output()
        .unwrap();
    let said = output_text(&out);
    assert!(out.status.success(), "bench/smoke.sh:\n{said}");
    for step in [
        "sim.sh 10",
        "deploy.sh 1 1",
        "deploy-hosts.sh 1 2",
        "map.sh 200 1 1",
        "fanout.sh 2 1",
        "done",
    ] {
        assert!(
            said.contains(&format!("): {step}")),
            "no step {step}:\n{said}"
        );
    }
    eprintln!("{said}");
}
