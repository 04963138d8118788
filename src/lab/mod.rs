//! `taplab lab`: deterministic TCP experiments in one process.
//!
//! The server stack of `taplab serve` and a browser-like client ([`client`]) talk over the
//! virtual wire of [`crate::device::sim`], driven by a virtual clock ([`world`]). A
//! scenario ([`scenarios`]) is a named preset of flags — server knobs, client knobs, wire
//! faults, client behaviour — with a one-line description and a check that its phenomenon
//! really happened.
//!
//! Data enters as the command line, parsed once by clap: [`main`] adds the scenario's
//! preset to the user's own flags ([`preset`]: a flag the user gave, or one it belongs
//! with, replaces the preset's), resolves them into a [`world::RunConfig`] and runs it. It leaves as text on stdout — the listing of every
//! frame at the server's end of the wire, the wire's faults, both sides' real state
//! timelines, the client's requests, and a final `PASS`/`FAIL` line — plus, on request,
//! the pcap (`--pcap`), an SVG ladder (`--svg`) and TCP stream graphs (`--graph`, see
//! [`graphs`]). Same scenario, flags and seed: the same bytes, on every run and every
//! machine.

pub mod client;
pub mod congestion;
pub mod frames;
pub mod graphs;
pub mod preset;
pub mod scenarios;
pub mod sweep;
pub mod world;

use crate::device::sim::{Side, WireConfig, derive_seed};
use crate::knobs::{IsnMode, KnobArgs, TcpKnobs, Wscale, parse_secs};
use crate::tcp::StateChange;
use crate::trace::ladder::{self, Ladder, LadderOptions};
use clap::Parser;
use client::{ClientConfig, Plan};
use frames::{Frame, Kind};
use preset::Merged;
use scenarios::Scenario;
use smoltcp::time::Duration;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use world::{End, Outcome, RunConfig};

/// The flags of `taplab lab`.
#[derive(clap::Args, Debug, Clone)]
pub struct LabArgs {
    /// The scenario to run (`taplab lab --list` names them; `taplab lab sweep --help`: run
    /// one for many seeds and flag values)
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<String>,
    /// List the scenarios, one line each
    #[arg(long)]
    pub list: bool,
    /// Seed for everything random: faults, ISNs, client ports, smoltcp's own choices
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Write the frames at the server's end of the wire to this pcap file
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Draw the exchange as an SVG ladder diagram into this file
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Draw a TCP stream graph of the connection that carried the most data: KIND is
    /// tcptrace, stevens, throughput, rtt or window; OUT.csv writes its points (repeatable)
    #[arg(long = "graph", value_name = "KIND=OUT.svg", value_parser = crate::trace::graph::GraphRequest::parse, action = clap::ArgAction::Append)]
    pub graphs: Vec<crate::trace::graph::GraphRequest>,
    /// Site root the server serves (and the client checks bodies against)
    #[arg(long, default_value = "www", value_name = "DIR")]
    pub www: PathBuf,
    /// The server's --max-conns and --backlog
    #[command(flatten)]
    pub limits: crate::stack::admission::StackArgs,
    /// The server answers 408 when a request's headers are not complete within SECS
    #[arg(long, default_value = "10", value_parser = parse_secs, value_name = "SECS")]
    pub request_timeout: std::time::Duration,
    /// Stop the run after this much virtual time (SECS), settled or not
    #[arg(long, default_value = "600", value_parser = parse_secs, value_name = "SECS")]
    pub time_limit: std::time::Duration,

