//! The commands as a user runs them: exit codes, messages on stderr, files
//! written, and no secret on any output.

use std::os::unix::fs::PermissionsExt;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::{corpus, repo, scratch};

fn cephalo() -> Command {
    Command::cargo_bin("cephalo").unwrap()
}

fn secrets_of(passwords: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(passwords)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ceph_") && l.contains("_key:"))
        .map(|l| l.split_once(": ").unwrap().1.to_string())
        .collect()
}

#[test]
fn genpwd_then_render_then_inventory() {
    let dir = scratch(&[]);
    let inv = dir.path().join("multinode");
    std::fs::copy(repo().join("inventory/multinode"), &inv).unwrap();
    std::fs::copy(
        repo().join("inventory/globals.yml"),
        dir.path().join("globals.yml"),
    )
    .unwrap();

    let out = cephalo()
        .args(["genpwd", "-i"])
        .arg(&inv)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("generated ceph_cluster_fsid, ceph_mon_key"),
        "{stdout}"
    );
    let pw = dir.path().join("passwords.yml");
    let secrets = secrets_of(&pw);
    assert_eq!(secrets.len(), 6);
    for s in &secrets {
        assert!(!stdout.contains(s.as_str()), "genpwd printed a key");
    }

    let out_dir = dir.path().join("out");
    let out = cephalo()
        .args(["render", "-i"])
        .arg(&inv)
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .success();
    let all = format!("{:?}", out.get_output());
    assert!(all.contains("rendered 6 host(s)"), "{all}");
    let conf = out_dir.join("control01/etc/ceph/ceph.conf");
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let ring = out_dir.join("control01/etc/ceph/ceph.client.admin.keyring");
    assert_eq!(
        std::fs::metadata(&ring).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&out_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(
        out_dir
            .join("storage01/containers/ceph_osd_ID.json")
            .exists()
    );
    for entry in walk(&out_dir) {
        let text = std::fs::read_to_string(&entry).unwrap();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} holds a key without --with-secrets",
                entry.display()
            );
        }
    }
    cephalo()
        .args(["render", "--with-secrets", "--limit", "control01", "-i"])
        .arg(&inv)
        .arg("--out")
        .arg(dir.path().join("out2"))
        .assert()
        .success()
        .stdout(predicate::str::contains("rendered 1 host(s)"));
    let admin = std::fs::read_to_string(
        dir.path()
            .join("out2/control01/etc/ceph/ceph.client.admin.keyring"),
    )
    .unwrap();
    assert!(secrets.iter().any(|s| admin.contains(s.as_str())));

    let out = cephalo()
        .args(["inventory", "--list", "-i"])
        .arg(&inv)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        json["cephalo"]["roles"]["mon"],
        serde_json::json!(["control01", "control02", "control03"])
    );
    assert_eq!(
        json["_meta"]["hostvars"]["storage01"]["network_interface"],
        "eth1"
    );
    assert_eq!(
        json["_meta"]["hostvars"]["storage01"]["cephalo_connection"]["user"],
        "kolla"
    );
    cephalo()
        .args(["inventory", "--graph", "-i"])
        .arg(&inv)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  |--@ceph-osd:\n  |  |--@storage:\n  |  |  |--storage01\n",
        ));
}

#[test]
fn inventory_list_redacts_secret_vars() {
    let dir = scratch(&[(
        "inv",
        "[mons]\nm1 ansible_host=10.0.0.1 ansible_become_password=hunter2\n",
    )]);
    cephalo()
        .args(["inventory", "-i"])
        .arg(dir.path().join("inv"))
        .arg("--globals")
        .arg(corpus("good/globals.yml"))
        .arg("--passwords")
        .arg(corpus("good/passwords.yml"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"ansible_become_password\": \"<redacted>\"",
        ))
        .stdout(predicate::str::contains("hunter2").not());
}

