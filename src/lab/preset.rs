//! A scenario's preset meets the user's own flags.
//!
//! A scenario ([`super::scenarios`]) names a preset: flags as a user would type them, e.g.
//! `--client-window=131072`. The user's command line is parsed once, by clap, into
//! [`ArgMatches`]; [`apply`] then adds each preset flag the user did not give — clap's
//! [`ArgMatches::value_source`] says which flags came from the command line — to the
//! parsed [`LabArgs`]. A preset flag also yields when the user gave another flag of its
//! [`GROUPS`] entry: flags that only make sense together (a window and its scale shift),
//! so that `lab page-load --client-wscale off` does not trip over the preset's
//! `--client-window=131072`, a value the user never typed.
//!
//! Data enters as the user's matches and the preset's strings; it leaves as the updated
//! [`LabArgs`] and a [`Merged`] record of which preset flags took effect, for the report.

use super::{LabArgs, LabCli};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};

/// Flags (long names) that are one setting between them: a user's flag from a group
/// replaces the preset's flags of the whole group.
pub const GROUPS: &[&[&str]] = &[
    // smoltcp derives the shift from the buffer: the two must agree (TcpKnobs::validate).
    &["client-window", "client-wscale"],
    &["window", "wscale"],
    // Two ways of saying when the server closes.
    &["close", "keep-alive-timeout"],
    // Fetching paths versus loading the page (with its reload and favicon).
    &["get", "reload", "favicon"],
];

/// Which of the preset's flags took effect.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Preset flags in force, in the preset's order.
    pub applied: Vec<&'static str>,
    /// Preset flags replaced by the user's own (the same flag, or one of its group).
    pub yielded: Vec<&'static str>,
}

/// The long name of a preset entry: `--client-window=131072` → `client-window`.
fn long_of(entry: &str) -> &str {
    let flag = entry.strip_prefix("--").unwrap_or(entry);
    flag.split('=').next().unwrap_or(flag)
}

/// The clap id of the flag with long name `long`.
fn id_of(cmd: &clap::Command, long: &str) -> Option<String> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .map(|a| a.get_id().to_string())
}

/// True if the user typed the flag with long name `long`.
fn user_gave(cmd: &clap::Command, given: &ArgMatches, long: &str) -> bool {
    id_of(cmd, long).is_some_and(|id| given.value_source(&id) == Some(ValueSource::CommandLine))
}

/// The lab's flags with every default taken away, so that matches made from the preset
/// alone hold exactly the preset's flags (`update_from_arg_matches` then changes those
/// fields and no others). A switch (`--reload`) gets no implicit `false` either: it takes
/// no value and stands for `true` when present.
fn preset_command() -> clap::Command {
    LabCli::command().mut_args(|a| {
        let a = a.default_value(None);
        if matches!(a.get_action(), ArgAction::SetTrue) {
            a.action(ArgAction::Set)
                .num_args(0)
                .default_missing_value("true")
                .value_parser(clap::value_parser!(bool))
        } else {
            a
        }
    })
}

/// Adds to `args` (parsed from the user's command line, `given`) each flag of `preset`
/// that the user did not override. An error means a scenario's preset is broken (a
/// programming error the tests catch), said in one line.
pub fn apply(
    args: &mut LabArgs,
    given: &ArgMatches,
    preset: &'static [&'static str],
) -> Result<Merged, String> {
    let cmd = LabCli::command();
    let mut merged = Merged::default();
    for &entry in preset {
        let long = long_of(entry);
        if id_of(&cmd, long).is_none() {
            return Err(format!("the scenario's preset names no lab flag: {entry}"));
        }
        let group = GROUPS
            .iter()
            .find(|g| g.contains(&long))
            .map_or(&[][..], |g| &g[..]);
        if user_gave(&cmd, given, long) || group.iter().any(|g| user_gave(&cmd, given, g)) {
            merged.yielded.push(entry);
        } else {
            merged.applied.push(entry);
        }
    }
    let argv = std::iter::once("preset").chain(merged.applied.iter().copied());
    let matches = preset_command()
        .try_get_matches_from(argv)
        .map_err(|e| one_line(&e.to_string(), "the scenario's preset"))?;
    args.update_from_arg_matches(&matches)
        .map_err(|e| one_line(&e.to_string(), "the scenario's preset"))?;
    Ok(merged)
}

