//! Command-line interface: clap definitions and the translation of flags into the
//! library's option structs. Kept thin: parsing and validation here, work elsewhere.
//!
//! Every error reaches the user as one line, `taplab: error: …`, saying what to do: ours
//! with exit code 1, clap's (a flag's syntax) with clap's exit code 2.

use crate::knobs::{KnobArgs, parse_secs};
use crate::serve::{self, ServeOptions};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use smoltcp::wire::{Ipv4Cidr, Ipv6Cidr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "taplab",
    version,
    about = "A user-space TCP/IP stack (smoltcp) on a TAP device serving a lab web page",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve www/ over HTTP from smoltcp on a tap device (default http://192.168.69.1/)
    Serve(ServeArgs),
    /// Run a deterministic experiment in one process: the serve stack and a browser-like
    /// client over a virtual wire (`taplab lab --list` names them; `taplab lab sweep
    /// --help`: one scenario over many seeds and flag values)
    #[command(args_override_self = true)]
    Lab(Box<crate::lab::LabArgs>),
    /// List a capture (pcap/pcapng) as Wireshark does, plus each TCP stream's inferred states
    Trace(TraceArgs),
}

#[derive(clap::Args, Debug)]
pub struct TraceArgs {
    /// Capture file: pcap or pcapng (tcpdump -w, Wireshark, taplab serve --pcap); `-` reads standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Raw sequence and acknowledgment numbers instead of relative ones
    #[arg(long)]
    pub absolute: bool,
    /// Only this TCP stream (tshark's tcp.stream numbering)
    #[arg(long, value_name = "N")]
    pub stream: Option<usize>,
    /// Only the rows that name an HTTP request or response
    #[arg(long)]
    pub http: bool,
    /// Leave out the state timelines
    #[arg(long)]
    pub no_states: bool,
    /// Do not decode HTTP: every TCP row shows its TCP summary (as tshark -d tcp.port==80,data)
    #[arg(long, conflicts_with = "http")]
    pub no_http: bool,
    /// Also draw a ladder picture (SVG) of the TCP streams in scope (see --stream)
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Also draw a TCP stream graph of one stream (--stream N, else the one that carried the
    /// most data): KIND is tcptrace, stevens, throughput, rtt or window; OUT.csv writes its
    /// points instead of a picture (repeatable)
    #[arg(long = "graph", value_name = "KIND=OUT.svg", value_parser = crate::trace::graph::GraphRequest::parse, action = clap::ArgAction::Append)]
    pub graphs: Vec<crate::trace::graph::GraphRequest>,
    /// Whose data the graphs show: the client's (the end that sent the stream's first
    /// segment) or the server's [default: the direction that carried more]
    #[arg(long, value_parser = crate::trace::graph::parse_direction, value_name = "client|server", requires = "graphs")]
    pub direction: Option<crate::trace::graph::Direction>,
    /// Add [Bytes in flight: N] to each data segment's Info and --svg arrow (tcp.analysis.bytes_in_flight)
    #[arg(long)]
    pub in_flight: bool,
}

impl TraceArgs {
    pub fn into_options(self) -> crate::trace::TraceOptions {
        crate::trace::TraceOptions {
            file: self.file,
            listing: crate::trace::ListingOptions {
                absolute: self.absolute,
            },
            stream: self.stream,
            http_only: self.http,
            states: !self.no_states,
            decode_http: !self.no_http,
            svg: self.svg,
            extras: crate::trace::Extras {
                in_flight: self.in_flight,
            },
            graphs: self.graphs,
            direction: self.direction,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Tap device to create, or attach to if it exists (e.g. made by scripts/tap-up.sh); at most 15 bytes
    #[arg(long, default_value = "tap0", value_name = "NAME")]
    pub tap: String,
    /// Our (smoltcp's) IPv4 address and prefix
    #[arg(long, default_value = "192.168.69.1/24", value_parser = parse_v4, value_name = "CIDR")]
    pub addr: Ipv4Cidr,
    /// The host (kernel) side's IPv4 address, set on the tap when taplab creates it
    #[arg(long, default_value = "192.168.69.100/24", value_parser = parse_v4, value_name = "CIDR")]
    pub host_addr: Ipv4Cidr,
    /// Our IPv6 address (a link-local address from the MAC is added as well)
    #[arg(long, default_value = "fdaa::1/64", value_parser = parse_v6, value_name = "CIDR")]
    pub addr6: Ipv6Cidr,
    /// The host side's IPv6 address
    #[arg(long, default_value = "fdaa::100/64", value_parser = parse_v6, value_name = "CIDR")]
    pub host_addr6: Ipv6Cidr,
    /// TCP port to serve
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Site root directory
    #[arg(long, default_value = "www", value_name = "DIR")]
    pub www: PathBuf,
    #[command(flatten)]
    pub limits: crate::stack::admission::StackArgs,
    /// Answer 408 when a request's headers are not complete within SECS
    #[arg(long, default_value = "10", value_parser = parse_secs, value_name = "SECS")]
    pub request_timeout: Duration,
    /// Write every frame, both directions, to this pcap file (what tcpdump on the tap sees)
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Drop this fraction of frames in each direction, e.g. 0.1 (smoltcp's FaultInjector: whole percents only)
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub loss: f64,
    /// Seed for --loss (random when not given)
    #[arg(long, value_name = "N")]
    pub seed: Option<u32>,
    /// Print every frame's listing line and both ends' TCP state changes as they happen
    #[arg(long)]
    pub trace: bool,
    /// Hold each TCP segment of --port until a key (Enter, space or n: next; c: run freely; q: quit); our timers are frozen meanwhile
    #[arg(long)]
    pub step: bool,
    /// As --step, but every frame waits: ARP, IPv6 neighbour discovery, … too
    #[arg(long)]
    pub step_all: bool,
    /// Checksum and segmentation offload on the tap (virtio-net header): we send TCP segments up to 64 KiB that the kernel takes as a NIC with TSO would; tcpdump and --pcap show them whole
    #[arg(long)]
    pub offload: bool,
    #[command(flatten)]
    pub knobs: KnobArgs,
}

fn parse_v4(s: &str) -> Result<Ipv4Cidr, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not an IPv4 address with prefix, e.g. 192.168.69.1/24"))
}

fn parse_v6(s: &str) -> Result<Ipv6Cidr, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not an IPv6 address with prefix, e.g. fdaa::1/64"))
}

impl ServeArgs {
    /// Checks what clap cannot (the two ends must share a subnet) and builds the options.
    pub fn into_options(self) -> Result<ServeOptions, String> {
        if self.addr.network() != self.host_addr.network() {
            return Err(format!(
                "--addr {} and --host-addr {} are not in the same subnet",
                self.addr, self.host_addr
            ));
        }
        if self.addr.address() == self.host_addr.address() {
            return Err("--addr and --host-addr must differ".into());
        }
        if !self.addr6.contains_addr(&self.host_addr6.address())
            || self.addr6.address() == self.host_addr6.address()
        {
            return Err(format!(
                "--addr6 {} and --host-addr6 {} must be different addresses in the same subnet",
                self.addr6, self.host_addr6
            ));
        }
        crate::device::tap::check_name(&self.tap).map_err(|e| e.to_string())?;
        if self.request_timeout.is_zero() {
            return Err(
                "--request-timeout 0 would answer 408 before any request could arrive: give seconds, e.g. 10"
                    .into(),
            );
        }
        let loss = loss_percent(self.loss)?;
        let knobs = self.knobs.into_knobs()?;
        if loss > 0 && knobs.mtu > 1500 {
            return Err("--loss works on frames up to 1536 bytes (smoltcp's FaultInjector): use --mtu 1500 or less".into());
        }
        if loss > 0 && self.offload {
            return Err("--loss works on frames up to 1536 bytes (smoltcp's FaultInjector) and --offload sends up to 64 KiB: leave out one of them".into());
        }
        Ok(ServeOptions {
            tap: self.tap,
            addr4: self.addr,
            host4: self.host_addr,
            addr6: self.addr6,
            host6: self.host_addr6,
            port: self.port,
            www: self.www,
            limits: self.limits.limits(),
            guard: !self.limits.no_guard,
            request_timeout: self.request_timeout,
            knobs,
            pcap: self.pcap,
            loss,
            seed: self.seed,
            trace: self.trace,
            step: if self.step_all {
                Some(crate::step::Holds::Everything)
            } else if self.step {
                Some(crate::step::Holds::TcpPort(self.port))
            } else {
                None
            },
            offload: self.offload,
        })
    }
}

/// `--loss P` as the whole percent smoltcp's FaultInjector works in. A fraction between
/// two percents is refused rather than rounded: the user would measure another loss than
/// the one asked for.
fn loss_percent(p: f64) -> Result<u8, String> {
    if !(0.0..1.0).contains(&p) {
        return Err(format!(
            "--loss {p} is not a fraction between 0 and 1, e.g. 0.1"
        ));
    }
    let percent = (p * 100.0).round();
    if (p * 100.0 - percent).abs() > 1e-6 {
        let (lo, hi) = ((p * 100.0).floor(), (p * 100.0).ceil());
        return Err(format!(
            "--loss {p} is not a whole percent, and smoltcp's FaultInjector drops in steps of \
             1 %: use {} or {}",
            lo / 100.0,
            hi / 100.0
        ));
    }
    Ok(percent as u8)
}

/// clap's message on one line: its first paragraph (a list of missing flags included),
/// without the `error: ` prefix and the usage and tips after it.
pub fn clap_message(text: &str) -> String {
    let para: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = para.join(" ");
    let line = line.trim_start_matches("error: ");
    if line.is_empty() {
        "bad arguments".into()
    } else {
        line.to_string()
    }
}

/// clap's message on one line, and where the flags are explained.
fn clap_one_line(e: &clap::Error) -> String {
    // The subcommand, to point at its own --help (a look at argv for the message only).
    let sub = std::env::args()
        .nth(1)
        .filter(|a| ["serve", "lab", "trace"].contains(&a.as_str()))
        .map_or(String::new(), |a| format!(" {a}"));
    format!("{} (see taplab{sub} --help)", clap_message(&e.to_string()))
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `taplab lab sweep` has flags of its own besides the lab's: it reads its command
    // line itself. Everything else is parsed once; the lab also needs the matches
    // themselves (which flags the user typed, against its scenarios' presets).
    let parsed = if crate::lab::sweep::invoked(&argv) {
        None
    } else {
        let matches = match Cli::command().try_get_matches_from(&argv) {
            Ok(m) => m,
            // --help and --version are not errors: clap prints them and exits 0.
            Err(e) if !e.use_stderr() => e.exit(),
            Err(e) => {
                eprintln!("taplab: error: {}", clap_one_line(&e));
                return 2;
            }
        };
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        Some((cli, matches))
    };
    // A script's report is its output; the per-connection info lines (with wall-clock
    // stamps) would only interleave with it, so scripts log warnings only by default.
    // The lab likewise, and its output must not depend on the wall clock at all: its log
    // lines carry no time.
    let lab = parsed
        .as_ref()
        .is_none_or(|(c, _)| matches!(c.command, Command::Lab(_)));
    let default_log = if lab { "taplab=warn" } else { "taplab=info" };
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_log));
    if lab {
        logger.format_timestamp(None);
    } else {
        logger.format_timestamp_millis();
    }
    logger.init();
    let Some((cli, matches)) = parsed else {
        return finish(crate::lab::sweep::main(argv));
    };
    let result = match cli.command {
        Command::Serve(args) => args.into_options().and_then(serve::run).map(|()| 0),
        Command::Trace(args) => crate::trace::run(&args.into_options()).map(|()| 0),
        Command::Lab(args) => match matches.subcommand_matches("lab") {
            Some(given) => {
                // The words after `lab`, for the pictures' captions.
                let at = argv
                    .iter()
                    .skip(1)
                    .position(|a| a == "lab")
                    .map_or(argv.len(), |p| p + 2);
                crate::lab::main(*args, given, &argv[at..])
            }
            None => Err("internal error: the lab's flags went missing".into()),
        },
    };
    finish(result)
}

/// The exit code of a command's result, its error (if any) printed on one line.
fn finish(result: Result<i32, String>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("taplab: error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeOptions, String> {
        let mut v = vec!["taplab", "serve"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| e.to_string())?;
        let Command::Serve(a) = cli.command else {
            return Err("not serve".into());
        };
        a.into_options()
    }

    #[test]
    fn defaults_match_the_cli_contract() {
        let o = serve(&[]).unwrap();
        assert_eq!(o.tap, "tap0");
        assert_eq!(o.addr4.to_string(), "192.168.69.1/24");
        assert_eq!(o.host4.to_string(), "192.168.69.100/24");
        assert_eq!(o.port, 80);
        assert_eq!(o.www, PathBuf::from("www"));
        assert_eq!(o.limits.max_conns, 1024);
        assert_eq!(o.limits.backlog, 256);
        assert_eq!(o.knobs, crate::knobs::TcpKnobs::default());
        let http = crate::server_stack::http_config(&o.knobs, o.request_timeout);
        assert_eq!(http.keep_alive_timeout, Some(Duration::from_secs(5)));
        assert!(!http.close_after_response);
    }

    #[test]
    fn bad_values_get_a_clear_answer() {
        assert!(
            serve(&["--addr", "1.2.3"])
                .unwrap_err()
                .contains("IPv4 address")
        );
        assert!(serve(&["--max-conns", "0"]).is_err());
        assert!(
            serve(&["--keep-alive-timeout=-1"])
                .unwrap_err()
                .contains("seconds")
        );
        assert!(
            serve(&["--host-addr", "10.0.0.1/24"])
                .unwrap_err()
                .contains("same subnet")
        );
        assert!(serve(&["--mtu", "100"]).is_err());
        // A tap's largest MTU, and no larger.
        assert_eq!(serve(&["--mtu", "65521"]).unwrap().knobs.mtu, 65521);
        assert!(serve(&["--mtu", "65522"]).is_err());
        assert!(serve(&["--offload"]).unwrap().offload);
        assert!(!serve(&[]).unwrap().offload);
        assert!(
            serve(&["--offload", "--loss", "0.1"])
                .unwrap_err()
                .contains("--offload")
        );
    }

    /// The error for `args`, asserting it is one line and names `flag`.
    fn one_line_error(args: &[&str], flag: &str) -> String {
        let e = serve(args).unwrap_err();
        assert!(!e.contains('\n'), "{args:?}: {e}");
        assert!(e.contains(flag), "{args:?}: {e}");
        e
    }

    #[test]
    fn interface_names_linux_would_refuse_or_cut_are_refused() {
        let e = one_line_error(&["--tap", "bad name"], "--tap");
        assert!(e.contains("it contains ' '"), "{e}");
        let e = one_line_error(&["--tap", "tap0123456789abc"], "--tap");
        assert!(e.contains("16 bytes long and Linux allows 15"), "{e}");
        for bad in ["", ".", "..", "a/b", "a:1", "tab\there"] {
            one_line_error(&["--tap", bad], "--tap");
        }
        assert_eq!(serve(&["--tap", "tap012345678901"]).unwrap().tap.len(), 15);
        assert_eq!(serve(&["--tap", "lab-tap_1"]).unwrap().tap, "lab-tap_1");
    }

    #[test]
    fn a_zero_request_timeout_is_refused() {
        let e = one_line_error(&["--request-timeout", "0"], "--request-timeout 0");
        assert!(e.contains("408"), "{e}");
        let o = serve(&["--request-timeout", "0.5"]).unwrap();
        assert_eq!(o.request_timeout, Duration::from_millis(500));
    }

    #[test]
    fn loss_is_whole_percents_or_refused() {
        assert_eq!(serve(&["--loss", "0.1"]).unwrap().loss, 10);
        assert_eq!(serve(&["--loss", "0.07"]).unwrap().loss, 7);
        assert_eq!(serve(&["--loss", "0"]).unwrap().loss, 0);
        let e = one_line_error(&["--loss", "0.005"], "--loss 0.005");
        assert!(
            e.contains("whole percent") && e.contains("use 0 or 0.01"),
            "{e}"
        );
        let e = one_line_error(&["--loss", "0.125"], "--loss 0.125");
        assert!(e.contains("use 0.12 or 0.13"), "{e}");
        one_line_error(&["--loss", "1"], "between 0 and 1");
    }

    #[test]
    fn zero_keep_alive_closes_after_each_response() {
        let o = serve(&["--keep-alive-timeout", "0"]).unwrap();
        assert!(crate::server_stack::http_config(&o.knobs, o.request_timeout).close_after_response);
    }
}
