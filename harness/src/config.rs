//! What the user asked for: libtest's command line plus the `ISOLATED_TEST_*` environment.
//!
//! Every mistake here becomes one line, never a panic: a flag refused in libtest's words, or
//! a [`ConfigError`].

use std::fmt;
use std::time::Duration;

use crate::cli::{Arguments, ColorChoice, Refused};
use crate::env::Env;
use crate::registry::{Setup, SuiteDefaults};
use crate::report::console::Palette;
use crate::report::{TestKind, TimeLimits};

/// A bad environment value, reported as one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ConfigError(pub(crate) String);

/// Why the run does not start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoRun {
    /// `--help`: this text is printed instead, as libtest prints it.
    Help(String),
    /// A flag libtest refuses too: libtest's words and exit code.
    Flag(Refused),
    /// A value of the environment isolated-test reads.
    Config(ConfigError),
}

impl From<ConfigError> for NoRun {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The run as configured: libtest's arguments and what isolated-test takes from the environment.
pub(crate) struct Invocation {
    pub(crate) args: Arguments,
    /// How many children may run at once (`--test-threads`).
    pub(crate) jobs: usize,
    /// `--report-time`: the limits each test's time is held to (`RUST_TEST_TIME_*`).
    pub(crate) time_limits: Option<TimeLimits>,
    /// Where libtest's words are coloured: the bytes `$TERM`'s terminfo entry gives.
    pub(crate) palette: Option<Palette>,
    /// isolated-test's own text is coloured: libtest's words are, and the terminal has colours.
    pub(crate) colour: bool,
    /// `TERM=dumb`: a terminal that takes no colour and no cursor movement (Emacs' shell, say).
    pub(crate) dumb_terminal: bool,
    pub(crate) defaults: RunDefaults,
    /// `ISOLATED_TEST_SELF_CHECK`: check the harness leaked no descriptor or process.
    pub(crate) self_check: bool,
    /// `ISOLATED_TEST_JUNIT` (or Bazel's `XML_OUTPUT_FILE`): where to write a JUnit XML report.
    pub(crate) junit: Option<std::path::PathBuf>,
    /// Bazel's (and GoogleTest's) sharding: this process runs one shard of the suite.
    pub(crate) shard: Option<Shard>,
    /// Bazel's `TEST_TMPDIR`: the tests' `TMPDIR`.
    pub(crate) test_tmpdir: Option<std::path::PathBuf>,
    /// `ISOLATED_TEST_REPORT=memory`: list the memory figures of every passing test.
    pub(crate) report_memory: bool,
    /// `ISOLATED_TEST_LEAK_SITES`: on unless `0`.
    pub(crate) leak_sites: bool,
    /// `ISOLATED_TEST_BACKEND`: how each test's child is started.
    pub(crate) backend: Backend,
}

/// How each test's child is started (`ISOLATED_TEST_BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A fork of the harness (or of a zygote that ran the test's setup): the default on Unix.
    #[cfg(unix)]
    Fork,
    /// The test binary executed again for the one test, as cargo-nextest and rusty-fork start
    /// a test: the one backend on Windows, which has no fork, and selectable on Unix.
    Exec,
}

/// A switch variable: `1` on, `0` or empty off, unset `None`; anything else one error line.
fn zero_or_one(env: Env, name: &str) -> Result<Option<bool>, ConfigError> {
    match env(name).as_deref().map(str::trim) {
        None => Ok(None),
        Some("" | "0") => Ok(Some(false)),
        Some("1") => Ok(Some(true)),
        Some(other) => Err(ConfigError(format!("{name}={other:?} is neither 1 nor 0"))),
    }
}

impl Backend {
    #[cfg(unix)]
    const DEFAULT: Self = Backend::Fork;
    #[cfg(windows)]
    const DEFAULT: Self = Backend::Exec;

