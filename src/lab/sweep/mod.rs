//! `taplab lab sweep`: one scenario run for many seeds and every combination of varied
//! flags, all cores busy, summed up as one table row per combination ("cell"), and on
//! request every run as CSV and the completion times as an SVG chart.
//!
//! Data enters as the command line after `lab sweep`: the sweep's own flags (`--seeds`,
//! `--vary`, `--csv`, `--svg`, `--jobs`) and any `taplab lab` flags, which every run gets
//! (after the scenario's preset, before the varied flag and `--seed`). Each run is an
//! ordinary, single-threaded lab run ([`super::world::run`]) judged by the scenario's own
//! check; worker threads take runs off a shared counter and send back a [`RunResult`].
//! The results are put in order of cell and seed before anything is written, so stdout,
//! the CSV and the SVG are the same bytes whatever `--jobs` is. Progress goes to stderr.

pub mod chart;
pub mod stats;

use super::frames;
use super::scenarios::Scenario;
use super::world::{self, End};
use super::{find_scenario, judge, parse_user, preset, resolve};
use crate::network::SERVER_MAC;
use clap::Parser;
use std::ffi::OsString;
use std::io::{IsTerminal, Write as _};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The sweep's own flags; everything else on the command line is a `taplab lab` flag.
#[derive(Parser, Debug)]
#[command(
    name = "taplab lab sweep",
    override_usage = "taplab lab sweep SCENARIO [--seeds A..B] [--vary FLAG=V1,V2,…]… [--csv FILE] [--svg FILE] [--jobs N] [taplab lab flags]",
    about = "Run one scenario for many seeds and every combination of --vary values, in parallel",
    after_help = "Any other taplab lab flag (e.g. --bandwidth 10mbit, --time-limit 3600) applies to every run. \
                  Each run is single-threaded and deterministic; stdout, --csv and --svg are the same \
                  whatever --jobs is. Completion time: virtual seconds from the start of a run until the \
                  client's last fetch ended."
)]
struct SweepCli {
    /// Seeds to run each cell with, both ends included: A..B (or one seed N)
    #[arg(long, default_value = "1..10", value_parser = parse_seeds, value_name = "A..B")]
    seeds: RangeInclusive<u64>,
    /// A taplab lab flag and the values to try, e.g. loss=0,0.01,0.05 (repeatable: every
    /// combination runs; the first is the chart's x axis, the others make its lines)
    #[arg(long, value_parser = parse_vary, action = clap::ArgAction::Append, value_name = "FLAG=V1,V2,…")]
    vary: Vec<Vary>,
    /// Write every run (cell, values, seed, completion, …) to this CSV file
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Draw completion time against the first --vary flag into this SVG file
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Runs at once [default: the machine's cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024), value_name = "N")]
    jobs: Option<u16>,
}

/// The sweep's flags that take a value.
const OWN_FLAGS: [&str; 5] = ["--seeds", "--vary", "--csv", "--svg", "--jobs"];

/// `taplab lab` flags a sweep cannot take: one file or one seed for many runs.
const REFUSED: [(&str, &str); 5] = [
    ("--seed", "give --seeds A..B"),
    (
        "--pcap",
        "a sweep writes no captures: run one seed with taplab lab for that",
    ),
    (
        "--graph",
        "a sweep draws no per-run graphs: run one seed with taplab lab for that",
    ),
    ("--script", "a sweep runs a scenario, not a script"),
    ("--list", "taplab lab --list names the scenarios"),
];

/// Most runs in one sweep (cells × seeds).
const MAX_RUNS: u64 = 1_000_000;

/// One `--vary FLAG=V1,V2,…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    /// The flag's name without its dashes.
    pub name: String,
    pub values: Vec<String>,
}

/// One combination of varied values.
#[derive(Debug, Clone)]
pub struct Cell {
    /// One value per [`Vary`], in the order the flags were given.
    pub values: Vec<String>,
    /// Its runs stop at this much virtual time (the cell's --time-limit), in seconds.
    pub time_limit: f64,
    /// The `taplab lab` flags of its runs, but for `--seed`.
    args: Vec<OsString>,
}