#[test]
fn bad_input_exits_2_naming_file_and_line_and_writes_nothing() {
    let dir = scratch(&[]);
    let out_dir = dir.path().join("out");
    cephalo()
        .args(["render", "-i"])
        .arg(corpus("inventory/bad-range-reversed.ini"))
        .arg("--globals")
        .arg(corpus("good/globals.yml"))
        .arg("--passwords")
        .arg(corpus("good/passwords.yml"))
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad-range-reversed.ini:2: range `[3:1]` ends before it starts",
        ))
        .stderr(predicate::str::contains("nothing was changed"));
    assert!(!out_dir.exists());
    // A missing file is bad input too, named in the message.
    cephalo()
        .args(["inventory", "-i", "/nonexistent/inventory"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/inventory"));
    // Unknown flags: clap's usage error, also 2.
    cephalo().args(["render", "--bogus"]).assert().code(2);
    // A malformed key in passwords.yml is named without echoing it (render
    // reads the passwords; the inventory views do not).
    let pw = scratch(&[("passwords.yml", "ceph_mon_key: AQBsecretsecretsecret\n")]);
    cephalo()
        .args(["render", "--out"])
        .arg(pw.path().join("out"))
        .arg("-i")
        .arg(corpus("good/inventory"))
        .arg("--globals")
        .arg(corpus("good/globals.yml"))
        .arg("--passwords")
        .arg(pw.path().join("passwords.yml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "passwords.yml:1 (key `ceph_mon_key`): not a cephx secret",
        ))
        .stderr(predicate::str::contains("AQBsecret").not());
}

#[test]
fn genpwd_needs_to_know_which_file() {
    cephalo()
        .arg("genpwd")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--passwords FILE"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// gatherkeys, admin and the playground refuse names they do not know
/// with exit code 2, before they connect to anything.
#[test]
fn unknown_mons_hosts_and_engines_are_bad_input() {
    let files = |c: &mut Command| {
        c.arg("-i")
            .arg(corpus("good/inventory"))
            .arg("--globals")
            .arg(corpus("good/globals.yml"))
            .arg("--passwords")
            .arg(corpus("good/passwords.yml"));
    };
    let mut c = cephalo();
    c.args(["gatherkeys", "ceph9"]);
    files(&mut c);
    c.assert().code(2).stderr(
        predicate::str::contains("`ceph9` is not a mon of")
            .and(predicate::str::contains("(mons: ceph1, ceph2, ceph3)")),
    );
    let mut c = cephalo();
    c.args(["admin", "nosuchhost*"]);
    files(&mut c);
    c.assert().code(2).stderr(predicate::str::contains(
        "`nosuchhost*` in --limit matches no host or group of",
    ));
    let mut c = cephalo();
    c.args(["admin"]);
    files(&mut c);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("HOST_PATTERN or --limit"));
    let dir = tempfile::tempdir().unwrap();
    cephalo()
        .args([
            "playground",
            "up",
            "--engine",
            "lxc",
            "--filestore",
            "--release",
            "reef",
            "--dir",
        ])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--engine `lxc`: give docker or podman").and(
                predicate::str::contains("--filestore: reef has no filestore"),
            ),
        );
}

/// `upgrade --plan --from` shows the plan without contacting any host;
/// a jump too far, a downgrade and an unknown release are refused with
/// their own exit codes before anything is touched.
#[test]
fn upgrade_plans_offline_and_refuses_what_ceph_cannot_do() {
    let inv = repo().join("inventory/multinode");
    let pw = corpus("good/passwords.yml");
    let plan = |from: &str, to: &str, json: bool| {
        let mut c = cephalo();
        c.args(["upgrade", "-i"])
            .arg(&inv)
            .arg("--passwords")
            .arg(&pw)
            .args(["--to", to, "--plan", "--from", from])
            // Releases before nautilus have no upstream image to default to.
            .args(["-e", "ceph_image_tag=own-build"]);
        if json {
            c.arg("--json");
        }
        c.assert()
    };
    let out = plan("pacific", "reef", false).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for want in [
        "upgrade pacific -> reef",
        "[flag-set:noout]",
        "[mon:control01]",
        "[osd-host:storage01]",
        "[require-osd-release]",
        "[flag-restore:noout]",
    ] {
        assert!(text.contains(want), "{want} missing in:\n{text}");
    }
    let out = plan("pacific", "reef", true).success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["to"], "reef");
    plan("jewel", "mimic", false)
        .code(7)
        .stderr(predicate::str::contains("upgrade to luminous first"));
    plan("reef", "pacific", false)
        .code(7)
        .stderr(predicate::str::contains("downgrade"));
    plan("pacific", "bobtail", false)
        .code(2)
        .stderr(predicate::str::contains("unknown Ceph release"));
}

