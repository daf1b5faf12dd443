//! Commands on this machine, for hosts with `ansible_connection=local`:
//! the same quoted line an SSH host would run, through `sh -c`.

use std::process::Stdio;
use std::time::Instant;

use tokio::io::AsyncWriteExt;

use crate::transport::{Command, Endpoint, Output, TransportError};

pub async fn run(host: &Endpoint, cmd: &Command) -> Result<Output, TransportError> {
    let started = Instant::now();
    let other = |reason: String| TransportError::Other {
        host: host.name.clone(),
        reason,
    };
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd.line())
        .stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| other(format!("cannot start a local shell: {e}")))?;
    let stdin = child.stdin.take();
    let input =
        match &cmd.stdin {
            Some(i) => Some(i.reader().await.map_err(|e| {
                other(format!("cannot read the input of `{}`: {e}", cmd.display()))
            })?),
            None => None,
        };
    let feed = async move {
        if let (Some(mut pipe), Some(mut reader)) = (stdin, input) {
            // A command that exits without reading its input is not an error here.
            let _ = tokio::io::copy(&mut reader, &mut pipe).await;
            let _ = pipe.shutdown().await;
        }
    };
    let wait = async {
        let (_, out) = tokio::join!(feed, child.wait_with_output());
        out
    };
    match tokio::time::timeout(cmd.timeout, wait).await {
        Err(_) => Err(TransportError::Timeout {
            host: host.name.clone(),
            command: cmd.display(),
            seconds: cmd.timeout.as_secs(),
        }),
        Ok(Err(e)) => Err(other(format!("`{}` failed to run: {e}", cmd.display()))),
        Ok(Ok(out)) => Ok(Output {
            status: out.status.code().map(|c| c as u32).unwrap_or(255),
            stdout: out.stdout,
            stderr: out.stderr,
            duration: started.elapsed(),
        }),
    }
}
