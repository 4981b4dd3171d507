//! `synergy-ls demo`: the README's "see it work" command. Starts the simulator in-process,
//! checks the example documents against it exactly as `check` would, prints the findings and
//! one hover card, and says how to point an editor at a simulator.
//!
//! The examples are built into the binary ([`EXAMPLES`]), so an installed `synergy-ls demo`
//! works anywhere: they are written to a temporary folder, checked there, and removed.
//! `--examples DIR` checks a folder of the user's instead.

use crate::check::{self, Exit, Options};
use crate::config::{Layers, Source};
use crate::resolve::Resolver;
use crate::settings::Assembler;
use crate::simulator::{SimConfig, Simulator};
use std::io::Write;
use std::path::PathBuf;

/// The job whose hover card the demo shows.
const HOVER_EXAMPLE: &str = "Highway Upgrade 2024";

/// The example documents (path under `examples/`, text), built in from the repository's
/// `examples/` folder.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("README.md", include_str!("../examples/README.md")),
    ("notes.txt", include_str!("../examples/notes.txt")),
    ("procedures/stormwater-design.md", include_str!("../examples/procedures/stormwater-design.md")),
];

/// The built-in examples written under a new temporary folder, removed on drop.
struct Unpacked(PathBuf);

impl Unpacked {
    fn new() -> std::io::Result<Unpacked> {
        let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let root = std::env::temp_dir().join(format!("synergy-ls-demo-{}-{nonce}", std::process::id()));
        for (rel, text) in EXAMPLES {
            let path = root.join("examples").join(rel);
            std::fs::create_dir_all(path.parent().unwrap_or(&root))?;
            std::fs::write(path, text)?;
        }
        Ok(Unpacked(root))
    }
}

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn run(examples: Option<PathBuf>, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let sim_config = SimConfig::default();
    let token = sim_config.token.clone();
    let jobs = sim_config.jobs.len();
    let sim = Simulator::start(sim_config, 0).await?;
    writeln!(out, "Started the 12d Synergy simulator at {} with {jobs} jobs.", sim.url())?;
    // The built-in examples are checked from their temporary folder, so the findings show the
    // paths as they are in the repository (`examples/…`).
    let (unpacked, paths, shown) = match examples {
        Some(dir) => (None, vec![dir.clone()], dir.display().to_string()),
        None => {
            let unpacked = Unpacked::new()?;
            let dir = unpacked.0.join("examples");
            (Some(unpacked), vec![dir], "the built-in examples (examples/ in the repository)".to_string())
        }
    };
    writeln!(out, "Checking {shown} against it, as `synergy-ls check` would:\n")?;

    let mut layers = Layers::default();
    // As if SYNERGY_URL and SYNERGY_TOKEN were set.
    // The simulator lives as long as the demo: its answers are not worth keeping on disk.
    layers.set(
        Source::Environment,
        serde_json::json!({ "serverUrl": sim.url(), "token": token, "cache": { "persist": false } }),
    );
    let settings = Assembler::default().assemble(&layers).await;
    let resolver = Resolver::from_config(&settings.config);
    let opts = Options { paths, include: Vec::new(), exclude: Vec::new() };
    let mut report = check::run(&opts, &settings, &resolver).await.map_err(anyhow::Error::msg)?;
    if let Some(unpacked) = &unpacked {
        // Shown relative to the temporary folder, with the platform's separators as `check`
        // shows them (`examples\\notes.txt` on Windows).
        for f in &mut report.findings {
            if let Ok(rel) = std::path::Path::new(&*f.path).strip_prefix(&unpacked.0) {
                f.path = rel.display().to_string().into();
            }
        }
    }
    check::render_human(&report, out)?;
    check::render_summary(&report, check::FixMode::Report, out)?;

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
         To try it in your editor, install synergy-ls (`cargo install --locked --path .` in the\n\
         repository puts it on your PATH), run a simulator and point synergy-ls at it:\n\n    \
         synergy-ls simulate --port 8765 &\n    \
         export SYNERGY_URL=http://127.0.0.1:8765 SYNERGY_TOKEN={token}\n\n\
         then start your editor from that shell and open a Markdown file with job:Riverside in it\n\
         (README: \"Install\", one section per editor).",
        sim.requests(),
        report.references
    )?;
    Ok(if report.unverified > 0 { Exit::Unverified } else { Exit::Clean })
}
