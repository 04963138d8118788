//! `taplab lab … --graph KIND=OUT.svg`: the TCP stream graphs of `taplab trace`, drawn
//! from the run's own frames (those at the server's end of the wire, as the pcap holds
//! them).
//!
//! The frames of a finished run go through a fresh [`Analyzer`] into a graph
//! [`Recorder`]; the connection drawn is the one that carried the most data, in the
//! direction that carried more (the server's responses, in every scenario that has
//! any). The picture names the command that made it, output paths left out, so the same
//! scenario, flags and seed give the same bytes.

use super::world::Outcome;
use crate::trace::graph::{self, GraphRequest, Recorder};
use crate::trace::{Analyzer, LinkType, ListingOptions};
use std::ffi::OsString;

/// Flags that name output files: left out of the command a picture names.
const OUTPUT_FLAGS: [&str; 3] = ["--graph", "--pcap", "--svg"];

/// "taplab lab loss --seed 3 --cc reno": the scenario and the user's own flags.
fn command_text(scenario: &str, user: &[OsString]) -> String {
    let mut words = vec!["taplab lab".to_string(), scenario.to_string()];
    let mut skip_value = false;
    for a in user.iter().map(|a| a.to_string_lossy()) {
        if skip_value {
            skip_value = false;
            continue;
        }
        if OUTPUT_FLAGS.contains(&a.as_ref()) {
            skip_value = true;
            continue;
        }
        if OUTPUT_FLAGS.iter().any(|f| a.starts_with(&format!("{f}="))) || a == scenario {
            continue;
        }
        words.push(a.into_owned());
    }
    words.join(" ")
}

/// Writes the graphs asked for, from the run's frames.
pub fn write(
    requests: &[GraphRequest],
    scenario: &str,
    user: &[OsString],
    outcome: &Outcome,
) -> Result<(), String> {
    if requests.is_empty() {
        return Ok(());
    }
    let mut analyzer = Analyzer::new(ListingOptions::default());
    analyzer.set_http(false);
    let mut rec = Recorder::new(None);
    for f in &outcome.frames {
        rec.push(&analyzer.push(f.time.total_micros(), LinkType::Ethernet, &f.frame));
    }
    graph::write_all(&rec, requests, None, None, &command_text(scenario, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_leaves_out_output_paths() {
        let user: Vec<OsString> = [
            "page-load",
            "--seed",
            "3",
            "--graph",
            "tcptrace=/tmp/a.svg",
            "--pcap=/tmp/x.pcap",
            "--cc",
            "reno",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            command_text("page-load", &user),
            "taplab lab page-load --seed 3 --cc reno"
        );
    }
}
