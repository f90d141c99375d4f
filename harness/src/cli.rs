//! libtest's command line, as `cargo test`, cargo-nextest, editors and CI tools send it: the same
//! flags, the unstable ones gated behind `-Z unstable-options` exactly where libtest gates them,
//! and libtest's words when one is refused.

use std::path::PathBuf;

use clap::Parser;

/// The command line as written.
#[derive(Parser, Debug, Default)]
#[command(
    help_template = "USAGE: [OPTIONS] [FILTERS...]\n\n{all-args}\n",
    disable_version_flag = true
)]
struct Written {
    /// Run ignored and not ignored tests
    #[arg(long)]
    include_ignored: bool,
    /// Run only ignored tests
    #[arg(long)]
    ignored: bool,
    /// Accepted for libtest's sake; every test runs in its own process all the same
    #[arg(long)]
    force_run_in_process: bool,
    /// Excludes tests marked as should_panic
    #[arg(long)]
    exclude_should_panic: bool,
    /// Run tests and not benchmarks
    #[arg(long)]
    test: bool,
    /// Run benchmarks instead of tests (there are none here)
    #[arg(long)]
    bench: bool,
    /// List all tests and benchmarks
    #[arg(long)]
    list: bool,
    /// Write logs to the specified file
    #[arg(long, value_name = "PATH")]
    logfile: Option<PathBuf>,
    /// Don't capture stdout/stderr of each test, allow printing directly
    #[arg(long, alias = "no-capture")]
    nocapture: bool,
    /// Number of tests run at once, each in its own child
    #[arg(long, value_name = "n_threads")]
    test_threads: Option<usize>,
    /// Skip tests whose names contain FILTER (this flag can be used multiple times)
    #[arg(long, value_name = "FILTER")]
    skip: Vec<String>,
    /// Display one character per test instead of one line. Alias to --format=terse
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Exactly match filters rather than by substring
    #[arg(long)]
    exact: bool,
    /// Configure coloring of output
    #[arg(long, value_name = "auto|always|never")]
    color: Option<String>,
    /// Configure formatting of output
    #[arg(long, value_name = "pretty|terse|json|junit")]
    format: Option<String>,
    /// Show captured stdout of successful tests
    #[arg(long)]
    show_output: bool,
    /// Enable nightly-only flags: unstable-options
    #[arg(short = 'Z', value_name = "unstable-options")]
    unstable: Option<String>,
    /// Show execution time of each test
    #[arg(long)]
    report_time: bool,
    /// Treat excess of the test execution time limit as error
    #[arg(long)]
    ensure_time: bool,
    /// Run tests in random order
    #[arg(long)]
    shuffle: bool,
    /// Run tests in random order; seed the random number generator with SEED
    #[arg(long, value_name = "SEED")]
    shuffle_seed: Option<String>,
    /// Run only tests whose names contain a FILTER
    #[arg(value_name = "FILTERS")]
    filters: Vec<String>,
}

/// Which tests `--ignored` and `--include-ignored` run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum RunIgnored {
    /// Not the ignored ones.
    #[default]
    No,
    /// All of them.
    Yes,
    /// The ignored ones only.
    Only,
}

/// `--format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Format {
    #[default]
    Pretty,
    Terse,
    Json,
    Junit,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// The command line, checked as libtest checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Arguments {
    pub(crate) filters: Vec<String>,
    pub(crate) exact: bool,
    pub(crate) skip: Vec<String>,
    pub(crate) run_ignored: RunIgnored,
    pub(crate) exclude_should_panic: bool,
    pub(crate) list: bool,
    pub(crate) format: Format,
    pub(crate) color: ColorChoice,
    pub(crate) nocapture: bool,
    pub(crate) show_output: bool,
    pub(crate) test_threads: Option<usize>,
    pub(crate) logfile: Option<PathBuf>,
    /// `--report-time` or `--ensure-time`: each test's time is shown.
    pub(crate) report_time: bool,
    /// `--ensure-time`: a test over its critical time fails.
    pub(crate) ensure_time: bool,
    /// Given, or made up for `--shuffle`: the tests run in the order it gives.
    pub(crate) shuffle_seed: Option<u64>,
    pub(crate) force_run_in_process: bool,
    /// `--bench` without `--test`: benchmarks only, and there are none.
    pub(crate) benchmarks_only: bool,
}