/// Installs a Debian package when its program is missing (never skips).
fn ensure_program(program: &str, package: &str) {
    let have = |p: &str| {
        std::process::Command::new("sh")
            .args(["-c", "command -v \"$1\"", "sh", p])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have(program) {
        return;
    }
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .expect("run apt-get")
    };
    let install = ["install", "-y", "--no-install-recommends", package];
    if !apt(&install).status.success() {
        // Stale package lists are the usual reason.
        apt(&["update"]);
        let out = apt(&install);
        assert!(
            out.status.success(),
            "apt-get install {package} failed:\n{}",
            crate::support::output_text(&out)
        );
    }
    assert!(
        have(program),
        "{program} missing after installing {package}"
    );
}

/// Every subcommand's path (`deploy`, `disks list`), as the parser has them.
fn subcommands(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let path = format!("{prefix}{}", sub.get_name());
        out.push(path.clone());
        subcommands(sub, &format!("{path} "), out);
    }
}

fn all_subcommands() -> Vec<String> {
    let mut out = Vec::new();
    subcommands(&cephalo::cli::command(), "", &mut out);
    for known in [
        "deploy",
        "tune",
        "disks prepare",
        "playground up",
        "completions",
        "man",
    ] {
        assert!(out.iter().any(|s| s == known), "{known} not in {out:?}");
    }
    out
}

