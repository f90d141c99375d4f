//! Medians, ratios and number formatting shared by the report, the size measurement and the
//! targets block.

use std::time::Duration;

/// The median of some durations (the mean of the middle two for an even count).
pub fn median(durations: &[Duration]) -> Duration {
    assert!(!durations.is_empty(), "the median of nothing");
    let mut sorted = durations.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// `(max - min) / median`, in percent: how much the rounds disagreed.
pub fn spread_percent(walls: &[Duration], median: Duration) -> f64 {
    let (min, max) = (walls.iter().min(), walls.iter().max());
    match (min, max) {
        (Some(min), Some(max)) => (*max - *min).as_secs_f64() * 100.0 / median.as_secs_f64(),
        _ => 0.0,
    }
}

/// `a / b`, if `b` is a positive number to divide by.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite()).then(|| a / b)
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

pub fn rounded(x: Option<f64>, digits: i32) -> Option<f64> {
    x.map(|x| round(x, digits))
}

/// A number for the table, or `-`.
pub fn number(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

pub fn kib(x: Option<u64>) -> String {
    x.map_or_else(|| "?".into(), |x| x.to_string())
}