/// Why the command line was refused: libtest's words.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub(crate) String);

impl Arguments {
    /// Parses libtest's flags; `env` is the environment (`RUSTC_BOOTSTRAP` lets `-Z` through, as
    /// on a stable toolchain's libtest). A `--help` prints and exits.
    pub(crate) fn parse(
        argv: Vec<std::ffi::OsString>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Refused> {
        let written = Written::try_parse_from(argv).map_err(|error| {
            if !error.use_stderr() {
                // `--help`: clap prints it and exits 0.
                error.exit();
            }
            let text = error.to_string();
            let first = text.lines().next().unwrap_or("").trim_end();
            Refused(first.trim_start_matches("error: ").to_owned())
        })?;
        written.check(env)
    }
}

impl Written {
    fn check(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Arguments, Refused> {
        let unstable = match self.unstable.as_deref() {
            None => false,
            // A stable toolchain's libtest takes `-Z` only under RUSTC_BOOTSTRAP.
            Some(_) if env("RUSTC_BOOTSTRAP").is_none() => {
                return refuse("the option `Z` is only accepted on the nightly compiler")
            }
            Some("unstable-options") => true,
            Some(_) => return refuse("Unrecognized option to `Z`"),
        };
        let gated = |flag: bool, name: &str| -> Result<bool, Refused> {
            if flag && !unstable {
                return refuse(&format!(
                    "The \"{name}\" flag is only accepted on the nightly compiler with -Z unstable-options"
                ));
            }
            Ok(flag)
        };
        let force_run_in_process = gated(self.force_run_in_process, "force-run-in-process")?;
        let exclude_should_panic = gated(self.exclude_should_panic, "exclude-should-panic")?;
        let report_time = gated(self.report_time, "report-time")?;
        let ensure_time = gated(self.ensure_time, "ensure-time")?;
        let shuffle = gated(self.shuffle, "shuffle")?
            || (unstable && env("RUST_TEST_SHUFFLE").is_some_and(|value| value != "0"));
        let shuffle_seed = self.shuffle_seed(unstable, env)?;
        let run_ignored = match (self.include_ignored, self.ignored) {
            (true, true) => {
                return refuse("the options --include-ignored and --ignored are mutually exclusive")
            }
            (true, false) => RunIgnored::Yes,
            (false, true) => RunIgnored::Only,
            (false, false) => RunIgnored::No,
        };
        Ok(Arguments {
            nocapture: self.nocapture || env("RUST_TEST_NOCAPTURE").is_some_and(|v| v != "0"),
            color: color(self.color.as_deref())?,
            format: format(self.format.as_deref(), self.quiet, unstable)?,
            filters: self.filters,
            exact: self.exact,
            skip: self.skip,
            run_ignored,
            exclude_should_panic,
            list: self.list,
            show_output: self.show_output,
            test_threads: self.test_threads,
            logfile: self.logfile,
            report_time: report_time || ensure_time,
            ensure_time,
            shuffle_seed: shuffle_seed.or_else(|| shuffle.then(seed_from_the_clock)),
            force_run_in_process,
            benchmarks_only: self.bench && !self.test,
        })
    }

    /// `--shuffle-seed`, or `RUST_TEST_SHUFFLE_SEED` where unstable options are on.
    fn shuffle_seed(
        &self,
        unstable: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<u64>, Refused> {
        let written = match &self.shuffle_seed {
            Some(_) if !unstable => {
                return refuse("The \"shuffle-seed\" option is only accepted on the nightly compiler with -Z unstable-options")
            }
            Some(seed) => Some(seed.clone()),
            None if unstable => env("RUST_TEST_SHUFFLE_SEED"),
            None => None,
        };
        written
            .map(|seed| {
                seed.parse::<u64>().map_err(|error| {
                    Refused(format!(
                        "argument for --shuffle-seed must be a number (error: {error})"
                    ))
                })
            })
            .transpose()
    }
}

fn refuse<T>(message: &str) -> Result<T, Refused> {
    Err(Refused(message.to_owned()))
}

fn color(written: Option<&str>) -> Result<ColorChoice, Refused> {
    match written {
        None | Some("auto") => Ok(ColorChoice::Auto),
        Some("always") => Ok(ColorChoice::Always),
        Some("never") => Ok(ColorChoice::Never),
        Some(other) => refuse(&format!(
            "argument for --color must be auto, always, or never (was {other})"
        )),
    }
}

fn format(written: Option<&str>, quiet: bool, unstable: bool) -> Result<Format, Refused> {
    match written {
        None if quiet => Ok(Format::Terse),
        None | Some("pretty") => Ok(Format::Pretty),
        Some("terse") => Ok(Format::Terse),
        Some(name @ ("json" | "junit")) if !unstable => refuse(&format!(
            "The \"{name}\" format is only accepted on the nightly compiler with -Z unstable-options"
        )),
        Some("json") => Ok(Format::Json),
        Some("junit") => Ok(Format::Junit),
        Some(other) => refuse(&format!(
            "argument for --format must be pretty, terse, json or junit (was {other})"
        )),
    }
}

/// libtest's seed for `--shuffle` without one: the time, in nanoseconds.
fn seed_from_the_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str], env: &[(&str, &str)]) -> Result<Arguments, Refused> {
        let argv = std::iter::once("suite").chain(argv.iter().copied());
        let env = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        Arguments::parse(argv.map(Into::into).collect(), &env)
    }

