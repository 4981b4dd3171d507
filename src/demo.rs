//! `synergy-ls demo`: the README's "see it work" command. Starts the simulator in-process,
//! checks `examples/` against it exactly as `check` would, prints the findings and one hover
//! card, and says how to point an editor at a simulator.

use crate::check::{self, Exit, Options};
use crate::config::{Config, Secret};
use crate::resolve::Resolver;
use crate::simulator::{SimConfig, Simulator};
use std::io::Write;
use std::path::PathBuf;

/// The job whose hover card the demo shows.
const HOVER_EXAMPLE: &str = "Highway Upgrade 2024";

/// Where the examples are: the given folder, `./examples`, or the crate's own.
fn examples_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let local = PathBuf::from("examples");
        if local.is_dir() { local } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples") }
    })
}

pub async fn run(examples: Option<PathBuf>, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let sim_config = SimConfig::default();
    let token = sim_config.token.clone();
    let jobs = sim_config.jobs.len();
    let sim = Simulator::start(sim_config, 0).await?;
    let dir = examples_dir(examples);
    writeln!(out, "Started the 12d Synergy simulator at {} with {jobs} jobs.", sim.url())?;
    writeln!(out, "Checking {} against it, as `synergy-ls check` would:\n", dir.display())?;

    let config = Config { server_url: Some(sim.url()), token: Some(Secret::new(token.clone())), ..Config::default() };
    let resolver = Resolver::from_config(&config);
    let opts = Options { paths: vec![dir], include: Vec::new(), exclude: Vec::new() };
    let report = check::run(&opts, &config, &resolver).await.map_err(anyhow::Error::msg)?;
    check::render_human(&report, out)?;
    check::render_summary(&report, out)?;

    let resolved = resolver.resolve(HOVER_EXAMPLE).await;
    writeln!(out, "\nHovering job:\"{HOVER_EXAMPLE}\" in an editor shows this card:\n")?;
    for line in
        crate::present::hover(HOVER_EXAMPLE, &resolved, Some("https://synergy.example.com/web/#/jobs/{id}")).lines()
    {
        writeln!(out, "    {line}")?;
    }
    writeln!(
        out,
        "\n{} requests reached the simulator for {} references.\n\n\
         To try it in your editor, run a simulator and point synergy-ls at it:\n\n    \
         synergy-ls simulate --port 8765 &\n    \
         export SYNERGY_URL=http://127.0.0.1:8765 SYNERGY_TOKEN={token}\n\n\
         then open a Markdown file with job:Riverside in it (README: \"Install in your editor\").",
        sim.requests(),
        report.references
    )?;
    Ok(if report.unverified > 0 { Exit::Unverified } else { Exit::Clean })
}