fn sh(program: &str, script: &str, args: &[&std::path::Path]) -> String {
    let out = std::process::Command::new(program)
        .args(["-c", script, program])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} -c {script}:\n{}",
        crate::support::output_text(&out)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `cephalo completions SHELL` names every subcommand (and, in the nested
/// ones, their own); bash and fish complete from the script, zsh reads it.
#[test]
fn completions_cover_every_subcommand_and_work_in_the_shells() {
    ensure_program("zsh", "zsh");
    ensure_program("fish", "fish");
    let dir = scratch(&[]);
    let subs = all_subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let out = cephalo().args(["completions", shell]).assert().success();
        let script = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        for sub in &subs {
            let leaf = sub.rsplit(' ').next().unwrap();
            assert!(script.contains(leaf), "{shell} completions lack `{sub}`");
        }
        // fish writes `-l check` for --check.
        for flag in ["check", "overwrite-conf", "limit", "inventory"] {
            assert!(script.contains(flag), "{shell} completions lack --{flag}");
        }
        std::fs::write(dir.path().join(shell), &script).unwrap();
    }
    let file = |shell: &str| dir.path().join(shell);

    // bash: the function the script registers completes subcommands and
    // a subcommand's flags.
    let words = |line: &str| {
        sh(
            "bash",
            r#"source "$1"; read -ra COMP_WORDS <<<"$2"; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _cephalo cephalo "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf '%s\n' "${COMPREPLY[@]}""#,
            &[&file("bash"), std::path::Path::new(line)],
        )
    };
    assert_eq!(words("cephalo de"), "deploy\ndestroy\n");
    assert_eq!(words("cephalo tune --ch"), "--check\n");
    assert_eq!(words("cephalo disks p"), "prepare\n");

    // fish: `complete -C` asks the loaded script.
    let fish = sh(
        "fish",
        // fish has no $0: the file is the last of $argv.
        "source $argv[-1]; complete -C 'cephalo gath'; complete -C 'cephalo admin --overw'",
        &[&file("fish")],
    );
    assert!(fish.lines().any(|l| l.starts_with("gatherkeys")), "{fish}");
    assert!(
        fish.lines().any(|l| l.starts_with("--overwrite-conf")),
        "{fish}"
    );

    // zsh: the script parses.
    sh("zsh", r#"zsh -n "$1""#, &[&file("zsh")]);

    cephalo()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"));
}

/// `groff -man` renders a page to plain text, warnings (-ww) failing the
/// test.
fn render_man(page: &std::path::Path) -> String {
    ensure_program("groff", "groff-base");
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-rLL=300n", "-P-cbou"])
        .arg(page)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "groff {}:\n{}",
        page.display(),
        crate::support::output_text(&out)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `cephalo man --out DIR` writes cephalo.1 and a page per subcommand;
/// they render, cephalo(1) names every subcommand and the exit codes, and
/// a command's page names every option it has.
#[test]
fn man_pages_render_and_name_every_subcommand_and_option() {
    let dir = scratch(&[]);
    let man1 = dir.path().join("share/man/man1");
    let subs = all_subcommands();
    cephalo()
        .args(["man", "--out"])
        .arg(&man1)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "wrote {} man page(s) to",
            subs.len() + 1
        )));
    let top = render_man(&man1.join("cephalo.1"));
    assert!(top.contains("EXIT STATUS"), "{top}");
    for (code, meaning) in cephalo::error::exit::ALL {
        let listed = top.lines().any(|l| {
            let l = l.trim();
            l.starts_with(&format!("{code} ")) && l.ends_with(meaning)
        });
        assert!(listed, "exit code {code} not in cephalo(1):\n{top}");
    }
    for sub in &subs {
        let page = format!("cephalo-{}", sub.replace(' ', "-"));
        let rendered = render_man(&man1.join(format!("{page}.1")));
        // (A justified line spreads its words apart.)
        let words = rendered.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(&format!("cephalo {sub}")), "{rendered}");
        if !sub.contains(' ') {
            assert!(top.contains(&format!("{page}(1)")), "{page} not in:\n{top}");
        }
    }
    assert!(!man1.join("cephalo-help.1").exists());

    let deploy = render_man(&man1.join("cephalo-deploy.1"));
    let cmd = cephalo::cli::command();
    let args: Vec<&clap::Arg> = cmd
        .find_subcommand("deploy")
        .unwrap()
        .get_arguments()
        .collect();
    assert!(args.len() >= 12, "{args:?}");
    for a in args {
        if let Some(long) = a.get_long() {
            assert!(deploy.contains(&format!("--{long}")), "--{long}:\n{deploy}");
        }
        if let Some(short) = a.get_short() {
            assert!(
                deploy.contains(&format!("-{short}, --")),
                "-{short}:\n{deploy}"
            );
        }
    }
    assert!(
        deploy.contains("Exit code 8 when something would change"),
        "{deploy}"
    );

    // Without --out: cephalo.1 on stdout, the same page.
    let out = cephalo().arg("man").assert().success();
    assert_eq!(
        out.get_output().stdout,
        std::fs::read(man1.join("cephalo.1")).unwrap()
    );
}

/// Ansible's `-C` and `-D` work where `--check` and `--diff` exist.
#[test]
fn check_and_diff_have_ansibles_short_flags() {
    use cephalo::cli::{Command as Sub, parse};
    let args = |rest: &[&str]| {
        let mut v = vec!["cephalo"];
        v.extend(rest);
        parse(v).unwrap_or_else(|e| panic!("{rest:?}: {e}")).command
    };
    match args(&["deploy", "-i", "inv", "-C", "-D"]) {
        Sub::Deploy(a) => assert!(a.check && a.diff),
        other => panic!("{other:?}"),
    }
    match args(&["reconfigure", "-i", "inv", "-CD"]) {
        Sub::Reconfigure(a) => assert!(a.check && a.diff),
        other => panic!("{other:?}"),
    }
    match args(&["admin", "-i", "inv", "-C", "-D", "client1"]) {
        Sub::Admin(a) => assert!(a.check && a.diff),
        other => panic!("{other:?}"),
    }
    match args(&["tune", "-i", "inv", "-C"]) {
        Sub::Tune(a) => assert!(a.check),
        other => panic!("{other:?}"),
    }
    match args(&["gatherkeys", "-i", "inv", "-C"]) {
        Sub::Gatherkeys(a) => assert!(a.check),
        other => panic!("{other:?}"),
    }
    match args(&["disks", "prepare", "-i", "inv", "-C"]) {
        Sub::Disks(cephalo::cli::DisksCommand::Prepare(a)) => assert!(a.check),
        other => panic!("{other:?}"),
    }
}

