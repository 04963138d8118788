//! `taplab lab --script FILE`: a scripted peer, packetdrill-style, that drives our server stack
//! segment by segment and checks every segment the stack sends back.
//!
//! What it is for: a student (or a test) writes down the exchange they expect — the
//! handshake, a GET, who closes first — as lines such as
//!
//! ```text
//! 0.000 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,wscale 7>
//! +0    > S. 0:0(0) ack 1 <mss 1460,wscale 1,sackOK,eol>
//! +0    < . 1:1(0) ack 1 win 502
//! ```
//!
//! and taplab runs exactly the stack `taplab serve` runs (knobs layer, [`crate::stack`],
//! [`crate::server`], the site in `www/`) against it, in memory and in virtual time: no
//! tap, no root, no threads, no sleeping, and the same output on every run.
//!
//! Data flow: the file's text → [`parse`] (the syntax, documented there, errors with line
//! and column) → [`run`] (the engine: virtual clock, in-memory [`device`], relative
//! sequence numbers) which builds the peer's frames with [`wire`] and compares our
//! stack's frames with [`check`] → a report on stdout, one `ok` per line with the actual
//! segment, or the failing line with the actual segment and what differs; exit status 1
//! on failure. [`run_cli`] is the thin glue the CLI calls.
//!
//! The peer speaks IPv4 (192.168.69.100 to our 192.168.69.1) or, with `--ipv6`, IPv6
//! (fdaa::100 to our fdaa::1), as packetdrill's `--ip_version` chooses: the lines are the
//! same, only the frames differ (and what depends on them: our MSS is 20 bytes smaller
//! over IPv6).

pub mod check;
pub mod device;
pub mod parse;
pub mod run;
pub mod wire;

use crate::knobs::{KnobArgs, parse_secs};
use std::io::Read;
use std::path::PathBuf;

pub use parse::{ParseError, Script, parse_script};
pub use run::{Outcome, RunOptions};
pub use wire::IpVersion;

/// What a script run needs (from `taplab lab --script`'s flags).
#[derive(clap::Args, Debug, Clone)]
pub struct ScriptArgs {
    /// The script to run (`-`: standard input)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How far (ms) from its time a `>` line's segment may be sent
    #[arg(long, default_value_t = 10, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub tolerance: u64,
    /// Site root directory
    #[arg(long, default_value = "www", value_name = "DIR")]
    pub www: PathBuf,
    /// Answer 408 when a request's headers are not complete within SECS
    #[arg(long, default_value = "10", value_parser = parse_secs, value_name = "SECS")]
    pub request_timeout: std::time::Duration,
    #[command(flatten)]
    pub limits: crate::stack::admission::StackArgs,
    /// Write every frame of the run (ARP included), virtual timestamps, to this pcap file
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// The peer speaks IPv6: fdaa::100 to our fdaa::1 (default: 192.168.69.100 to 192.168.69.1)
    #[arg(long)]
    pub ipv6: bool,
    #[command(flatten)]
    pub knobs: KnobArgs,
}

/// Renders a parse error with the offending line and a caret under the column.
pub fn show_parse_error(file: &str, text: &str, e: &ParseError) -> String {
    let src = text.lines().nth(e.line.saturating_sub(1)).unwrap_or("");
    // The caret counts characters, as the column does; tabs stay tabs so it lines up.
    let pad: String = src
        .chars()
        .take(e.col.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{file}:{e}\n    {src}\n    {pad}^")
}

/// `taplab lab --script`: parse, run, report on stdout. Err: a one-line reason (the details are
/// already on stdout for a failing script).
pub fn run_cli(args: ScriptArgs) -> Result<(), String> {
    let name = args.file.display().to_string();
    let mut bytes = Vec::new();
    let read = if name == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(&args.file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|e| format!("cannot read the script {name}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "the script {name} is not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let script = parse_script(&text).map_err(|e| show_parse_error(&name, &text, &e))?;
    let knobs = args.knobs.into_knobs()?;
    let ip = IpVersion::from_ipv6_flag(args.ipv6);
    // A failing script whose `// flags:` differ from the knobs in force gets a hint.
    let in_force = (knobs.clone(), ip);
    let wanted = script
        .flags
        .as_deref()
        .filter(|f| !f.is_empty() && wanted_by(f).as_ref() != Some(&in_force));
    let hint = wanted
        .map(|f| format!(" (its `// flags:` line asks for: taplab lab --script {name} {f})"))
        .unwrap_or_default();
    let opts = RunOptions {
        www: args.www,
        knobs,
        tolerance: smoltcp::time::Duration::from_millis(args.tolerance),
        request_timeout: args.request_timeout,
        limits: args.limits.limits(),
        guard: !args.limits.no_guard,
        pcap: args.pcap,
        ip,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run::run(&script, &opts, &mut out)? {
        Outcome::Passed { .. } => Ok(()),
        Outcome::Failed { line, passed } => Err(format!(
            "{name}:{line}: the script failed after {passed} line(s) passed{hint}"
        )),
    }
}

/// The knobs and IP version a `// flags:` line stands for (None if they do not parse).
fn wanted_by(flags: &str) -> Option<(crate::knobs::TcpKnobs, IpVersion)> {
    use clap::Parser;
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        args: ScriptArgs,
    }
    let argv = ["taplab-script", "FILE"]
        .into_iter()
        .chain(flags.split_whitespace());
    let args = Flags::try_parse_from(argv).ok()?.args;
    let ip = IpVersion::from_ipv6_flag(args.ipv6);
    Some((args.knobs.into_knobs().ok()?, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_lines_become_knobs() {
        let (k, ip) = wanted_by("--close server-first --isn 1000 --tolerance 5").unwrap();
        assert_eq!(k.close, crate::knobs::ClosePolicy::ServerFirst);
        assert_eq!(k.isn, crate::knobs::IsnMode::Fixed(1000));
        assert_eq!(ip, IpVersion::V4);
        let default = crate::knobs::TcpKnobs::default();
        assert_eq!(wanted_by(""), Some((default.clone(), IpVersion::V4)));
        assert_eq!(wanted_by("--ipv6"), Some((default, IpVersion::V6)));
        assert_eq!(wanted_by("--bogus"), None);
        assert_eq!(wanted_by("--mss 99999"), None);
    }

    #[test]
    fn parse_errors_show_the_line_and_a_caret() {
        let text = "// x\n0 < S 0:0(0) <mss>\n";
        let e = parse_script(text).unwrap_err();
        assert_eq!(
            show_parse_error("f.pkt", text, &e),
            "f.pkt:2:18: expected the MSS (0..65535), found `>`\n    0 < S 0:0(0) <mss>\n                     ^"
        );
    }
}
