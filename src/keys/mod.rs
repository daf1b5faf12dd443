//! The cluster's keys on the operator's side: `gatherkeys` fetches them
//! from a mon in quorum into local files, `admin` puts the conf and the
//! admin keyring on hosts. Keys never appear in output, logs or errors.

pub mod admin;
pub mod gather;
pub mod keyring;