/// A clap message on one line, after `what`.
fn one_line(text: &str, what: &str) -> String {
    format!("{what}: {}", crate::cli::clap_message(text))
}

/// The user's own flags, parsed as `taplab lab` does it (for the tests).
#[cfg(test)]
pub fn parse_user(user: &[&str]) -> (LabArgs, ArgMatches) {
    let user: Vec<std::ffi::OsString> = user.iter().map(Into::into).collect();
    super::parse_user(&user).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::sim::Side;
    use crate::lab::scenarios::{SCENARIOS, find};

    fn merged(scenario: &str, user: &[&str]) -> (LabArgs, Merged) {
        let (mut args, m) = parse_user(user);
        let merged = apply(&mut args, &m, find(scenario).unwrap().preset).unwrap();
        (args, merged)
    }

    #[test]
    fn every_preset_applies_whole_without_user_flags() {
        for s in SCENARIOS {
            let (_, m) = merged(s.name, &[]);
            assert_eq!(m.applied, s.preset, "{}", s.name);
            assert!(m.yielded.is_empty(), "{}", s.name);
        }
        let (a, _) = merged("page-load", &[]);
        assert_eq!(a.client_window, Some(131072));
        assert_eq!(a.client_read_rate, Some(10_000_000));
        assert_eq!(a.knobs.close_wait, 50);
        // Flags the preset does not name keep their defaults.
        assert_eq!(a.seed, 1);
        assert!(a.favicon && !a.reload && a.gets.is_empty());
    }

    #[test]
    fn a_preset_window_yields_to_the_users_scale() {
        let (a, m) = merged("page-load", &["--client-wscale", "off"]);
        assert_eq!(a.client_window, None);
        assert_eq!(a.client_wscale, Some(crate::knobs::Wscale::Off));
        assert_eq!(m.yielded, ["--client-window=131072"]);
        assert!(m.applied.contains(&"--close-wait=50"));
        // And the run resolves: no complaint about a window the user never typed.
        super::super::resolve(a).unwrap();
        // The server's pair likewise.
        let (a, m) = merged("options", &["--window", "65535"]);
        assert_eq!(a.knobs.wscale, None);
        assert_eq!(m.yielded, ["--wscale=8"]);
    }

    #[test]
    fn the_users_flag_replaces_the_presets_also_for_repeatable_ones() {
        let (a, m) = merged("client-close", &["--close-wait", "0"]);
        assert_eq!(a.knobs.close_wait, 0);
        assert_eq!(m.yielded, ["--close-wait=50"]);
        let (a, _) = merged("retransmission", &["--drop", "server:30"]);
        assert_eq!(a.drops, [(Side::Server, 30)]);
        let (a, _) = merged("segmentation", &["--get", "/", "--get", "/style.css"]);
        assert_eq!(a.gets, ["/", "/style.css"]);
        // A page load asked for over a preset of paths: the paths yield.
        let (a, m) = merged("handshake", &["--reload"]);
        assert!(a.gets.is_empty() && a.reload);
        assert_eq!(m.yielded, ["--get=/"]);
        assert_eq!(m.applied, ["--isn=1000", "--client-isn=2162170318"]);
        super::super::resolve(a).unwrap();
    }

    #[test]
    fn a_broken_preset_is_an_error_not_a_panic() {
        let (mut a, m) = parse_user(&[]);
        let e = apply(&mut a, &m, &["--no-such-flag=1"]).unwrap_err();
        assert!(e.contains("--no-such-flag"), "{e}");
        let e = apply(&mut a, &m, &["--seed=x"]).unwrap_err();
        assert!(
            e.starts_with("the scenario's preset: ") && !e.contains('\n'),
            "{e}"
        );
    }
}
