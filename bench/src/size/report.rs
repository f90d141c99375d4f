//! The size measurement's rows in the table and its keys in the JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{SizeResult, SizeRun, SELECTED};
use crate::numbers::{median, millis, number, ratio, round, rounded, spread_percent};
use crate::runner::{Kind, Runner};

impl SizeResult {
    /// The size rows and the start and `--list` times, for the table.
    pub fn table(&self, mode: &str) -> String {
        let mut out = String::new();
        if self.rows.is_empty() {
            let _ = writeln!(
                out,
                "\nsuite size: not measured in the {mode} run (the 10,000- and 100,000-test \
                 binaries are built by the full run and --size only)"
            );
        } else {
            let _ = writeln!(
                out,
                "\nsuite size: the same {SELECTED} trivial tests at j1, from binaries registering \
                 more; peak RSS = the largest wait4 ru_maxrss of the rounds (harness, zygote, \
                 tests)"
            );
            let _ = writeln!(
                out,
                "{:>10}  {:<17} {:<7} {:>10} {:>6} {:>10} {:>8} {:>13}",
                "registered",
                "runner",
                "filter",
                "wall ms",
                "spread",
                "µs/test",
                "vs 1k",
                "peak RSS KiB"
            );
            for row in &self.rows {
                let wall = median(&row.walls);
                let peak = row.peak_rss_kb.iter().max().copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "{:>10}  {:<17} {:<7} {:>10.1} {:>5.0}% {:>10.1} {:>8} {:>13}",
                    row.run.registered,
                    row.run.kind_name(),
                    row.run.filter.unwrap_or("-"),
                    millis(wall),
                    spread_percent(&row.walls, wall),
                    millis(wall) * 1e3 / SELECTED as f64,
                    number(self.vs_1k(row.run.kind, row.run.registered), 2),
                    peak
                );
            }
        }
        self.probe_table(&mut out);
        out
    }

    /// Start and `--list`: isolated-test's median, libtest's, and their ratio.
    fn probe_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nstart (--exact no_such_test, j1) and --list of the {}-test binaries",
            self.probe.registered
        );
        let _ = writeln!(
            out,
            "{:<10} {:>17} {:>12} {:>8}",
            "", "isolated-test ms", "libtest ms", "ratio"
        );
        for (name, walls) in [("start", &self.startup), ("--list", &self.list)] {
            let [isolated, libtest] = [&walls[0], &walls[1]].map(|w| median(w).as_secs_f64());
            let _ = writeln!(
                out,
                "{name:<10} {:>17.1} {:>12.1} {:>8}",
                isolated * 1e3,
                libtest * 1e3,
                number(ratio(isolated, libtest), 2)
            );
        }
    }

    /// The JSON keys of this measurement: the headline ratios, then every row.
    pub fn json(&self) -> Map<String, Value> {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                json!({
                    "runner": row.run.kind_name(),
                    "threads": 1,
                    "registered": row.run.registered,
                    "filter": row.run.filter,
                    "passed": SELECTED,
                    "wall_ms": round(millis(median(&row.walls)), 3),
                    "peak_rss_kb": row.peak_rss_kb.iter().max(),
                })
            })
            .collect();
        let probe_ms = |walls: &[Vec<Duration>; 2]| {
            walls
                .each_ref()
                .map(|w| round(millis(median(w)), 3))
                .to_vec()
        };
        let Value::Object(map) = json!({
            "size_10k_vs_1k_j1": rounded(self.vs_1k(Kind::Isolated, 10_000), 3),
            "size_100k_vs_1k_j1": rounded(self.vs_1k(Kind::Isolated, 100_000), 3),
            "size_libtest_100k_vs_1k_j1": rounded(self.vs_1k(Kind::Libtest, 100_000), 3),
            "size_100k_peak_rss_kb": self.peak_rss_kb(100_000),
            "startup_100k_vs_libtest": rounded(self.startup_100k_vs_libtest(), 3),
            "list_100k_vs_libtest": rounded(self.list_100k_vs_libtest(), 3),
            "size": {
                "rows": rows,
                "probe_registered": self.probe.registered,
                "startup_ms_isolated_libtest": probe_ms(&self.startup),
                "list_ms_isolated_libtest": probe_ms(&self.list),
            },
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        map
    }
}

impl SizeRun {
    /// `isolated-test` or `libtest`, as the suite table names them.
    fn kind_name(&self) -> &'static str {
        Runner {
            kind: self.kind,
            threads: 1,
        }
        .name()
    }
}
