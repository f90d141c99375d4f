//! Two binaries of the same tests, timed in turns: each round runs each once, in order, so a slow
//! phase of the machine hits both alike; every run's pass count is checked; what is compared is
//! their median walls.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::numbers::{median, millis, ratio, spread_percent};
use crate::runner::{self, Runner};
use crate::Subset;

/// One of the two: a built test target, and the runner it runs under.
#[derive(Clone, Copy)]
pub struct Side {
    pub target: &'static str,
    pub runner: Runner,
}

/// Each side's wall times over the rounds, in the order the sides were given.
pub struct Paired {
    pub walls: [Vec<Duration>; 2],
}

/// Runs `subset` from both `sides`, `rounds` rounds, taking turns; `what` names the measurement in
/// the progress lines.
pub fn measure(
    what: &str,
    sides: [Side; 2],
    subset: Subset,
    rounds: usize,
    executables: &HashMap<String, PathBuf>,
) -> Result<Paired, String> {
    let mut walls = [Vec::new(), Vec::new()];
    for round in 1..=rounds {
        eprintln!("{what}, round {round}/{rounds}");
        for (side, walls) in sides.iter().zip(&mut walls) {
            let executable = &executables[side.target];
            let command = runner::test_binary(executable, subset.filter, side.runner.threads);
            walls.push(runner::run_subset(
                side.runner,
                command,
                subset,
                side.target,
            )?);
        }
    }
    Ok(Paired { walls })
}

impl Paired {
    /// The second side's median wall over the first's.
    pub fn ratio(&self) -> Option<f64> {
        let [first, second] = self.medians();
        ratio(second.as_secs_f64(), first.as_secs_f64())
    }

    fn medians(&self) -> [Duration; 2] {
        [&self.walls[0], &self.walls[1]].map(|walls| median(walls))
    }

    /// `median of 5 rounds: 12.3 ms against 4.5 ms, spread 3% / 4%`: the second side first.
    pub fn medians_text(&self) -> String {
        let [first, second] = self.medians();
        format!(
            "median of {} rounds: {:.1} ms against {:.1} ms, spread {:.0}% / {:.0}%",
            self.walls[0].len(),
            millis(second),
            millis(first),
            spread_percent(&self.walls[1], second),
            spread_percent(&self.walls[0], first),
        )
    }
}