    fn from_env(env: Env) -> Result<Self, ConfigError> {
        match env("ISOLATED_TEST_BACKEND").as_deref().map(str::trim) {
            None | Some("") => Ok(Backend::DEFAULT),
            #[cfg(unix)]
            Some("fork") => Ok(Backend::Fork),
            #[cfg(windows)]
            Some("fork") => Err(ConfigError(
                "ISOLATED_TEST_BACKEND=\"fork\": Windows has no fork; every test's child is the test binary started again there (exec)".to_owned(),
            )),
            Some("exec") => Ok(Backend::Exec),
            Some(other) => Err(ConfigError(format!(
                "ISOLATED_TEST_BACKEND={other:?} is not a way this harness starts a test's child (fork or exec)"
            ))),
        }
    }
}

/// Run-wide defaults that a test's own attribute overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunDefaults {
    /// `ISOLATED_TEST_TIMEOUT`: `None` when set to `0`.
    pub(crate) timeout: Option<Duration>,
    /// `ISOLATED_TEST_LEAK_LIMIT`, in bytes.
    pub(crate) leak_limit: u64,
    /// `ISOLATED_TEST_RETRIES`: how many times a failing test is run again.
    pub(crate) retries: u32,
    /// `ISOLATED_TEST_MEMORY_LIMIT`, in bytes: `None` when unset or `0`.
    pub(crate) memory_limit: Option<u64>,
    /// `ISOLATED_TEST_SLOW_AFTER`: when to say a test is still running; `None` for never.
    pub(crate) slow_after: Option<Duration>,
    /// `ISOLATED_TEST_STRICT_LEAKS`: all heap growth counts as a leak, still reachable or not.
    pub(crate) strict_leaks: bool,
    /// `main!(setup = ...)`: the setup of every test that names none of its own.
    pub(crate) setup: Option<Setup>,
    /// `ISOLATED_TEST_SETUP_TIMEOUT`: how long a setup may take; `None` when set to `0`.
    pub(crate) setup_timeout: Option<Duration>,
}

/// How long a setup may run before the tests that need it fail, unless
/// `ISOLATED_TEST_SETUP_TIMEOUT` says otherwise.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// One shard of a suite that a build system (Bazel, Buck2) spreads over several processes:
/// GoogleTest's protocol, where the shard `index` of `total` runs every `total`th selected test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) total: usize,
    /// `TEST_SHARD_STATUS_FILE`: touched, to tell the build system the suite shards.
    pub(crate) status_file: Option<std::path::PathBuf>,
}

impl Shard {
    /// `TEST_TOTAL_SHARDS` and `TEST_SHARD_INDEX`, where both are set.
    fn from_env(env: Env) -> Result<Option<Self>, ConfigError> {
        let (Some(total), Some(index)) = (env("TEST_TOTAL_SHARDS"), env("TEST_SHARD_INDEX")) else {
            return Ok(None);
        };
        let total = match total.trim().parse::<usize>() {
            Ok(total) if total > 0 => total,
            _ => {
                return Err(ConfigError(format!(
                    "TEST_TOTAL_SHARDS={total:?} is not a number of shards of at least 1"
                )))
            }
        };
        let index = match index.trim().parse::<usize>() {
            Ok(index) if index < total => index,
            _ => {
                return Err(ConfigError(format!(
                    "TEST_SHARD_INDEX={index:?} is not a shard from 0 to {} (TEST_TOTAL_SHARDS={total})",
                    total - 1
                )))
            }
        };
        Ok(Some(Self {
            index,
            total,
            status_file: env("TEST_SHARD_STATUS_FILE")
                .filter(|path| !path.is_empty())
                .map(Into::into),
        }))
    }
}

/// libtest's: "test NAME has been running for over 60 seconds".
const SLOW_AFTER: Duration = Duration::from_secs(60);