    // The wire.
    /// One-way latency of the wire in ms
    #[arg(long, default_value = "2", value_parser = parse_ms, value_name = "MS")]
    pub latency: Duration,
    /// Bandwidth, e.g. 100mbit, 10M, 512k or plain bits per second [default: unlimited]
    #[arg(long, value_parser = parse_rate, value_name = "RATE")]
    pub bandwidth: Option<u64>,
    /// Drop-tail queue at the --bandwidth bottleneck: at most N frames wait for the link,
    /// per direction, at the sending end (before the latency) [default: unlimited]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub queue: Option<u32>,
    /// Lose this fraction of frames in each direction, e.g. 0.1 (seeded)
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub loss: f64,
    /// Drop the Nth frame sent by `client` or `server`, e.g. server:20 (repeatable)
    #[arg(long = "drop", value_parser = parse_drop, value_name = "SIDE:N", action = clap::ArgAction::Append)]
    pub drops: Vec<(Side, u64)>,
    /// Extra one-way delay in ms
    #[arg(long, default_value = "0", value_parser = parse_ms, value_name = "MS")]
    pub delay: Duration,
    /// Each frame gets a random extra delay of 0..MS (frames may overtake each other)
    #[arg(long, default_value = "0", value_parser = parse_ms, value_name = "MS")]
    pub jitter: Duration,
    /// Hold back this fraction of frames so that later ones overtake them
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub reorder: f64,
    /// Deliver this fraction of frames twice
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub duplicate: f64,
    /// Flip a byte after the Ethernet header in this fraction of frames (a checksum fails)
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub corrupt: f64,

    // The client.
    /// The client's MSS option [default: from the MTU, 1460]
    #[arg(long, value_name = "N")]
    pub client_mss: Option<u16>,
    /// The client's window-scale shift (0..14), or `off` [default: 7, as Linux]
    #[arg(long, value_parser = crate::knobs::parse_wscale, value_name = "0..14|off")]
    pub client_wscale: Option<Wscale>,
    /// The client's receive buffer in bytes [default: the smallest that gives --client-wscale]
    #[arg(long, value_name = "BYTES")]
    pub client_window: Option<usize>,
    /// The client's initial sequence number: N, `random` (smoltcp's) or `keyed` (RFC 6528)
    #[arg(long, default_value = "keyed", value_parser = crate::knobs::parse_isn, value_name = "N|random|keyed")]
    pub client_isn: IsnMode,
    /// The client's TCP timestamps
    #[arg(long, default_value = "on", value_parser = crate::knobs::parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub client_timestamps: bool,
    /// The client's SACK_PERM in its SYN
    #[arg(long, default_value = "on", value_parser = crate::knobs::parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub client_sack: bool,
    /// Nagle's algorithm on the client (browsers turn it off)
    #[arg(long, default_value = "off", value_parser = crate::knobs::parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub client_nagle: bool,
    /// The client's delayed-ACK timeout in ms (Linux: 40; 0: ACK at once)
    #[arg(long, default_value_t = 40, value_name = "MS")]
    pub client_ack_delay: u64,
    /// The client's congestion control: `none`, `reno` or `cubic` (smoltcp's)
    #[arg(long, default_value = "cubic", value_parser = crate::knobs::parse_cc, value_name = "none|reno|cubic")]
    pub client_cc: crate::knobs::CongestionControl,
    /// A slow reader: the client drains each receive buffer at BYTES per second
    #[arg(long, value_name = "BYTES_PER_S")]
    pub client_read_rate: Option<u64>,
    /// Connections the client may use at once for the page's resources (1..6)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=6))]
    pub parallel: u16,
    /// Load the page a second time, revalidating with If-None-Match/If-Modified-Since
    #[arg(long)]
    pub reload: bool,
    /// Ask for /favicon.ico after the page, as browsers do
    #[arg(long, default_value = "on", value_parser = crate::knobs::parse_onoff, value_name = "on|off", action = clap::ArgAction::Set)]
    pub favicon: bool,
    /// Fetch just this path instead of a page load (repeatable, fetched in order)
    #[arg(long = "get", value_name = "PATH", action = clap::ArgAction::Append)]
    pub gets: Vec<String>,
    /// Keep idle connections open SECS after the last response before closing them
    #[arg(long, default_value = "0", value_parser = parse_secs, value_name = "SECS")]
    pub client_keep_alive: std::time::Duration,
    /// The client's first local port [default: from the seed, in 32768..60999]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1024..), value_name = "N")]
    pub client_port: Option<u16>,
    /// The server port the client connects to (the server listens on 80)
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u16).range(1..), value_name = "N")]
    pub connect_port: u16,
    /// Connect over IPv6 (fdaa::100 → fdaa::1); with --script, the scripted peer speaks IPv6
    #[arg(long)]
    pub ipv6: bool,

    /// Instead of a scenario: drive the server stack from a packetdrill-style script
    /// (see scripts/examples/; `-`: standard input)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scenario", "list"])]
    pub script: Option<PathBuf>,
    /// With --script: how far (ms) from its time a `>` line's segment may be sent
    #[arg(long, default_value_t = 10, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub tolerance: u64,
    /// The server's knobs: the same flags as `taplab serve`
    #[command(flatten)]
    pub knobs: KnobArgs,
}

