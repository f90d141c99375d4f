//! A live status line on the terminal, like cargo-nextest's: tests done out of the total,
//! failures so far, and the running tests with their time so far.
//!
//! Drawn from the supervisor's poll loop (no thread, so the forking process stays single
//! threaded), on stderr, on the line below libtest's open `test NAME ... ` line: `ESC D` / `ESC M`
//! make sure that line exists without losing the cursor's column, `ESC 7` / `ESC 8` return to it.
//! Cleared before the console prints a verdict, so stdout's lines stay as libtest's.

use std::io::Write;
use std::time::{Duration, Instant};

use super::event::{Event, Sink, TestEnd};
use crate::registry::TestCase;

/// How often the line is redrawn while tests run.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// What the status line says, and whether it is on screen.
pub(crate) struct StatusLine {
    total: usize,
    done: usize,
    failed: usize,
    /// Runs that failed and ran again.
    retried: usize,
    /// The test that failed last and runs again, until it finishes.
    retrying: Option<String>,
    drawn: bool,
    last_drawn: Option<Instant>,
}

impl StatusLine {
    pub(crate) fn new(total: usize) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
            retried: 0,
            retrying: None,
            drawn: false,
            last_drawn: None,
        }
    }

    /// A test finished.
    fn count(&mut self, passed: bool) {
        self.done += 1;
        if !passed {
            self.failed += 1;
        }
    }

    /// Whether a redraw is due.
    fn due(&self, now: Instant) -> bool {
        self.last_drawn
            .is_none_or(|drawn| now.duration_since(drawn) >= REDRAW_EVERY)
    }

    /// Redraws the line, if due: `running` are the running tests with when each started.
    fn tick(&mut self, running: &[(&'static TestCase, Instant)]) {
        let now = Instant::now();
        if self.due(now) {
            let running: Vec<(String, Duration)> = (running.iter())
                .map(|(case, started)| (case.full_name(), now - *started))
                .collect();
            self.draw(&running, now);
        }
    }

    /// Draws the line: `running` are the running tests' names and times so far.
    fn draw(&mut self, running: &[(String, Duration)], now: Instant) {
        let width = console::Term::stderr().size().1 as usize;
        let text = self.text(running, width.saturating_sub(1).max(20));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\x1bD\x1bM\x1b7\x1bD\r\x1b[2K{text}\x1b8");
        let _ = err.flush();
        self.drawn = true;
        self.last_drawn = Some(now);
    }

    /// Takes the line off the screen, if it is on it.
    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\x1b7\x1bD\r\x1b[2K\x1b8");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    /// `[12/40] 1 failed · running: slow_one 2.1s, other 0.3s`, cut to `width` characters.
    fn text(&self, running: &[(String, Duration)], width: usize) -> String {
        let mut text = format!("[{}/{}]", self.done, self.total);
        if self.failed > 0 {
            text.push_str(&format!(" {} failed", self.failed));
        }
        if self.retried > 0 {
            text.push_str(&format!(" {} retried", self.retried));
        }
        if let Some(name) = &self.retrying {
            text.push_str(&format!(" · retrying {name}"));
        }
        if !running.is_empty() {
            text.push_str(" · running:");
            for (index, (name, time)) in running.iter().enumerate() {
                let separator = if index == 0 { " " } else { ", " };
                text.push_str(&format!("{separator}{name} {:.1}s", time.as_secs_f64()));
            }
        }
        let cut: String = text.chars().take(width).collect();
        console::style(cut).for_stderr().dim().to_string()
    }
}

impl Sink for StatusLine {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Tick(running) => self.tick(running),
            // Off the screen before anything else is written.
            Event::Slow { .. } | Event::Interrupted(_) => self.clear(),
            Event::Retrying(test) => {
                self.retried += 1;
                self.retrying = Some(test.name.to_owned());
            }
            Event::TestFinished(test, result) => {
                if self.retrying.as_deref() == Some(test.name) {
                    self.retrying = None;
                }
                match result.end {
                    TestEnd::Passed(_) => self.count(true),
                    TestEnd::Failed(_) => self.count(false),
                    // Not among the tests it counts.
                    TestEnd::Ignored => {}
                }
                self.clear();
            }
            _ => {}
        }
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(REDRAW_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_and_names_the_running_tests() {
        console::set_colors_enabled_stderr(false);
        console::set_colors_enabled(false);
        let mut status = StatusLine::new(40);
        status.count(true);
        status.count(false);
        let running = [
            ("slow_one".to_owned(), Duration::from_millis(2100)),
            ("other".to_owned(), Duration::from_millis(300)),
        ];
        assert_eq!(
            status.text(&running, 200),
            "[2/40] 1 failed · running: slow_one 2.1s, other 0.3s"
        );
        assert_eq!(status.text(&running, 6), "[2/40]");
    }
}
