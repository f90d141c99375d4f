//! libtest's command line, as `cargo test`, cargo-nextest, editors and CI tools send it, read by
//! getopts as libtest reads it: the same flags, the unstable ones gated behind
//! `-Z unstable-options` exactly where libtest gates them, and libtest's words when one is
//! refused.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::env::Env;

/// The flags libtest takes, in the order its `--help` lists them.
fn options() -> getopts::Options {
    let mut options = getopts::Options::new();
    run_flags(&mut options);
    output_flags(&mut options);
    unstable_flags(&mut options);
    options
}

/// From `--include-ignored` to `--exact`: which tests run and how. libtest lists `--help`,
/// `--logfile` and `--quiet` among them, and `--help` prints them in this order.
fn run_flags(options: &mut getopts::Options) {
    options
        .optflag("", "include-ignored", "Run ignored and not ignored tests")
        .optflag("", "ignored", "Run only ignored tests")
        .optflag(
            "",
            "force-run-in-process",
            "Accepted for libtest's sake: every test runs in a process of its own all the same",
        )
        .optflag(
            "",
            "exclude-should-panic",
            "Excludes tests marked as should_panic",
        )
        .optflag("", "test", "Run tests and not benchmarks")
        .optflag(
            "",
            "bench",
            "Run benchmarks instead of tests (there are none: every test is reported ignored)",
        )
        .optflag("", "list", "List all tests and benchmarks")
        .optflag(
            "",
            "fail-fast",
            "Don't start new tests after the first failure",
        )
        .optflag("h", "help", "Display this message")
        .optopt(
            "",
            "logfile",
            "Write logs to the specified file (deprecated)",
            "PATH",
        )
        .optflag(
            "",
            "no-capture",
            "Don't capture stdout/stderr of each test's process, let it print directly",
        )
        .optopt(
            "",
            "test-threads",
            "Number of tests run at once, each in its own child process",
            "n_threads",
        )
        .optmulti(
            "",
            "skip",
            "Skip tests whose names contain FILTER (this flag can be used multiple times)",
            "FILTER",
        )
        .optflag(
            "q",
            "quiet",
            "Display one character per test instead of one line. Alias to --format=terse",
        )
        .optflag(
            "",
            "exact",
            "Exactly match filters rather than by substring",
        );
}

/// `--color`, `--format` and `--show-output`: how the run is printed.
fn output_flags(options: &mut getopts::Options) {
    options
        .optopt(
            "",
            "color",
            "Configure coloring of output:
            auto   = colorize if stdout is a tty and output is captured (default);
            always = always colorize output;
            never  = never colorize output;",
            "auto|always|never",
        )
        .optopt(
            "",
            "format",
            "Configure formatting of output:
            pretty = Print verbose output;
            terse  = Display one character per test;
            json   = Output a json document;
            junit  = Output a JUnit document",
            "pretty|terse|json|junit",
        )
        .optflag(
            "",
            "show-output",
            "Show captured stdout of successful tests",
        );
}

/// `-Z` and the flags libtest lists last, all gated behind it: the tests' times and order.
fn unstable_flags(options: &mut getopts::Options) {
    options
        .optopt(
            "Z",
            "",
            "Enable nightly-only flags:
            unstable-options = Allow use of experimental features",
            "unstable-options",
        )
        .optflag(
            "",
            "report-time",
            "Show execution time of each test (limits for its colours in
            RUST_TEST_TIME_UNIT and RUST_TEST_TIME_INTEGRATION, as WARN_MS,CRITICAL_MS)",
        )
        .optflag(
            "",
            "ensure-time",
            "Treat excess of the test execution time limit as error",
        )
        .optflag("", "shuffle", "Run tests in random order")
        .optopt(
            "",
            "shuffle-seed",
            "Run tests in random order; seed the random number generator with SEED",
            "SEED",
        );
}

/// What `--help` prints after the flags.
const HELP: &str = "\
The FILTER string is tested against the name of all tests, and only those
tests whose names contain the filter are run. Multiple filter strings may
be passed, which will run all tests matching any of the filters.

