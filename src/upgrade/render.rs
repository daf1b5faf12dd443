//! The upgrade plan for people (`--plan`) and as JSON (`--plan --json`).
//! Formatting only: the plan's content is decided in plan.rs.

use std::fmt::Write;

use super::layout::{DaemonRef, Flag};
use super::step::{StepKind, UpgradePlan};

impl UpgradePlan {
    /// The plan as text: each phase, its steps in order with their ids and
    /// the gate after each, the flags set and restored, what is skipped.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let steps = self.steps().count();
        let _ = writeln!(out, "{}: {steps} step(s)", self.title());
        if self.is_empty() {
            let _ = writeln!(out, "nothing to do: every daemon runs {}", self.to);
        }
        let set_flags = |kept: bool| -> Vec<String> {
            self.steps()
                .filter_map(|(_, s)| match &s.kind {
                    StepKind::SetFlag { flag } if (*flag == Flag::Sortbitwise) == kept => {
                        Some(flag.to_string())
                    }
                    _ => None,
                })
                .collect()
        };
        let set = set_flags(false);
        let kept = set_flags(true);
        let restored: Vec<String> = self
            .steps()
            .filter_map(|(_, s)| match &s.kind {
                StepKind::RestoreFlag { flag } => Some(flag.to_string()),
                _ => None,
            })
            .collect();
        if !set.is_empty() {
            let _ = writeln!(out, "flags set: {}", set.join(", "));
            let _ = writeln!(
                out,
                "flags restored as they were: {}",
                if restored.is_empty() {
                    "none".to_string()
                } else {
                    restored.join(", ")
                }
            );
        }
        if !kept.is_empty() {
            let _ = writeln!(out, "flags set for good: {}", kept.join(", "));
        }
        let mut n = 0;
        for phase in &self.phases {
            let _ = writeln!(out, "\n{}", phase.name);
            for s in &phase.steps {
                n += 1;
                let _ = writeln!(out, "  {n:>2}. [{}] {}", s.id, s.what);
                if let Some(g) = &s.gate {
                    let _ = writeln!(out, "      gate: {}", g.describe());
                }
            }
        }
        list(
            &mut out,
            &format!("skipped (already on {})", self.to),
            &self.skipped,
        );
        list(
            &mut out,
            "left out by --limit/--daemon-types (finalise waits until they run the target)",
            &self.left_out,
        );
        out
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

fn list(out: &mut String, title: &str, daemons: &[DaemonRef]) {
    if daemons.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    for d in daemons {
        match d.running {
            Some(r) => {
                let _ = writeln!(out, "  {d} ({r})");
            }
            None => {
                let _ = writeln!(out, "  {d}");
            }
        }
    }
}