    fn refused(argv: &[&str], env: &[(&str, &str)]) -> String {
        parse(argv, env).expect_err("refused").0
    }

    const BOOTSTRAP: &[(&str, &str)] = &[("RUSTC_BOOTSTRAP", "1")];

    #[test]
    fn unstable_flags_need_z_unstable_options_as_libtest_says() {
        for flag in [
            "force-run-in-process",
            "exclude-should-panic",
            "report-time",
            "ensure-time",
            "shuffle",
        ] {
            assert_eq!(
                refused(&[&format!("--{flag}")], BOOTSTRAP),
                format!(
                    "The \"{flag}\" flag is only accepted on the nightly compiler with -Z unstable-options"
                )
            );
            let with_z = parse(&["-Z", "unstable-options", &format!("--{flag}")], BOOTSTRAP);
            assert!(with_z.is_ok(), "{flag}");
        }
        assert_eq!(
            refused(&["--format", "json"], &[]),
            "The \"json\" format is only accepted on the nightly compiler with -Z unstable-options"
        );
        assert_eq!(
            refused(&["--shuffle-seed", "3"], &[]),
            "The \"shuffle-seed\" option is only accepted on the nightly compiler with -Z unstable-options"
        );
    }

    #[test]
    fn z_needs_rustc_bootstrap_on_a_stable_toolchain() {
        assert_eq!(
            refused(&["-Z", "unstable-options"], &[]),
            "the option `Z` is only accepted on the nightly compiler"
        );
        assert_eq!(
            refused(&["-Z", "other"], BOOTSTRAP),
            "Unrecognized option to `Z`"
        );
        let json = parse(&["-Zunstable-options", "--format=json"], BOOTSTRAP).unwrap();
        assert_eq!(json.format, Format::Json);
    }

    #[test]
    fn values_are_checked_in_libtests_words() {
        assert_eq!(
            refused(&["--format", "xml"], &[]),
            "argument for --format must be pretty, terse, json or junit (was xml)"
        );
        assert_eq!(
            refused(&["--color", "maybe"], &[]),
            "argument for --color must be auto, always, or never (was maybe)"
        );
        assert_eq!(
            refused(&["-Zunstable-options", "--shuffle-seed", "x"], BOOTSTRAP),
            "argument for --shuffle-seed must be a number (error: invalid digit found in string)"
        );
        assert_eq!(
            refused(&["--ignored", "--include-ignored"], &[]),
            "the options --include-ignored and --ignored are mutually exclusive"
        );
    }

    #[test]
    fn several_filters_quiet_and_the_environment() {
        let args = parse(&["alpha", "beta", "-q", "--no-capture"], &[]).unwrap();
        assert_eq!(args.filters, ["alpha", "beta"]);
        assert_eq!(args.format, Format::Terse);
        assert!(args.nocapture);
        let seeded = parse(
            &["-Zunstable-options"],
            &[("RUSTC_BOOTSTRAP", "1"), ("RUST_TEST_SHUFFLE_SEED", "7")],
        )
        .unwrap();
        assert_eq!(seeded.shuffle_seed, Some(7));
        let ensure = parse(&["-Zunstable-options", "--ensure-time"], BOOTSTRAP).unwrap();
        assert!(ensure.report_time && ensure.ensure_time);
    }
}