#[derive(Parser, Debug)]
#[command(name = "taplab lab", args_override_self = true)]
struct LabCli {
    #[command(flatten)]
    args: LabArgs,
}

/// A duration in milliseconds (fractions allowed), 0..=600000.
pub fn parse_ms(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=600_000.0).contains(&v) => {
            Ok(Duration::from_micros((v * 1000.0).round() as u64))
        }
        _ => Err(format!(
            "`{s}` is not a number of milliseconds between 0 and 600000"
        )),
    }
}

/// A rate in bits per second: `100mbit`, `10M`, `512k`, `1g`, or a plain number.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let digits = lower.trim_end_matches("bit").trim_end_matches("bps");
    let (num, mult) = match digits.chars().last() {
        Some('k') => (&digits[..digits.len() - 1], 1e3),
        Some('m') => (&digits[..digits.len() - 1], 1e6),
        Some('g') => (&digits[..digits.len() - 1], 1e9),
        _ => (digits, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v * mult >= 1000.0 && v * mult <= 1e12 => Ok((v * mult) as u64),
        _ => Err(format!(
            "`{s}` is not a bandwidth between 1kbit and 1000gbit, e.g. 100mbit or 10M"
        )),
    }
}

/// `client:N` or `server:N`.
pub fn parse_drop(s: &str) -> Result<(Side, u64), String> {
    let err = || {
        format!("`{s}` is not SIDE:N with SIDE `client` or `server` and N from 1, e.g. server:20")
    };
    let (side, n) = s.split_once(':').ok_or_else(err)?;
    let side = match side {
        "client" => Side::Client,
        "server" => Side::Server,
        _ => return Err(err()),
    };
    match n.parse::<u64>() {
        Ok(n) if n > 0 => Ok((side, n)),
        _ => Err(err()),
    }
}

/// Runs `taplab lab` from its flags: `args` as clap parsed them from the user's command
/// line, `given` the same parse's matches (which flags the user typed; see [`preset`]).
/// Returns the exit code: 0 when the scenario's check passed, 1 when it failed.
pub fn main(mut args: LabArgs, given: &clap::ArgMatches, user: &[OsString]) -> Result<i32, String> {
    if args.request_timeout.is_zero() {
        return Err(
            "--request-timeout 0 would answer 408 before any request could arrive: give seconds, e.g. 10"
                .into(),
        );
    }
    if args.script.is_some() && !args.graphs.is_empty() {
        return Err(
            "--graph draws a scenario's run; for a script, write --pcap FILE and run taplab trace FILE --graph KIND=OUT.svg".into(),
        );
    }
    if let Some(file) = args.script.clone() {
        // The scripted peer drives the same server stack, with the same knob flags.
        let script = crate::script::ScriptArgs {
            file,
            tolerance: args.tolerance,
            www: args.www.clone(),
            request_timeout: args.request_timeout,
            limits: args.limits.clone(),
            pcap: args.pcap.clone(),
            ipv6: args.ipv6,
            knobs: args.knobs.clone(),
        };
        return crate::script::run_cli(script).map(|()| 0);
    }
    if args.list {
        print!("{}", scenarios::list());
        return Ok(0);
    }
    let Some(name) = args.scenario.clone() else {
        return Err(format!(
            "name a scenario: taplab lab SCENARIO (one of {}; taplab lab --list says what each shows)",
            scenarios::names()
        ));
    };
    let scenario = find_scenario(&name)?;
    let merged = preset::apply(&mut args, given, scenario.preset)?;
    let graph_requests = args.graphs.clone();
    let (config, svg) = resolve(args)?;
    let outcome = world::run(&config)?;
    let (text, pass) = report(scenario, &merged, &config, &outcome, svg.as_ref())?;
    graphs::write(&graph_requests, scenario.name, user, &outcome)?;
    print!("{text}");
    Ok(if pass { 0 } else { 1 })
}