impl Invocation {
    /// Parses libtest's flags and the environment.
    pub(crate) fn parse(
        argv: Vec<std::ffi::OsString>,
        env: Env,
        suite: &SuiteDefaults,
        stdout_is_terminal: bool,
    ) -> Result<Self, NoRun> {
        let mut args = Arguments::parse(argv, env).map_err(NoRun::Flag)?;
        if let Some(help) = args.help.take() {
            return Err(NoRun::Help(help));
        }
        let jobs = test_threads(args.test_threads, env)?;
        let time_limits = match args.report_time {
            true => Some(
                TimeLimits::from_env(TestKind::of_root(suite.root_file), env)
                    .map_err(ConfigError)?,
            ),
            false => None,
        };
        let palette = decide_colour(&args, env, stdout_is_terminal)
            .then(|| Palette::from_env(env))
            .flatten();
        Ok(Self {
            args,
            jobs,
            time_limits,
            colour: palette.as_ref().is_some_and(Palette::has_colours),
            palette,
            dumb_terminal: is_dumb_terminal(env),
            defaults: RunDefaults::from_env(env, suite)?,
            self_check: zero_or_one(env, "ISOLATED_TEST_SELF_CHECK")?.unwrap_or(false),
            junit: env("ISOLATED_TEST_JUNIT")
                .or_else(|| env("XML_OUTPUT_FILE"))
                .filter(|path| !path.is_empty())
                .map(Into::into),
            shard: Shard::from_env(env)?,
            test_tmpdir: env("TEST_TMPDIR")
                .filter(|path| !path.is_empty())
                .map(Into::into),
            leak_sites: match env("ISOLATED_TEST_LEAK_SITES").as_deref().map(str::trim) {
                None | Some("" | "1") => true,
                Some("0") => false,
                Some(other) => {
                    return Err(NoRun::Config(ConfigError(format!(
                        "ISOLATED_TEST_LEAK_SITES={other:?} is neither 1 nor 0"
                    ))))
                }
            },
            backend: Backend::from_env(env)?,
            report_memory: match env("ISOLATED_TEST_REPORT").as_deref() {
                None | Some("") => false,
                Some("memory") => true,
                Some(other) => {
                    return Err(NoRun::Config(ConfigError(format!(
                        "ISOLATED_TEST_REPORT={other:?} is not a report this harness writes (try \"memory\")"
                    ))))
                }
            },
        })
    }
}

fn test_threads(flag: Option<usize>, env: Env) -> Result<usize, ConfigError> {
    let jobs = match (flag, env("RUST_TEST_THREADS")) {
        (Some(n), _) => n,
        (None, Some(value)) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(ConfigError(format!(
                    "RUST_TEST_THREADS must be a whole number of at least 1 (got {value:?})"
                )))
            }
        },
        (None, None) => std::thread::available_parallelism().map_or(1, Into::into),
    };
    Ok(jobs)
}

fn is_dumb_terminal(env: Env) -> bool {
    env("TERM").as_deref() == Some("dumb")
}

/// `--color` wins; under `auto`, `NO_COLOR` or `TERM=dumb` turns colour off, `CLICOLOR_FORCE`
/// on, and otherwise libtest's rule decides: a terminal on stdout, and output captured.
fn decide_colour(args: &Arguments, env: Env, stdout_is_terminal: bool) -> bool {
    let set = |name: &str| env(name).is_some_and(|value| !value.is_empty());
    match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") || is_dumb_terminal(env) => false,
        ColorChoice::Auto
            if set("CLICOLOR_FORCE") && env("CLICOLOR_FORCE").as_deref() != Some("0") =>
        {
            true
        }
        ColorChoice::Auto => stdout_is_terminal && !args.nocapture,
    }
}