impl Cell {
    /// `loss=0.01 cc=reno`.
    pub fn label(&self, varies: &[Vary]) -> String {
        varies
            .iter()
            .zip(&self.values)
            .map(|(v, x)| format!("{}={x}", v.name))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What one run gave.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub seed: u64,
    /// Virtual seconds from the start of the run until the client's last fetch ended;
    /// None: it never did (the run hit its time limit first).
    pub completion: Option<f64>,
    /// The client's every fetch ended, and every body arrived byte-equal.
    pub intact: bool,
    /// The scenario's check passed (as `taplab lab` would print PASS).
    pub pass: bool,
    /// Segments the analysis marks as retransmissions (plain, fast or spurious).
    pub retransmissions: usize,
    pub frames: usize,
    pub end: End,
}

/// Everything a sweep runs.
pub struct Plan {
    pub scenario: &'static Scenario,
    pub varies: Vec<Vary>,
    pub cells: Vec<Cell>,
    pub seeds: RangeInclusive<u64>,
}

impl Plan {
    pub fn seed_count(&self) -> usize {
        (self.seeds.end() - self.seeds.start() + 1) as usize
    }

    pub fn runs(&self) -> usize {
        self.cells.len() * self.seed_count()
    }

    /// Run `k` of the sweep: cell `k / seeds`, the `k % seeds`-th seed.
    fn run(&self, k: usize) -> Result<RunResult, String> {
        let cell = &self.cells[k / self.seed_count()];
        let seed = self.seeds.start() + (k % self.seed_count()) as u64;
        run_one(self.scenario, &cell.args, seed)
            .map_err(|e| format!("{} seed {seed}: {e}", cell.label(&self.varies)))
    }
}

/// `A..B`, `A..=B` (both ends included) or `N`.
fn parse_seeds(s: &str) -> Result<RangeInclusive<u64>, String> {
    let err = || format!("`{s}` is not a range of seeds A..B (both included, A ≤ B) or one seed N");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (a, b.strip_prefix('=').unwrap_or(b)),
        None => (s, s),
    };
    let (a, b) = (
        a.trim().parse::<u64>().map_err(|_| err())?,
        b.trim().parse::<u64>().map_err(|_| err())?,
    );
    if a > b {
        return Err(err());
    }
    if b - a >= MAX_RUNS {
        return Err(format!("`{s}`: at most {MAX_RUNS} seeds"));
    }
    Ok(a..=b)
}

/// `FLAG=V1,V2,…`.
fn parse_vary(s: &str) -> Result<Vary, String> {
    let err = || format!("`{s}` is not FLAG=V1,V2,… with a taplab lab flag, e.g. loss=0,0.01,0.1");
    let (name, values) = s.split_once('=').ok_or_else(err)?;
    let name = name.trim_start_matches('-');
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(err());
    }
    if let Some((flag, why)) = REFUSED.iter().find(|(f, _)| &f[2..] == name) {
        return Err(format!("--vary {name}: a sweep cannot vary {flag} ({why})"));
    }
    let values: Vec<String> = values.split(',').map(str::to_string).collect();
    if values.iter().any(String::is_empty) {
        return Err(err());
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("--vary {name}: {v} is given twice"));
        }
    }
    Ok(Vary {
        name: name.to_string(),
        values,
    })
}

/// Splits the arguments after `sweep` into the sweep's own and the lab's.
fn split_args(user: &[OsString]) -> (Vec<OsString>, Vec<OsString>) {
    let (mut own, mut lab) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < user.len() {
        let a = user[i].to_string_lossy();
        let name = a.split('=').next().unwrap_or(&a);
        if OWN_FLAGS.contains(&name) {
            own.push(user[i].clone());
            if !a.contains('=')
                && let Some(v) = user.get(i + 1)
            {
                own.push(v.clone());
                i += 1;
            }
        } else if a == "-h" || a == "--help" {
            own.push(user[i].clone());
        } else {
            lab.push(user[i].clone());
        }
        i += 1;
    }
    (own, lab)
}