/// The lab's flags parsed from `user` (the words after `taplab lab`), with their matches
/// (which flags the user typed, for [`preset::apply`]). Errors are clap's, on one line.
pub fn parse_user(user: &[OsString]) -> Result<(LabArgs, clap::ArgMatches), String> {
    use clap::{CommandFactory, FromArgMatches};
    let one_line =
        |e: clap::Error| crate::cli::clap_message(&e.to_string()) + " (see taplab lab --help)";
    let m = LabCli::command()
        .try_get_matches_from(
            std::iter::once(OsString::from("taplab lab")).chain(user.iter().cloned()),
        )
        .map_err(one_line)?;
    let args = LabCli::from_arg_matches(&m).map_err(one_line)?.args;
    Ok((args, m))
}

/// The scenario called `name`, or an error that names them all.
fn find_scenario(name: &str) -> Result<&'static Scenario, String> {
    scenarios::find(name).ok_or_else(|| {
        format!(
            "unknown scenario `{name}`: use one of {} (taplab lab --list says what each shows)",
            scenarios::names()
        )
    })
}

/// The client's knobs from the `--client-*` flags, checked like the server's.
fn client_knobs(a: &LabArgs, mtu: usize) -> Result<TcpKnobs, String> {
    let wscale = match (a.client_wscale, a.client_window) {
        (Some(w), _) => Some(w),
        // Linux's default shift, unless a window says otherwise.
        (None, None) => Some(Wscale::Shift(7)),
        (None, Some(_)) => None,
    };
    let knobs = TcpKnobs {
        isn: a.client_isn,
        mss: a.client_mss,
        mtu,
        wscale,
        window: a.client_window,
        nagle: a.client_nagle,
        ack_delay: (a.client_ack_delay > 0)
            .then(|| std::time::Duration::from_millis(a.client_ack_delay)),
        timestamps: a.client_timestamps,
        sack: a.client_sack,
        cc: a.client_cc,
        ..TcpKnobs::default()
    };
    knobs.validate().map_err(|e| {
        let mut e = e;
        for flag in ["mss", "window", "wscale"] {
            e = e.replace(&format!("--{flag}"), &format!("--client-{flag}"));
        }
        e
    })?;
    Ok(knobs)
}

fn resolve(a: LabArgs) -> Result<(RunConfig, Option<PathBuf>), String> {
    let wire = WireConfig {
        latency: a.latency,
        bandwidth: a.bandwidth,
        loss: a.loss,
        drops: a.drops.clone(),
        delay: a.delay,
        jitter: a.jitter,
        reorder: a.reorder,
        duplicate: a.duplicate,
        corrupt: a.corrupt,
        seed: a.seed,
        queue: a.queue.map(|q| q as usize),
        ..WireConfig::default()
    };
    wire.validate()?;
    let server_knobs = a.knobs.clone().into_knobs()?;
    let ck = client_knobs(&a, server_knobs.mtu)?;
    if let Some(r) = a.client_read_rate
        && r == 0
    {
        return Err(
            "--client-read-rate 0 would never read: give bytes per second, e.g. 20000".into(),
        );
    }
    for g in &a.gets {
        if !g.starts_with('/') || g.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(format!(
                "--get {g:?}: give a path starting with /, e.g. --get /intro.wav"
            ));
        }
    }
    if !a.gets.is_empty() && (a.reload || !a.favicon) {
        return Err(
            "--reload and --favicon belong to a page load, but --get PATH (given, or set by the scenario's preset) fetches just those paths: leave out one or the other".into(),
        );
    }
    let plan = if a.gets.is_empty() {
        Plan::Page {
            reload: a.reload,
            favicon: a.favicon,
        }
    } else {
        Plan::Gets(a.gets.clone())
    };
    let first_port = a
        .client_port
        .unwrap_or_else(|| 32768 + (derive_seed(a.seed, "client-port") % 28232) as u16);
    let client = ClientConfig {
        strip_wscale: ck.wscale == Some(Wscale::Off),
        strip_sack: !ck.sack,
        knobs: ck,
        plan,
        parallel: a.parallel as usize,
        keep_alive: Duration::from_micros(a.client_keep_alive.as_micros() as u64),
        read_rate: a.client_read_rate,
        first_port,
        server_port: a.connect_port,
        ipv6: a.ipv6,
        random_seed: derive_seed(a.seed, "client-smoltcp"),
        isn_key: (
            derive_seed(a.seed, "client-isn-key-0"),
            derive_seed(a.seed, "client-isn-key-1"),
        ),
        www: a.www.clone(),
    };
    Ok((
        RunConfig {
            server_knobs,
            limits: a.limits.limits(),
            guard: !a.limits.no_guard,
            request_timeout: a.request_timeout,
            www: a.www,
            wire,
            client,
            seed: a.seed,
            pcap: a.pcap,
            time_limit: Duration::from_micros(a.time_limit.as_micros() as u64),
        },
        a.svg,
    ))
}