impl RunDefaults {
    /// The environment's values, else the suite's (`main!(...)`), else the harness's own.
    fn from_env(env: Env, suite: &SuiteDefaults) -> Result<Self, ConfigError> {
        let timeout = match env("ISOLATED_TEST_TIMEOUT") {
            // As libtest, no test is timed out unless asked: a test that hangs gets the notice
            // at `slow_after`, with where it is.
            None => suite.timeout,
            Some(value) => parse_timeout(&value).map_err(|why| {
                ConfigError(format!("ISOLATED_TEST_TIMEOUT={value:?} is not a duration: {why} (try \"30s\", \"2m\", or \"0\" for none)"))
            })?,
        };
        let leak_limit = match env("ISOLATED_TEST_LEAK_LIMIT") {
            None => suite.leak_limit.unwrap_or(0),
            Some(value) => value.trim().parse::<u64>().map_err(|_| {
                ConfigError(format!(
                    "ISOLATED_TEST_LEAK_LIMIT={value:?} is not a number of bytes (try \"0\" or \"4096\")"
                ))
            })?,
        };
        let retries = match env("ISOLATED_TEST_RETRIES") {
            None => suite.retries.unwrap_or(0),
            Some(value) => value.trim().parse::<u32>().map_err(|_| {
                ConfigError(format!(
                    "ISOLATED_TEST_RETRIES={value:?} is not a number of retries (try \"0\" or \"2\")"
                ))
            })?,
        };
        let memory_limit = match env("ISOLATED_TEST_MEMORY_LIMIT") {
            None => suite.memory_limit,
            Some(value) => match crate::size::parse(&value) {
                Ok(0) => None,
                Ok(bytes) => Some(bytes),
                Err(why) => {
                    return Err(ConfigError(format!(
                        "ISOLATED_TEST_MEMORY_LIMIT={value:?} is not a size: {why} (try \"64MiB\", \"1GiB\", or \"0\" for none)"
                    )))
                }
            },
        };
        let slow_after = match env("ISOLATED_TEST_SLOW_AFTER") {
            None => Some(SLOW_AFTER),
            Some(value) => parse_timeout(&value).map_err(|why| {
                ConfigError(format!("ISOLATED_TEST_SLOW_AFTER={value:?} is not a duration: {why} (try \"60s\", \"2m\", or \"0\" for never)"))
            })?,
        };
        let setup_timeout = match env("ISOLATED_TEST_SETUP_TIMEOUT") {
            None => Some(SETUP_TIMEOUT),
            Some(value) => parse_timeout(&value).map_err(|why| {
                ConfigError(format!("ISOLATED_TEST_SETUP_TIMEOUT={value:?} is not a duration: {why} (try \"2m\", or \"0\" for none)"))
            })?,
        };
        let strict_leaks =
            zero_or_one(env, "ISOLATED_TEST_STRICT_LEAKS")?.unwrap_or(suite.strict_leaks);
        Ok(Self {
            timeout,
            leak_limit,
            retries,
            memory_limit,
            slow_after,
            strict_leaks,
            setup: suite.setup,
            setup_timeout,
        })
    }
}