/// True if `argv` (the whole command line) is `taplab lab sweep …`.
pub fn invoked(argv: &[OsString]) -> bool {
    argv.get(1).is_some_and(|a| a == "lab") && argv.get(2).is_some_and(|a| a == "sweep")
}

/// Runs `taplab lab sweep` from the whole command line. Returns the exit code.
pub fn main(argv: Vec<OsString>) -> Result<i32, String> {
    let user = argv.get(3..).unwrap_or_default();
    let (own, lab) = split_args(user);
    let mut v: Vec<OsString> = vec!["taplab lab sweep".into()];
    v.extend(own);
    let cli = match SweepCli::try_parse_from(v) {
        Ok(c) => c,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            println!("{}", e.to_string().trim_end());
            return Ok(0);
        }
        Err(e) => {
            return Err(crate::cli::clap_message(&e.to_string()) + " (see taplab lab sweep --help)");
        }
    };
    let plan = plan(&cli, &lab)?;
    let jobs = cli.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let results = run_all(&plan, jobs)?;

    let summaries: Vec<stats::Summary> = results
        .chunks(plan.seed_count())
        .map(stats::summarize)
        .collect();
    let mut out = stats::table(&plan, &summaries);
    if let Some(path) = &cli.csv {
        std::fs::write(path, stats::csv(&plan, &results))
            .map_err(|e| format!("cannot write the CSV {}: {e}", path.display()))?;
        out.push_str(&format!(
            "\nwrote {} ({} runs)\n",
            path.display(),
            results.len()
        ));
    }
    if let Some(path) = &cli.svg {
        std::fs::write(path, chart::svg(&plan, &summaries))
            .map_err(|e| format!("cannot write the SVG {}: {e}", path.display()))?;
        out.push_str(&format!("wrote {}\n", path.display()));
    }
    print!("{out}");
    Ok(0)
}

/// The scenario and every cell, each checked by resolving its flags once.
fn plan(cli: &SweepCli, lab: &[OsString]) -> Result<Plan, String> {
    for a in lab {
        let a = a.to_string_lossy();
        let name = a.split('=').next().unwrap_or(&a);
        if let Some((flag, why)) = REFUSED.iter().find(|(f, _)| *f == name) {
            return Err(format!("a sweep cannot take {flag}: {why}"));
        }
    }
    for (i, v) in cli.vary.iter().enumerate() {
        if cli.vary[..i].iter().any(|w| w.name == v.name) {
            return Err(format!(
                "--vary {} is given twice: list all its values in one, e.g. {}=1,2,3",
                v.name, v.name
            ));
        }
    }
    let name = parse_user(lab)?.0.scenario.ok_or_else(|| {
        format!(
            "name a scenario: taplab lab sweep SCENARIO --seeds 1..100 --vary loss=0,0.05 (one of {})",
            super::scenarios::names()
        )
    })?;
    let scenario = find_scenario(&name)?;
    // Every combination, the first --vary changing slowest.
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for v in &cli.vary {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                v.values.iter().map(move |x| {
                    let mut c = c.clone();
                    c.push(x.clone());
                    c
                })
            })
            .collect();
    }
    let mut cells = Vec::new();
    for values in combos {
        let mut args = lab.to_vec();
        for (v, x) in cli.vary.iter().zip(&values) {
            args.push(format!("--{}={x}", v.name).into());
        }
        let mut first = args.clone();
        first.push(format!("--seed={}", cli.seeds.start()).into());
        let label = cli
            .vary
            .iter()
            .zip(&values)
            .map(|(v, x)| format!("{}={x}", v.name))
            .collect::<Vec<_>>()
            .join(" ");
        let (config, _) = configure(scenario, &first).map_err(|e| {
            if label.is_empty() {
                e
            } else {
                format!("{label}: {e}")
            }
        })?;
        cells.push(Cell {
            values,
            time_limit: config.time_limit.total_micros() as f64 / 1e6,
            args,
        });
    }
    let plan = Plan {
        scenario,
        varies: cli.vary.clone(),
        cells,
        seeds: cli.seeds.clone(),
    };
    if plan.runs() as u64 > MAX_RUNS {
        return Err(format!(
            "{} runs ({} cells × {} seeds): at most {MAX_RUNS} in one sweep",
            plan.runs(),
            plan.cells.len(),
            plan.seed_count()
        ));
    }
    Ok(plan)
}

