//! How a command that did not fail ends, and so its exit code: done, or
//! (with `--check`) something a run would change, exit 8. The one place
//! that decides a `--check`'s code for deploy, reconfigure, tune, admin
//! and gatherkeys; counting and printing their findings is theirs.

use crate::error::{Result, exit};

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; after a `--check`, nothing would change.
    Done,
    /// A `--check` found this many changes a run would make.
    WouldChange(usize),
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Done => 0,
            Outcome::WouldChange(_) => exit::DRIFT,
        }
    }
}

/// A command that never reports drift: done when it did not fail.
pub fn done(result: Result<()>) -> Result<Outcome> {
    result.map(|()| Outcome::Done)
}

/// A `--check`'s outcome: its failures first, each with its own code (a
/// host that failed or could not be reached says nothing about drift),
/// then the changes it found.
pub fn checked(failures: Result<()>, changes: usize) -> Result<Outcome> {
    failures?;
    Ok(match changes {
        0 => Outcome::Done,
        n => Outcome::WouldChange(n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn nothing_to_change_is_0_and_changes_are_8() {
        assert_eq!(checked(Ok(()), 0).unwrap().exit_code(), 0);
        let found = checked(Ok(()), 3).unwrap();
        assert_eq!(found, Outcome::WouldChange(3));
        assert_eq!(found.exit_code(), 8);
        assert_eq!(done(Ok(())).unwrap().exit_code(), 0);
    }

    #[test]
    fn failures_keep_their_codes_over_drift() {
        let unreachable = checked(Err(Error::Unreachable { hosts: 1 }), 5).unwrap_err();
        assert_eq!(unreachable.exit_code(), exit::UNREACHABLE);
        let failed = checked(Err(Error::HostsFailed { hosts: 2 }), 0).unwrap_err();
        assert_eq!(failed.exit_code(), exit::HOST_FAILED);
    }

    #[test]
    fn drift_is_distinct_from_every_failure() {
        let codes: Vec<i32> = exit::ALL.iter().map(|(c, _)| *c).collect();
        assert!(!codes.contains(&0));
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        assert_eq!(
            codes.iter().filter(|c| **c == exit::DRIFT).count(),
            1,
            "{codes:?}"
        );
    }
}
