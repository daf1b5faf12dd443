//! The fast tier: pure and fake-transport tests that need no root, no
//! network and no container engine (`cargo test --lib --test fast`, under
//! a minute). The README's test command runs them with everything else.

mod ceph_answers;
mod custom;
mod golden;
mod interfaces;
mod layers;
mod map;
mod matrix;
mod prometheus;
mod redeploy;
mod release;
mod rotate;
mod safety;
mod scale;
mod status;
mod unknown;
mod upgrade_plan;
mod upgrade_run;