/// `cephalo run uptime` (no `--`) is a usage error that shows the line
/// with `--`; `--help` lists the exit codes, 8 among them.
#[test]
fn run_without_dashes_gets_a_tip_and_help_lists_exit_codes() {
    cephalo()
        .args(["run", "uptime"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unexpected argument 'uptime'"))
        .stderr(predicate::str::contains(
            "tip: the command to run goes after `--`: `cephalo run -i INVENTORY -- uptime`",
        ));
    cephalo()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains(
            "  8  --check: something would change; status: something is flagged (nothing failed)",
        ));
}

/// A passwords.yml readable by others (a git checkout's 0644) is an error,
/// with its mode and the fix, for every command that reads it, and
/// nothing is written; open to its group only, a warning. The fix as
/// printed works; genpwd says that it tightened the mode.
#[test]
fn a_readable_passwords_file_is_refused_and_genpwd_says_it_tightens_it() {
    let dir = scratch(&[]);
    let inv = dir.path().join("multinode");
    std::fs::copy(repo().join("inventory/multinode"), &inv).unwrap();
    std::fs::copy(
        repo().join("inventory/globals.yml"),
        dir.path().join("globals.yml"),
    )
    .unwrap();
    let pw = dir.path().join("passwords.yml");
    std::fs::copy(corpus("good/passwords.yml"), &pw).unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = format!(
        "error: {}: mode 0644: the cephx keys in this file are readable by every user of this machine; run `chmod 600 {}`",
        pw.display(),
        pw.display()
    );
    let out = dir.path().join("out");
    // (`inventory` reads no passwords.yml: its views show no secrets.)
    for args in [
        vec!["render", "--out", out.to_str().unwrap()],
        vec!["deploy", "--check"],
        vec!["gatherkeys", "--check"],
    ] {
        let got = cephalo().args(&args).arg("-i").arg(&inv).output().unwrap();
        let text = String::from_utf8_lossy(&got.stderr).to_string();
        assert_eq!(got.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains(error.as_str()), "{args:?}: {text}");
    }
    assert!(!out.exists());
    // Open to the group only: rendered, with a warning.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o640)).unwrap();
    cephalo()
        .args(["render", "--out", out.to_str().unwrap()])
        .arg("-i")
        .arg(&inv)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: {}: mode 0640: the cephx keys in this file are readable by its group; run `chmod 600 {}`",
            pw.display(),
            pw.display()
        )));
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    // The fix as printed.
    let fix = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("chmod 600 {}", pw.display()))
        .status()
        .unwrap();
    assert!(fix.success());
    cephalo()
        .args(["inventory", "--list", "-i"])
        .arg(&inv)
        .assert()
        .success()
        .stderr(predicate::str::contains("chmod").not());
    // genpwd on a full but readable file only tightens it, and says so.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o640)).unwrap();
    cephalo()
        .args(["genpwd", "-i"])
        .arg(&inv)
        .assert()
        .success()
        .stdout(predicate::str::contains("mode 0640 -> 0600"))
        .stdout(predicate::str::contains("nothing to fill in").not());
    assert_eq!(
        std::fs::metadata(&pw).unwrap().permissions().mode() & 0o777,
        0o600
    );
    cephalo()
        .args(["genpwd", "-i"])
        .arg(&inv)
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to fill in"));
}

