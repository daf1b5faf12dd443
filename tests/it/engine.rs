//! The engine's semantics on local hosts (`ansible_connection=local`):
//! forks, rolling batches, failure policies, parallel branches, recap.

use std::sync::Arc;

use cephalo::engine::{Engine, Mode, Node, OnFailure, Plan, Recap, Reporter, RunCommand, Step};
use cephalo::model::Connection;
use cephalo::ssh::{SshOptions, SshTransport};
use cephalo::transport::{Command, Endpoint};
use indexmap::IndexMap;

fn local(name: &str) -> Endpoint {
    Endpoint {
        name: name.into(),
        connection: Connection {
            address: "localhost".into(),
            port: 22,
            user: None,
            private_key_file: None,
            become_root: false,
            local: true,
            password: None,
            jump: None,
        },
    }
}

/// A step whose command logs `begin HOST` and `end HOST` around a pause,
/// failing on the hosts listed in `fail`.
fn step(
    name: &str,
    hosts: &[&str],
    log: &std::path::Path,
    batch: Option<usize>,
    on_failure: OnFailure,
    fail: &[&str],
) -> Node {
    let fails = fail
        .iter()
        .map(|h| format!("[ \"$H\" = {h} ] && exit 9;"))
        .collect::<String>();
    let script = format!(
        "H=$(basename \"$PWD\"); echo \"begin $H {name}\" >> {0}; sleep 0.2; {fails} echo \"end $H {name}\" >> {0}",
        log.display()
    );
    Node::Step(Step {
        name: name.into(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        batch,
        on_failure,
        action: Arc::new(PerHost {
            script,
            // Beside the log, in the test's own temporary folder.
            root: log.with_file_name("hosts"),
        }),
    })
}

/// Runs the script in a folder named after the host, so it knows which it is.
struct PerHost {
    script: String,
    root: std::path::PathBuf,
}

impl cephalo::engine::Action for PerHost {
    fn run<'a>(
        &'a self,
        host: &'a Endpoint,
        t: &'a dyn cephalo::transport::Transport,
        ctx: &'a cephalo::engine::StepContext,
    ) -> cephalo::transport::BoxFuture<'a, cephalo::engine::HostOutcome> {
        let dir = self.root.join(&host.name);
        std::fs::create_dir_all(&dir).unwrap();
        let action = RunCommand {
            command: Command::new([
                "sh".to_string(),
                "-c".into(),
                format!("cd \"$1\" && {}", self.script),
                "sh".into(),
                dir.to_string_lossy().into_owned(),
            ]),
        };
        Box::pin(async move { cephalo::engine::Action::run(&action, host, t, ctx).await })
    }
}

fn engine(hosts: &[&str], forks: usize) -> Engine {
    let mut opts = SshOptions::new("/nonexistent/known_hosts".into());
    opts.known_hosts_files.clear();
    Engine {
        transport: Arc::new(SshTransport::new(opts).unwrap()),
        hosts: hosts
            .iter()
            .map(|h| (h.to_string(), local(h)))
            .collect::<IndexMap<_, _>>(),
        forks,
        reporter: Arc::new(Reporter::new(Mode::Human { verbose: false }, None).unwrap()),
    }
}

fn play(e: &Engine, root: Node) -> Recap {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(e.run(&Plan {
            name: "test".into(),
            root,
        }))
}

fn lines(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

const HOSTS: [&str; 3] = ["a", "b", "c"];

#[test]
fn hosts_run_at_once_up_to_forks_and_one_at_a_time_in_rolling_steps() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let recap = play(
        &engine(&HOSTS, 8),
        step("s", &HOSTS, &log, None, OnFailure::StopPlay, &[]),
    );
    let l = lines(&log);
    assert!(
        l[..3].iter().all(|x| x.starts_with("begin")),
        "all start before any ends: {l:?}"
    );
    assert!(!recap.any_failed());
    assert_eq!(recap.hosts["b"].changed, 1);

    let log = dir.path().join("log2");
    play(
        &engine(&HOSTS, 1),
        step("s", &HOSTS, &log, None, OnFailure::StopPlay, &[]),
    );
    let l = lines(&log);
    assert_eq!(
        l,
        [
            "begin a s",
            "end a s",
            "begin b s",
            "end b s",
            "begin c s",
            "end c s"
        ],
        "forks=1 serializes"
    );

    let log = dir.path().join("log3");
    play(
        &engine(&HOSTS, 8),
        step("s", &HOSTS, &log, Some(1), OnFailure::StopPlay, &[]),
    );
    assert_eq!(
        lines(&log),
        [
            "begin a s",
            "end a s",
            "begin b s",
            "end b s",
            "begin c s",
            "end c s"
        ],
        "serial: 1"
    );
}

#[test]
fn a_failure_stops_the_play_or_only_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let e = engine(&HOSTS, 8);
    let recap = play(
        &e,
        Node::Serial(
            "p".into(),
            vec![
                step("one", &HOSTS, &log, None, OnFailure::StopPlay, &["b"]),
                step("two", &HOSTS, &log, None, OnFailure::StopPlay, &[]),
            ],
        ),
    );
    assert!(recap.stopped);
    assert!(
        lines(&log).iter().all(|l| !l.ends_with("two")),
        "step two never ran"
    );
    assert_eq!((recap.hosts["b"].failed, recap.hosts["a"].ok), (1, 1));

    let log = dir.path().join("log2");
    let recap = play(
        &e,
        Node::Serial(
            "p".into(),
            vec![
                step("one", &HOSTS, &log, None, OnFailure::Continue, &["b"]),
                step("two", &HOSTS, &log, None, OnFailure::Continue, &[]),
            ],
        ),
    );
    assert!(!recap.stopped);
    let l = lines(&log);
    assert!(l.contains(&"end a two".to_string()) && l.contains(&"end c two".to_string()));
    assert!(
        !l.iter().any(|x| x.starts_with("begin b two")),
        "a failed host sits out later steps: {l:?}"
    );
    assert_eq!(recap.hosts["b"].failed, 1);
    assert_eq!(recap.hosts["a"].ok, 2);

    // A rolling step stops at the first failed batch.
    let log = dir.path().join("log3");
    let recap = play(
        &e,
        step("roll", &HOSTS, &log, Some(1), OnFailure::StopPlay, &["a"]),
    );
    assert_eq!(lines(&log), ["begin a roll"]);
    assert_eq!(recap.results.len(), 1);
}

#[test]
fn parallel_branches_run_together() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let recap = play(
        &engine(&HOSTS, 8),
        Node::Parallel(
            "p".into(),
            vec![
                step("x", &["a"], &log, None, OnFailure::StopPlay, &[]),
                step("y", &["b"], &log, None, OnFailure::StopPlay, &[]),
            ],
        ),
    );
    let l = lines(&log);
    assert!(
        l[0].starts_with("begin") && l[1].starts_with("begin"),
        "{l:?}"
    );
    assert_eq!(recap.results.len(), 2);
    let text = cephalo::engine::recap_text(&recap);
    assert!(
        text.contains("a    : ok=1    changed=1    unreachable=0    failed=0    skipped=0"),
        "{text}"
    );
}
