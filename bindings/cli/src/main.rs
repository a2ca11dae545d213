//! `tollgate`: the command line over the tollgate engine (SPEC §5).
//!
//! Exit codes: 0 allowed/ok, 1 denied, 2 bad input. Errors go to stderr
//! with file:line:column.

mod render;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tollgate::{Engine, LoadError, Run, Sources};

#[derive(Parser)]
#[command(name = "tollgate", version, about = "Deterministic policy-and-rating engine for credit-funded AI tool runs")]
struct Cli {
    /// Rate tables folder (every *.toml in it); default: the embedded rates.
    #[arg(long, global = true, value_name = "DIR")]
    rates: Option<PathBuf>,
    /// Print the answer as JSON (the same fields as the JavaScript API).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Estimate what a run will cost (a TOML or JSON file; `-` reads stdin).
    Estimate {
        /// The run file.
        run: PathBuf,
    },
    /// Show the rate tables as reference tables.
    Rates {
        /// Only this kind of rates.
        kind: Option<Kind>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Text,
    Image,
    Video,
    Tools,
}

/// A failure, already formatted for stderr, with its exit code.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn bad_input(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 2 }
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let mut message = String::new();
        for (i, p) in e.problems().iter().enumerate() {
            if i > 0 {
                message.push('\n');
            }
            message.push_str(&format!("error: {p}\n  help: {}", p.help()));
        }
        Failure::bad_input(message)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn engine(cli: &Cli) -> Result<Engine, Failure> {
    let sources = match &cli.rates {
        Some(dir) => Sources::embedded().rates_dir(dir)?,
        None => Sources::embedded(),
    };
    Ok(Engine::from_sources(sources)?)
}

fn run(cli: &Cli) -> Result<String, Failure> {
    let engine = engine(cli)?;
    match &cli.command {
        Command::Estimate { run } => {
            let run = read_run(run)?;
            let estimate = engine.estimate(&run).map_err(|e| Failure::bad_input(format!("error: {e}")))?;
            if cli.json {
                json(&estimate)
            } else {
                Ok(render::estimate(&estimate))
            }
        }
        Command::Rates { kind } => {
            let mut sheet = engine.rate_sheet();
            if let Some(kind) = kind {
                let keep = |k: Kind| std::mem::discriminant(&k) == std::mem::discriminant(kind);
                if !keep(Kind::Text) {
                    sheet.text.clear();
                }
                if !keep(Kind::Image) {
                    sheet.image.clear();
                }
                if !keep(Kind::Video) {
                    sheet.video.clear();
                }
                if !keep(Kind::Tools) {
                    sheet.tools.clear();
                }
            }
            if cli.json {
                json(&sheet)
            } else {
                Ok(render::rates(&sheet))
            }
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| Failure::bad_input(format!("error: cannot write JSON: {e}")))
}

/// Reads a request file (`-` is stdin): JSON when the name ends in `.json`
/// or the text starts with `{`, TOML otherwise.
fn read_text(path: &Path) -> Result<(String, String), Failure> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::bad_input(format!("error: cannot read stdin: {e}")))?;
        return Ok(("<stdin>".into(), text));
    }
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::bad_input(format!("error: cannot read `{name}`: {e}")))?;
    Ok((name, text))
}

fn read_run(path: &Path) -> Result<Run, Failure> {
    let (name, text) = read_text(path)?;
    let is_json = name.ends_with(".json") || text.trim_start().starts_with('{');
    let run = if is_json { Run::from_json(&name, &text) } else { Run::from_toml(&name, &text) };
    run.map_err(|e| Failure::bad_input(format!("error: {e}")))
}