/// A humantime duration; `0` means no timeout.
fn parse_timeout(value: &str) -> Result<Option<Duration>, String> {
    let value = value.trim();
    if value == "0" {
        return Ok(None);
    }
    match humantime::parse_duration(value) {
        Ok(duration) if duration.is_zero() => Ok(None),
        Ok(duration) => Ok(Some(duration)),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    fn parse(argv: &[&str], env: &[(&str, &str)]) -> Result<Invocation, NoRun> {
        parse_with(argv, env, &SuiteDefaults::default())
    }

    fn parse_with(
        argv: &[&str],
        env: &[(&str, &str)],
        suite: &SuiteDefaults,
    ) -> Result<Invocation, NoRun> {
        let argv = std::iter::once("suite").chain(argv.iter().copied());
        Invocation::parse(argv.map(Into::into).collect(), &env_of(env), suite, false)
    }

    #[test]
    fn the_suites_defaults_stand_between_the_environment_and_the_harnesss() {
        let suite = SuiteDefaults {
            timeout: Some(Duration::from_secs(5)),
            leak_limit: Some(1024),
            memory_limit: Some(1 << 20),
            retries: Some(2),
            strict_leaks: true,
            setup: None,
            root_file: "tests/suite.rs",
        };
        let defaults = parse_with(&[], &[], &suite).unwrap().defaults;
        assert_eq!(defaults.timeout, Some(Duration::from_secs(5)));
        assert_eq!(defaults.leak_limit, 1024);
        assert_eq!(defaults.memory_limit, Some(1 << 20));
        assert_eq!(defaults.retries, 2);
        assert!(defaults.strict_leaks);
        let env = [
            ("ISOLATED_TEST_TIMEOUT", "0"),
            ("ISOLATED_TEST_LEAK_LIMIT", "0"),
            ("ISOLATED_TEST_MEMORY_LIMIT", "0"),
            ("ISOLATED_TEST_RETRIES", "0"),
            ("ISOLATED_TEST_STRICT_LEAKS", "0"),
        ];
        let defaults = parse_with(&[], &env, &suite).unwrap().defaults;
        assert_eq!(defaults.timeout, None);
        assert_eq!(defaults.leak_limit, 0);
        assert_eq!(defaults.memory_limit, None);
        assert_eq!(defaults.retries, 0);
        assert!(!defaults.strict_leaks);
    }

    #[test]
    #[cfg(unix)]
    fn the_backend_is_fork_unless_exec_is_asked_and_a_third_is_one_error() {
        assert_eq!(parse(&[], &[]).unwrap().backend, Backend::Fork);
        let backend =
            |value| parse(&[], &[("ISOLATED_TEST_BACKEND", value)]).map(|run| run.backend);
        assert_eq!(backend("fork").unwrap(), Backend::Fork);
        assert_eq!(backend(" exec ").unwrap(), Backend::Exec);
        let Err(NoRun::Config(error)) = backend("spawn") else {
            panic!("ISOLATED_TEST_BACKEND=spawn was taken");
        };
        assert_eq!(
            error.to_string(),
            "ISOLATED_TEST_BACKEND=\"spawn\" is not a way this harness starts a test's child (fork or exec)"
        );
    }

    #[test]
    fn test_threads_is_how_many_children_run_at_once() {
        let run = parse(&["--test-threads=8"], &[]).unwrap();
        assert_eq!(run.jobs, 8);
    }

    #[test]
    fn rust_test_threads_is_honoured_below_the_flag() {
        assert_eq!(parse(&[], &[("RUST_TEST_THREADS", "3")]).unwrap().jobs, 3);
        let both = parse(&["--test-threads", "2"], &[("RUST_TEST_THREADS", "3")]);
        assert_eq!(both.unwrap().jobs, 2);
    }

    /// The message of a mistake in the environment.
    fn config_error(argv: &[&str], env: &[(&str, &str)]) -> String {
        match parse(argv, env) {
            Err(NoRun::Config(error)) => error.0,
            Err(NoRun::Flag(refused)) => panic!("a flag was refused: {refused:?}"),
            Err(NoRun::Help(_)) => panic!("help was asked for"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn help_is_answered_before_the_environment_is_read() {
        match parse(&["--help"], &[("RUST_TEST_THREADS", "zero")]) {
            Err(NoRun::Help(text)) => assert!(text.starts_with("Usage: "), "{text}"),
            other => panic!("not help: {:?}", other.err()),
        }
    }

    #[test]
    fn zero_threads_is_libtests_mistake_and_a_bad_rust_test_threads_ours() {
        let refused = Refused("argument for --test-threads must not be 0".to_owned());
        assert_eq!(
            parse(&["--test-threads=0"], &[]).err(),
            Some(NoRun::Flag(refused))
        );
        assert_eq!(
            config_error(&[], &[("RUST_TEST_THREADS", "zero")]),
            "RUST_TEST_THREADS must be a whole number of at least 1 (got \"zero\")"
        );
    }

    #[test]
    fn unknown_flags_are_refused_in_libtests_words() {
        let refused = Refused("Unrecognized option: 'frobnicate'".to_owned());
        assert_eq!(
            parse(&["--frobnicate"], &[]).err(),
            Some(NoRun::Flag(refused))
        );
    }

    #[test]
    fn bazel_shards_are_checked() {
        let env = [("TEST_TOTAL_SHARDS", "3"), ("TEST_SHARD_INDEX", "2")];
        let shard = parse(&[], &env).unwrap().shard.unwrap();
        assert_eq!((shard.index, shard.total), (2, 3));
        assert!(parse(&[], &[("TEST_TOTAL_SHARDS", "3")])
            .unwrap()
            .shard
            .is_none());
        let error = config_error(
            &[],
            &[("TEST_TOTAL_SHARDS", "3"), ("TEST_SHARD_INDEX", "3")],
        );
        assert_eq!(
            error,
            "TEST_SHARD_INDEX=\"3\" is not a shard from 0 to 2 (TEST_TOTAL_SHARDS=3)"
        );
        let junit = parse(&[], &[("XML_OUTPUT_FILE", "out.xml")]).unwrap().junit;
        assert_eq!(junit, Some("out.xml".into()));
    }

    #[test]
    fn env_defaults() {
        let run = parse(&[], &[]).unwrap();
        assert_eq!(run.defaults.timeout, None);
        assert_eq!(run.defaults.leak_limit, 0);
        let run = parse(
            &[],
            &[
                ("ISOLATED_TEST_TIMEOUT", "1m 30s"),
                ("ISOLATED_TEST_LEAK_LIMIT", "4096"),
            ],
        )
        .unwrap();
        assert_eq!(run.defaults.timeout, Some(Duration::from_secs(90)));
        assert_eq!(run.defaults.leak_limit, 4096);
        let run = parse(&[], &[("ISOLATED_TEST_TIMEOUT", "0")]).unwrap();
        assert_eq!(run.defaults.timeout, None);
    }

    #[test]
    fn bad_env_values_say_what_to_write() {
        let error = config_error(&[], &[("ISOLATED_TEST_TIMEOUT", "soon")]);
        assert!(error.starts_with("ISOLATED_TEST_TIMEOUT=\"soon\" is not a duration"));
        let error = config_error(&[], &[("ISOLATED_TEST_LEAK_LIMIT", "-1")]);
        assert_eq!(
            error,
            "ISOLATED_TEST_LEAK_LIMIT=\"-1\" is not a number of bytes (try \"0\" or \"4096\")"
        );
    }

    #[test]
    fn colour_follows_flag_then_env_then_terminal() {
        let none: &[(&str, &str)] = &[];
        let decide = |flag, env: &[(&str, &str)], tty| {
            let args = Arguments {
                color: flag,
                ..Arguments::default()
            };
            decide_colour(&args, &env_of(env), tty)
        };
        assert!(decide(ColorChoice::Always, &[("NO_COLOR", "1")], false));
        assert!(!decide(
            ColorChoice::Never,
            &[("CLICOLOR_FORCE", "1")],
            true
        ));
        let auto = ColorChoice::Auto;
        assert!(!decide(auto, &[("NO_COLOR", "1")], true));
        assert!(!decide(auto, &[("TERM", "dumb")], true));
        assert!(decide(auto, &[("TERM", "xterm-256color")], true));
        assert!(decide(ColorChoice::Always, &[("TERM", "dumb")], false));
        assert!(decide(auto, &[("CLICOLOR_FORCE", "1")], false));
        assert!(!decide(auto, &[("CLICOLOR_FORCE", "0")], false));
        assert!(decide(auto, none, true));
        assert!(!decide(auto, none, false));
        // libtest's `auto` colours nothing under `--nocapture`.
        let nocapture = Arguments {
            nocapture: true,
            ..Arguments::default()
        };
        assert!(!decide_colour(&nocapture, &env_of(none), true));
    }
}