/// The run `taplab lab SCENARIO USER…` would make: the user's flags, the scenario's
/// preset where they leave room (as `taplab lab` merges them).
fn configure(
    scenario: &Scenario,
    user: &[OsString],
) -> Result<(world::RunConfig, Option<std::path::PathBuf>), String> {
    let (mut args, given) = parse_user(user)?;
    preset::apply(&mut args, &given, scenario.preset)?;
    resolve(args)
}

/// One run, judged as `taplab lab` would judge it.
fn run_one(scenario: &Scenario, cell_args: &[OsString], seed: u64) -> Result<RunResult, String> {
    let mut user = cell_args.to_vec();
    user.push(format!("--seed={seed}").into());
    let (config, _) = configure(scenario, &user)?;
    let outcome = world::run(&config)?;
    let frames = frames::analyze(&outcome.frames, SERVER_MAC);
    let judgement = judge(scenario, &config, &outcome, &frames);
    Ok(RunResult {
        seed,
        completion: outcome
            .done
            .map(|d| (d - outcome.started).total_micros() as f64 / 1e6),
        // Every fetch ended (none still waiting at the time limit) and every body is right.
        intact: outcome.done.is_some()
            && !outcome.results.is_empty()
            && outcome.results.iter().all(|r| r.ok),
        pass: judgement.pass,
        retransmissions: frames
            .iter()
            .filter(|f| f.tcp().is_some_and(frames::Seg::retransmitted))
            .count(),
        frames: outcome.frames.len(),
        end: outcome.end,
    })
}