Every test runs in a child process of its own, several at once unless
--test-threads=1. Its output is captured unless --no-capture is given.
The ISOLATED_TEST_* environment variables (timeouts, leak limits, retries,
memory limits, reports) are described in isolated-test's reference
(docs/reference.md).";

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
    /// `--help`: the text to print, and nothing to run.
    pub(crate) help: Option<String>,
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
    /// `--test-threads`, at least 1.
    pub(crate) test_threads: Option<usize>,
    pub(crate) logfile: Option<PathBuf>,
    /// `--report-time` or `--ensure-time`: each test's time is shown.
    pub(crate) report_time: bool,
    /// `--ensure-time`: a test over its critical time fails.
    pub(crate) ensure_time: bool,
    /// Given, or made up for `--shuffle`: the tests run in the order it gives.
    pub(crate) shuffle_seed: Option<u64>,
    pub(crate) force_run_in_process: bool,
    /// `--fail-fast`: no test is reported after the first that fails.
    pub(crate) fail_fast: bool,
    /// `--bench` without `--test`: benchmarks only, and there are none, so every test selected
    /// is reported ignored.
    pub(crate) benchmarks_only: bool,
}

/// Why the command line was refused: libtest's words.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub(crate) String);

impl Arguments {
    /// Parses libtest's flags; `env` is the environment (`RUSTC_BOOTSTRAP` lets `-Z` through, as
    /// on a stable toolchain's libtest). Under `--help` nothing else is read: the run prints
    /// [`help`](Self::help) and ends.
    pub(crate) fn parse(argv: Vec<OsString>, env: Env) -> Result<Self, Refused> {
        let mut options = options();
        // Hidden from `--help`, as libtest hides it.
        options.optflag("", "nocapture", "Deprecated, use `--no-capture`");
        let matches = options
            .parse(argv.iter().skip(1))
            .map_err(|failure| Refused(failure.to_string()))?;
        if matches.opt_present("help") {
            let program = argv.first().map(|program| program.to_string_lossy());
            return Ok(Self {
                help: Some(help(program.as_deref().unwrap_or("..."))),
                ..Self::default()
            });
        }
        check(&matches, env)
    }
}

/// libtest's `--help`, for `program`.
fn help(program: &str) -> String {
    let usage = options().usage(&format!("Usage: {program} [OPTIONS] [FILTERS...]"));
    format!("{usage}\n{HELP}\n")
}

/// The flags' values, checked in libtest's order, so that of several mistakes the one refused
/// is the one libtest refuses.
fn check(matches: &getopts::Matches, env: Env) -> Result<Arguments, Refused> {
    let unstable = allow_unstable(matches, env)?;
    let gated = |name: &str| -> Result<bool, Refused> {
        let present = matches.opt_present(name);
        if present && !unstable {
            return refuse(&format!(
                "The \"{name}\" flag is only accepted on the nightly compiler with -Z unstable-options"
            ));
        }
        Ok(present)
    };
    let force_run_in_process = gated("force-run-in-process")?;
    let exclude_should_panic = gated("exclude-should-panic")?;
    let fail_fast = gated("fail-fast")?;
    let report_time = gated("report-time")?;
    let ensure_time = gated("ensure-time")?;
    let shuffle = gated("shuffle")?
        || (unstable && env("RUST_TEST_SHUFFLE").is_some_and(|value| value != "0"));
    let shuffle_seed = shuffle_seed(matches.opt_str("shuffle-seed"), unstable, env)?;
    let run_ignored = match (
        matches.opt_present("include-ignored"),
        matches.opt_present("ignored"),
    ) {
        (true, true) => {
            return refuse("the options --include-ignored and --ignored are mutually exclusive")
        }
        (true, false) => RunIgnored::Yes,
        (false, true) => RunIgnored::Only,
        (false, false) => RunIgnored::No,
    };
    let nocapture = matches.opt_present("nocapture")
        || matches.opt_present("no-capture")
        || env("RUST_TEST_NOCAPTURE").is_some_and(|value| value != "0");
    let test_threads = test_threads(matches.opt_str("test-threads"))?;
    let color = color(matches.opt_str("color").as_deref())?;
    let format = format(
        matches.opt_str("format").as_deref(),
        matches.opt_present("quiet"),
        unstable,
    )?;
    let bench = matches.opt_present("bench");
    Ok(Arguments {
        help: None,
        filters: matches.free.clone(),
        exact: matches.opt_present("exact"),
        skip: matches.opt_strs("skip"),
        run_ignored,
        exclude_should_panic,
        list: matches.opt_present("list"),
        format,
        color,
        nocapture,
        show_output: matches.opt_present("show-output"),
        test_threads,
        logfile: matches.opt_str("logfile").map(PathBuf::from),
        report_time: report_time || ensure_time,
        ensure_time,
        shuffle_seed: shuffle_seed.or_else(|| shuffle.then(seed_from_the_clock)),
        force_run_in_process,
        fail_fast,
        benchmarks_only: bench && !matches.opt_present("test"),
    })
}