/// Seconds since `t0`, as the listing prints them (negative before the first frame).
fn secs(t: smoltcp::time::Instant, t0: smoltcp::time::Instant) -> String {
    let us = (t - t0).total_micros() as i64 * if t < t0 { -1 } else { 1 };
    let sign = if us < 0 { "-" } else { "" };
    let us = us.unsigned_abs();
    format!("{sign}{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The whole report, and whether the scenario's check passed.
fn report(
    scenario: &Scenario,
    preset: &Merged,
    config: &RunConfig,
    outcome: &Outcome,
    svg: Option<&PathBuf>,
) -> Result<(String, bool), String> {
    let frames = frames::analyze(&outcome.frames, crate::network::SERVER_MAC);
    let listing = frames::listing(&frames);
    let t0 = outcome.frames.first().map_or(outcome.started, |f| f.time);
    let mut out = String::new();
    report_setup(&mut out, scenario, preset, config);
    out.push('\n');
    out.push_str(&listing);
    report_run(&mut out, config, outcome, t0);

    if let Some(path) = svg {
        let ladder = ladder_of(scenario, config, &frames, &outcome.changes, t0);
        let svg = ladder::render_svg(&ladder, &LadderOptions::default());
        std::fs::write(path, svg)
            .map_err(|e| format!("cannot write the SVG {}: {e}", path.display()))?;
    }

    let judgement = judge(scenario, config, outcome, &frames);
    let _ = writeln!(out, "\ncheck: {}", scenario.checks);
    let _ = writeln!(
        out,
        "{} {}: {}",
        if judgement.pass { "PASS" } else { "FAIL" },
        scenario.name,
        judgement.says
    );
    Ok((out, judgement.pass))
}

/// What a run showed, against its scenario.
struct Judgement {
    /// The check passed, every body arrived (if the scenario expects them) and the run
    /// settled (if it must).
    pass: bool,
    /// The check's finding, and what else kept it from passing.
    says: String,
}

/// Runs the scenario's check on a run's frames and adds the report's own conditions.
fn judge(
    scenario: &Scenario,
    config: &RunConfig,
    outcome: &Outcome,
    frames: &[Frame],
) -> Judgement {
    let evidence = scenarios::Evidence {
        frames,
        changes: &outcome.changes,
        results: &outcome.results,
        outcome,
        config,
    };
    let verdict = (scenario.check)(&evidence);
    let bodies_ok = !scenario.expects_bodies || outcome.results.iter().all(|r| r.ok);
    let settled = outcome.end == End::Settled;
    let mut says = verdict.says;
    if !bodies_ok {
        says.push_str("; but not every body arrived byte-equal");
    }
    if !settled && scenario.must_settle {
        says.push_str("; but the run did not settle");
    }
    Judgement {
        pass: verdict.pass && bodies_ok && (settled || !scenario.must_settle),
        says,
    }
}

/// The report's head: the scenario, its preset and the setup of server, client and wire.
fn report_setup(out: &mut String, scenario: &Scenario, preset: &Merged, config: &RunConfig) {
    let _ = writeln!(out, "taplab lab {}: {}", scenario.name, scenario.about);
    if !preset.applied.is_empty() || !preset.yielded.is_empty() {
        let _ = write!(out, "  preset:  {}", preset.applied.join(" "));
        if !preset.yielded.is_empty() {
            let sep = if preset.applied.is_empty() { "" } else { " " };
            let _ = write!(
                out,
                "{sep}(your flags replace {})",
                preset.yielded.join(" ")
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "  server:  {}", config.server_knobs);
    let c = &config.client;
    let k = &c.knobs;
    let _ = writeln!(
        out,
        "  client:  isn {}, mss {}, wscale {}, window {}, timestamps {}, sack {}, nagle {}, ack-delay {} ms, read rate {}, parallel {}, {}",
        match k.isn {
            IsnMode::Fixed(n) => n.to_string(),
            IsnMode::Random => "random".into(),
            IsnMode::Keyed => "keyed".into(),
        },
        k.mss
            .map_or_else(|| format!("{} (from MTU)", k.mtu_mss()), |m| m.to_string()),
        k.advertised_shift().map_or("off".into(), |s| s.to_string()),
        k.rx_buffer(),
        if k.timestamps { "on" } else { "off" },
        if k.sack { "on" } else { "off" },
        if k.nagle { "on" } else { "off" },
        k.ack_delay.map_or(0, |d| d.as_millis()),
        c.read_rate
            .map_or("unlimited".into(), |r| format!("{r} B/s")),
        c.parallel,
        match &c.plan {
            Plan::Page { reload, favicon } => format!(
                "page load of /{}{}",
                if *favicon { " + favicon" } else { "" },
                if *reload { ", then a reload" } else { "" }
            ),
            Plan::Gets(p) => format!("GET {}", p.join(", ")),
        }
    );
    let _ = writeln!(out, "  wire:    {}", config.wire);
}

/// After the listing: the wire's faults, both sides' state timelines, the client's
/// requests and how the run ended.
fn report_run(out: &mut String, config: &RunConfig, outcome: &Outcome, t0: smoltcp::time::Instant) {
    if let Some(q) = config.wire.queue {
        let _ = writeln!(
            out,
            "\nBottleneck queue (--queue {q}): at most {} frame(s) waited at the server's end, {} at the client's",
            outcome.peak_queue.0, outcome.peak_queue.1
        );
    }
    if outcome.fault_count > 0 {
        let _ = writeln!(out, "\nWire faults ({}):", outcome.fault_count);
        for f in &outcome.faults {
            let _ = writeln!(
                out,
                "  {:>10}  {} frame {} {}",
                secs(f.time, t0),
                f.side,
                f.n,
                f.kind
            );
        }
    }
    if !outcome.guard.is_empty() {
        let _ = writeln!(out, "\nThe server's edge guard ({}):", outcome.guard.len());
        for a in &outcome.guard {
            let _ = writeln!(
                out,
                "  {:>10}  :{}  {}",
                secs(a.time, t0),
                a.remote.port,
                a.why.text()
            );
        }
    }

    let _ = writeln!(
        out,
        "\nState timelines (smoltcp's own socket states, both ends; \"on #N\": caused by the arrival of frame N)"
    );
    let _ = writeln!(
        out,
        "  {:>10}  {:<6}  {:<6}  {:<28}  cause",
        "Time", "Side", "Client", "Change"
    );
    for ch in &outcome.changes {
        let _ = writeln!(
            out,
            "  {:>10}  {:<6}  {:<6}  {:<28}  {}",
            secs(ch.time, t0),
            ch.side.name(),
            format!(":{}", ch.client().port),
            format!("{} → {}", ch.from, ch.to),
            ch.frame.map_or_else(
                || format!("the {}'s own action or timer", ch.side),
                |n| format!("on #{n}")
            )
        );
    }

    let _ = writeln!(
        out,
        "\nRequests (the client's view; bodies compared with {}):",
        config.www.display()
    );
    for r in &outcome.results {
        let _ = writeln!(
            out,
            "  load {} :{:<5}  GET {:<14} {:<24} {:>3} {:<26} {:>7} bytes  {} {}",
            r.load,
            r.port,
            r.path,
            if r.asked.is_empty() {
                "-".into()
            } else {
                r.asked.clone()
            },
            r.status,
            r.content_type.as_deref().unwrap_or("-"),
            r.body_len,
            if r.ok { "ok:" } else { "FAILED:" },
            r.detail
        );
    }
    let _ = writeln!(
        out,
        "\nRun: {} s of virtual time, {} frames captured, {} steps, {}",
        secs(outcome.ended, outcome.started),
        outcome.frames.len(),
        outcome.iterations,
        match outcome.end {
            End::Settled => "settled: every socket closed again",
            End::Idle => "stopped: nothing left to happen, but not every socket closed",
            End::TimeLimit => "stopped at --time-limit",
            End::IterationLimit => "stopped at the step limit",
        }
    );
}

/// The exchange as a ladder: client on the left, server on the right, with both sides'
/// real states (not inferred).
fn ladder_of(
    scenario: &Scenario,
    config: &RunConfig,
    frames: &[Frame],
    changes: &[StateChange],
    t0: smoltcp::time::Instant,
) -> Ladder {
    let t = |i: smoltcp::time::Instant| {
        let us = if i >= t0 {
            (i - t0).total_micros() as f64
        } else {
            -((t0 - i).total_micros() as f64)
        };
        us / 1e6
    };
    // (sort key, item): segments by frame, states after the frame that caused them or
    // else by time.
    let mut items: Vec<((i64, usize, u8), ladder::Item)> = Vec::new();
    let mut streams: Vec<(smoltcp::wire::IpEndpoint, usize, smoltcp::time::Instant)> = Vec::new();
    for f in frames {
        let Kind::Tcp(s) = &f.kind else { continue };
        let client = if s.from_client { s.src } else { s.dst };
        if !streams.iter().any(|x| x.1 == s.stream) {
            streams.push((client, s.stream, f.time));
        }
        // The analysis worth a note (a retransmission, a window update…); the label of
        // bulk data ("TCP segment of a reassembled PDU") would only stop the ladder from
        // condensing a run of data segments.
        let note = s
            .marks
            .first()
            .map(ToString::to_string)
            .or_else(|| s.http.clone());
        items.push((
            ((f.time - t0).total_micros() as i64, f.no, 0),
            ladder::Item::Segment(ladder::Segment {
                frame: f.no as u64,
                time: t(f.time),
                from_left: s.from_client,
                stream: s.stream,
                flags: s.flag_set,
                label: s.label(),
                len: s.len,
                note,
            }),
        ));
    }
    for c in changes {
        let ep = c.client();
        let stream = streams
            .iter()
            .filter(|x| x.0 == ep && x.2 <= c.time)
            .map(|x| x.1)
            .next_back()
            .or_else(|| streams.iter().find(|x| x.0 == ep).map(|x| x.1))
            .unwrap_or(0);
        let us = if c.time >= t0 {
            (c.time - t0).total_micros() as i64
        } else {
            -((t0 - c.time).total_micros() as i64)
        };
        // After the frame that caused it; else after every frame of its instant.
        let key = match c.frame {
            Some(n) => (
                frames
                    .get((n as usize).wrapping_sub(1))
                    .map_or(us, |f| (f.time - t0).total_micros() as i64),
                n as usize,
                1,
            ),
            None => (us, usize::MAX, 1),
        };
        items.push((
            key,
            ladder::Item::State(ladder::StateMark {
                time: t(c.time),
                left: c.side == crate::tcp::Side::Client,
                stream,
                state: c.to,
                inferred: false,
            }),
        ));
    }
    items.sort_by_key(|(k, _)| *k);
    let server = if config.client.ipv6 {
        "[fdaa::1]:80".to_string()
    } else {
        "192.168.69.1:80".to_string()
    };
    let client = if config.client.ipv6 {
        "fdaa::100"
    } else {
        "192.168.69.100"
    };
    Ladder {
        title: format!("taplab lab {}: {}", scenario.name, scenario.about),
        left: format!("client {client} (smoltcp)"),
        right: format!("server {server} (taplab)"),
        items: items.into_iter().map(|(_, i)| i).collect(),
    }
}
