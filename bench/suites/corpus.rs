//! The expensive shared state of the `setup` suites: a 50 MB corpus in a `LazyLock` that takes
//! 300 ms to build, as a parsed grammar or a generated genesis state would.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// How long building the corpus takes, all told.
const BUILD_TIME: Duration = Duration::from_millis(300);
/// Its size: 50 MB, every page written.
const WORDS: usize = (50 << 20) / 8;

pub static CORPUS: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let started = Instant::now();
    let corpus: Vec<u64> = (0..WORDS as u64)
        .map(|i| i.wrapping_mul(2_654_435_761) % 1_000_003)
        .collect();
    // The rest of the 300 ms: the parsing or generating the numbers stand for.
    if let Some(rest) = BUILD_TIME.checked_sub(started.elapsed()) {
        std::thread::sleep(rest);
    }
    corpus
});

/// What a test does with the corpus: reads one entry, as a test of a parser reads its grammar.
pub fn check(test: u64) {
    let at = (test as usize * 4099) % WORDS;
    assert_eq!(
        CORPUS[at],
        (at as u64).wrapping_mul(2_654_435_761) % 1_000_003
    );
}
