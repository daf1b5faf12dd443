//! cephalo's integration tests: one binary, one module per capability.

mod all_in_one;
mod ansible_compat;
mod cli;
mod corpus;
mod custom;
mod deploy;
mod disks;
mod engine;
mod fuzz_ini;
mod genpwd;
mod inventory;
mod names_only;
mod operate;
mod playground;
mod precedence;
mod prechecks;
mod procs;
mod readme;
mod render;
mod sandbox;
mod ssh;
mod sshd;
mod status;
mod support;
mod upgrade;
mod walkthrough;