/// The all-in-one example renders without a warning with its own globals;
/// with the multinode globals (size 3 on one host) render warns, naming
/// the file and key, as prechecks fails.
#[test]
fn render_warns_of_a_pool_size_above_the_osd_hosts() {
    let dir = scratch(&[]);
    let pw = dir.path().join("passwords.yml");
    std::fs::copy(corpus("good/passwords.yml"), &pw).unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let render = |globals: &str| {
        let out = cephalo()
            .args(["render", "-i"])
            .arg(repo().join("inventory/all-in-one"))
            .arg("--globals")
            .arg(repo().join(globals))
            .arg("--passwords")
            .arg(&pw)
            .arg("--out")
            .arg(dir.path().join("out"))
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stderr).to_string()
    };
    let own = render("inventory/globals-all-in-one.yml");
    assert!(!own.contains("warning"), "{own}");
    let shared = render("inventory/globals.yml");
    assert!(
        shared.contains(&format!(
            "warning: {} (key `osd_pool_default_size`): osd_pool_default_size 3 > 1 OSD host(s): add OSD hosts or lower osd_pool_default_size",
            repo().join("inventory/globals.yml").display()
        )),
        "{shared}"
    );
}

/// Every error comes in one format (`error: ...`, and the count line for
/// bad input), names the real file and not a temp file, and the hints it
/// prints work when run as printed.
#[test]
fn errors_have_one_format_and_their_hints_run_as_printed() {
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).to_string();
    // genpwd without a file to fill in.
    let out = cephalo().arg("genpwd").assert().code(2);
    assert_eq!(
        stderr(out.get_output()),
        "error: say which file to fill in: --passwords FILE, or -i INVENTORY to use passwords.yml next to it\n\
         1 error(s) in the input; nothing was changed\n"
    );
    // A write failure names the file, not the temp file beside it.
    let dir = scratch(&[]);
    let missing = dir.path().join("no-such-dir/passwords.yml");
    let out = cephalo()
        .args(["genpwd", "--passwords"])
        .arg(&missing)
        .assert()
        .code(1);
    let e = stderr(out.get_output());
    assert_eq!(
        e,
        format!(
            "error: cannot write {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    // --limit matching nothing.
    let out = cephalo()
        .args(["render", "--limit", "nosuch", "--out"])
        .arg(dir.path().join("out"))
        .arg("-i")
        .arg(repo().join("inventory/multinode"))
        .arg("--passwords")
        .arg(corpus("good/passwords.yml"))
        .assert()
        .code(2);
    let e = stderr(out.get_output());
    assert!(
        e.starts_with("error: `nosuch` in --limit matches no host"),
        "{e}"
    );
    assert!(
        e.ends_with("\n1 error(s) in the input; nothing was changed\n"),
        "{e}"
    );

    // A passwords.yml without keys: the hint, run as printed, fills it in.
    let inv = dir.path().join("my inventory");
    std::fs::create_dir_all(&inv).unwrap();
    std::fs::copy(repo().join("inventory/multinode"), inv.join("hosts")).unwrap();
    std::fs::copy(
        repo().join("inventory/globals.yml"),
        inv.join("globals.yml"),
    )
    .unwrap();
    std::fs::write(
        inv.join("passwords.yml"),
        "---\nkeystone_admin_password: x\n",
    )
    .unwrap();
    std::fs::set_permissions(
        inv.join("passwords.yml"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let rendered = dir.path().join("rendered");
    let out = cephalo()
        .args(["render", "--out"])
        .arg(&rendered)
        .arg("-i")
        .arg(inv.join("hosts"))
        .assert()
        .code(2);
    let e = stderr(out.get_output());
    let hint = e
        .split("run `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no hint in {e}"));
    assert!(hint.starts_with("cephalo genpwd --passwords '"), "{hint}");
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(hint.replacen("cephalo", cephalo_bin().to_str().unwrap(), 1))
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    cephalo()
        .args(["render", "--out"])
        .arg(&rendered)
        .arg("-i")
        .arg(inv.join("hosts"))
        .assert()
        .success();

    // An unknown key points at `cephalo settings`, which lists it all.
    let out = cephalo()
        .args(["render", "-e", "frobnicate=1", "--out"])
        .arg(dir.path().join("out"))
        .arg("-i")
        .arg(inv.join("hosts"))
        .assert()
        .code(2);
    assert!(
        stderr(out.get_output()).contains("`cephalo settings` lists the settings cephalo knows")
    );
    let out = cephalo().arg("settings").assert().success();
    let all = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for key in [
        "public_network",
        "ceph_image_tag",
        "ceph_osd_devices",
        "osd_memory_target",
    ] {
        assert!(all.contains(&format!("\n{key}:")), "{key} missing");
    }
    cephalo()
        .args(["settings", "ceph_osd_devices"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cephalo disks prepare"));
    cephalo()
        .args(["settings", "ceph_image_tga"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(did you mean `ceph_image_tag`?)"));
}

fn cephalo_bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("cephalo")
}

/// The run log goes next to the inventory (as known_hosts and keys/ do),
/// not into the folder cephalo was started from; --log-dir still decides.
#[test]
fn run_logs_go_next_to_the_inventory_unless_log_dir_says_otherwise() {
    let site = scratch(&[("inventory", "[mons]\nlocalhost ansible_connection=local\n")]);
    let cwd = scratch(&[]);
    let logs = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).count())
            .unwrap_or(0)
    };
    cephalo()
        .current_dir(cwd.path())
        .args(["run", "-i"])
        .arg(site.path().join("inventory"))
        .args(["--", "true"])
        .assert()
        .success();
    assert_eq!(logs(&site.path().join("logs")), 1);
    assert!(!cwd.path().join("logs").exists());
    let elsewhere = cwd.path().join("my-logs");
    cephalo()
        .current_dir(cwd.path())
        .args(["run", "-i"])
        .arg(site.path().join("inventory"))
        .arg("--log-dir")
        .arg(&elsewhere)
        .args(["--", "true"])
        .assert()
        .success();
    assert_eq!(logs(&elsewhere), 1);
    assert_eq!(logs(&site.path().join("logs")), 1);
}

/// Modes that cannot go together are refused by the parser, with exit 2
/// and the usage line, before anything is read or connected: `--from`
/// without `--plan` (it would have started a real run), `--status`,
/// `--abort` or `--resume` with `--plan`, and with each other.
#[test]
fn conflicting_upgrade_modes_are_refused_with_the_usage_line() {
    let inv = repo().join("inventory/multinode");
    let cases: [(&[&str], &str); 6] = [
        (&["--from", "pacific", "--to", "reef"], "--plan"),
        (&["--to", "reef", "--plan", "--status"], "--status"),
        (&["--to", "reef", "--plan", "--abort"], "--abort"),
        (&["--to", "reef", "--plan", "--resume"], "--resume"),
        (&["--status", "--abort"], "--abort"),
        (&["--resume", "--abort"], "--abort"),
    ];
    for (args, named) in cases {
        let out = cephalo()
            .arg("upgrade")
            .args(args)
            .arg("-i")
            .arg(&inv)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("Usage: cephalo upgrade"), "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
}

/// A view piped into a reader that has gone (`| head -1`) ends quietly
/// with status 141, as a program SIGPIPE ends: no panic message.
#[test]
fn a_view_written_to_a_closed_pipe_ends_quietly() {
    let inv = repo().join("inventory/multinode").display().to_string();
    let pw = corpus("good/passwords.yml").display().to_string();
    let views: [&[&str]; 3] = [
        &["inventory", "--list", "-i", &inv],
        &[
            "upgrade",
            "--plan",
            "--from",
            "pacific",
            "--to",
            "reef",
            "-i",
            &inv,
            "--passwords",
            &pw,
        ],
        &["settings"],
    ];
    for args in views {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(cephalo_bin())
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