/// `-Z unstable-options`, which a stable toolchain's libtest takes only under RUSTC_BOOTSTRAP.
fn allow_unstable(matches: &getopts::Matches, env: Env) -> Result<bool, Refused> {
    match matches.opt_str("Z").as_deref() {
        None => Ok(false),
        Some(_) if env("RUSTC_BOOTSTRAP").is_none() => {
            refuse("the option `Z` is only accepted on the nightly compiler")
        }
        Some("unstable-options") => Ok(true),
        Some(_) => refuse("Unrecognized option to `Z`"),
    }
}

/// `--shuffle-seed`, or `RUST_TEST_SHUFFLE_SEED` where unstable options are on.
fn shuffle_seed(flag: Option<String>, unstable: bool, env: Env) -> Result<Option<u64>, Refused> {
    let written = match flag {
        Some(_) if !unstable => {
            return refuse("The \"shuffle-seed\" option is only accepted on the nightly compiler with -Z unstable-options")
        }
        Some(seed) => Some(seed),
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

fn test_threads(written: Option<String>) -> Result<Option<usize>, Refused> {
    match written.as_deref().map(str::parse::<usize>) {
        None => Ok(None),
        Some(Ok(0)) => refuse("argument for --test-threads must not be 0"),
        Some(Ok(threads)) => Ok(Some(threads)),
        Some(Err(error)) => Err(Refused(format!(
            "argument for --test-threads must be a number > 0 (error: {error})"
        ))),
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
            "fail-fast",
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
    fn getopts_refuses_in_libtests_words() {
        assert_eq!(refused(&["--bogus"], &[]), "Unrecognized option: 'bogus'");
        assert_eq!(
            refused(&["--list", "--list"], &[]),
            "Option 'list' given more than once"
        );
        assert_eq!(
            refused(&["--test-threads"], &[]),
            "Argument to option 'test-threads' missing"
        );
        assert_eq!(
            refused(&["--exact=yes"], &[]),
            "Option 'exact' does not take an argument"
        );
        assert_eq!(
            refused(&["--test-threads=0"], &[]),
            "argument for --test-threads must not be 0"
        );
        assert_eq!(
            refused(&["--test-threads", "x"], &[]),
            "argument for --test-threads must be a number > 0 (error: invalid digit found in string)"
        );
        // libtest checks `-Z` first, then the gated flags, then the values.
        assert_eq!(
            refused(&["--test-threads=0", "--shuffle", "-Zother"], BOOTSTRAP),
            "Unrecognized option to `Z`"
        );
        assert_eq!(
            refused(&["--test-threads=0", "--shuffle"], BOOTSTRAP),
            "The \"shuffle\" flag is only accepted on the nightly compiler with -Z unstable-options"
        );
    }

    #[test]
    fn bench_without_test_is_benchmarks_only() {
        assert!(parse(&["--bench"], &[]).unwrap().benchmarks_only);
        assert!(!parse(&["--bench", "--test"], &[]).unwrap().benchmarks_only);
        let fail_fast = parse(&["-Zunstable-options", "--fail-fast"], BOOTSTRAP).unwrap();
        assert!(fail_fast.fail_fast);
        assert_eq!(
            parse(&["--test-threads=3", "--", "--exact"], &[])
                .unwrap()
                .filters,
            ["--exact"]
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