/// Runs everything on `jobs` threads; the results in order of cell and seed.
fn run_all(plan: &Plan, jobs: usize) -> Result<Vec<RunResult>, String> {
    let total = plan.runs();
    let jobs = jobs.clamp(1, total.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut results: Vec<Option<Result<RunResult, String>>> = vec![None; total];
    let mut progress = Progress::new(total, jobs);
    std::thread::scope(|s| -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            std::thread::Builder::new()
                // The main thread's size: a run's stacks live on it.
                .stack_size(8 << 20)
                .spawn_scoped(s, move || {
                    while !stop.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= total {
                            break;
                        }
                        let r = plan.run(k);
                        if r.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        if tx.send((k, r)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| format!("cannot start a sweep thread: {e}"))?;
        }
        drop(tx);
        for (k, r) in rx {
            results[k] = Some(r);
            progress.tick();
        }
        Ok(())
    })?;
    progress.finish();
    // The first error in run order, if any run failed.
    let mut out = Vec::with_capacity(total);
    for r in results {
        match r {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    if out.len() != total {
        return Err("a run failed, and the sweep stopped".into());
    }
    Ok(out)
}

/// Progress on stderr: a line rewritten in place on a terminal, every tenth otherwise.
struct Progress {
    total: usize,
    done: usize,
    shown: usize,
    tty: bool,
    jobs: usize,
    started: std::time::Instant,
}

impl Progress {
    fn new(total: usize, jobs: usize) -> Progress {
        Progress {
            total,
            done: 0,
            shown: 0,
            tty: std::io::stderr().is_terminal(),
            jobs,
            started: std::time::Instant::now(),
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        let step = if self.tty {
            (self.total / 100).max(1)
        } else {
            (self.total / 10).max(1)
        };
        if self.done - self.shown >= step || self.done == self.total {
            self.shown = self.done;
            let mut err = std::io::stderr().lock();
            let _ = if self.tty {
                write!(err, "\rsweep: {}/{} runs", self.done, self.total)
            } else {
                writeln!(err, "sweep: {}/{} runs", self.done, self.total)
            };
        }
    }

    fn finish(&self) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = writeln!(err);
        }
        let _ = writeln!(
            err,
            "sweep: {} runs in {:.2} s on {} thread(s)",
            self.done,
            self.started.elapsed().as_secs_f64(),
            self.jobs
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn seeds_and_varies_parse_or_say_why() {
        assert_eq!(parse_seeds("1..100"), Ok(1..=100));
        assert_eq!(parse_seeds("3..=5"), Ok(3..=5));
        assert_eq!(parse_seeds("7"), Ok(7..=7));
        for bad in ["5..1", "a..3", "1..", "", "-1..4"] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_vary("loss=0,0.01"),
            Ok(Vary {
                name: "loss".into(),
                values: vec!["0".into(), "0.01".into()]
            })
        );
        assert_eq!(parse_vary("--cc=reno,cubic").unwrap().name, "cc");
        for bad in ["loss", "=1,2", "loss=", "loss=1,,2", "loss=1,1", "a b=1"] {
            assert!(parse_vary(bad).is_err(), "{bad}");
        }
        assert!(parse_vary("seed=1,2").unwrap_err().contains("--seeds"));
    }

    #[test]
    fn the_sweeps_flags_are_told_from_the_labs() {
        let (own, lab) = split_args(&os(&[
            "page-load",
            "--seeds",
            "1..3",
            "--bandwidth=10mbit",
            "--vary=loss=0,0.1",
            "--jobs",
            "2",
            "--latency",
            "20",
        ]));
        assert_eq!(
            own,
            os(&["--seeds", "1..3", "--vary=loss=0,0.1", "--jobs", "2"])
        );
        assert_eq!(
            lab,
            os(&["page-load", "--bandwidth=10mbit", "--latency", "20"])
        );
        assert!(invoked(&os(&["taplab", "lab", "sweep", "x"])));
        assert!(!invoked(&os(&["taplab", "lab", "page-load"])));
    }

    #[test]
    fn cells_are_every_combination_first_flag_slowest() {
        let cli = SweepCli::try_parse_from([
            "sweep",
            "--seeds",
            "1..2",
            "--vary",
            "loss=0,0.1",
            "--vary",
            "cc=reno,cubic",
        ])
        .unwrap();
        let plan = plan(&cli, &os(&["handshake", "--www", "www"])).unwrap();
        let labels: Vec<String> = plan.cells.iter().map(|c| c.label(&plan.varies)).collect();
        assert_eq!(
            labels,
            [
                "loss=0 cc=reno",
                "loss=0 cc=cubic",
                "loss=0.1 cc=reno",
                "loss=0.1 cc=cubic"
            ]
        );
        assert_eq!(plan.runs(), 8);
        assert_eq!(plan.cells[0].time_limit, 600.0);
    }

    #[test]
    fn bad_sweeps_are_refused_before_any_run() {
        let cli = |extra: &[&str]| {
            let mut v = vec!["sweep"];
            v.extend_from_slice(extra);
            SweepCli::try_parse_from(v).unwrap()
        };
        let err = |c: &SweepCli, lab: &[&str]| plan(c, &os(lab)).err().unwrap_or_default();
        assert!(err(&cli(&[]), &["page-load", "--seed", "3"]).contains("--seeds"));
        assert!(err(&cli(&[]), &["page-load", "--pcap=x.pcap"]).contains("--pcap"));
        assert!(err(&cli(&[]), &[]).contains("name a scenario"));
        assert!(err(&cli(&[]), &["nope"]).contains("unknown scenario"));
        let e = err(&cli(&["--vary", "loss=0,2"]), &["page-load"]);
        assert!(e.starts_with("loss=2: ") && e.contains("--loss"), "{e}");
        let e = err(&cli(&["--vary", "colour=red"]), &["page-load"]);
        assert!(e.contains("--colour"), "{e}");
        let e = err(
            &cli(&["--vary", "loss=0", "--vary", "loss=1"]),
            &["page-load"],
        );
        assert!(e.contains("given twice"), "{e}");
    }
}
