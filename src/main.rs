//! The `synergy-ls` binary: argv -> serve (stdio, the default) | check | demo | simulate.
//! Logs go to stderr (`SYNERGY_LOG` or `RUST_LOG`, default `warn`); exit codes are
//! `check::Exit`, documented in the README.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde_json::json;
use synergy_ls::api::Client;
use synergy_ls::check::{self, Exit, FixMode, Format, Options};
use synergy_ls::config::{self, Layers, Source};
use synergy_ls::resolve::Resolver;
use synergy_ls::settings::{Assembled, Assembler};
use synergy_ls::simulator::{self, Fault, MatchMode, SimConfig, Simulator};

/// mimalloc instead of glibc malloc: publishing diagnostics builds and frees many small JSON
/// nodes per edit, where glibc's malloc was the largest single cost (see the README's
/// "Performance" section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs before `main` and before the first allocation reserves mimalloc's arena, which is when
/// these options are read (`MIMALLOC_*` variables still override them). With mimalloc's
/// defaults the arena is committed eagerly and freed pages are purged after 1 s, so memory
/// freed after decoding responses stayed resident: 100,000 cached jobs cost 88 MB of RSS
/// instead of 53 MB, and an idle server 17 MB instead of 10 MB (README, "Performance").
/// Purging after 100 ms costs the edit latency about 0.3 ms at p50 (measured at 10 ms).
///
/// The pointer goes where each platform's C runtime finds start-up functions, as the `ctor`
/// crate places them: ELF's `.init_array`, Mach-O's `__mod_init_func`, and the MSVC/MinGW
/// CRT's `.CRT$XCU` table on Windows.
#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    unsafe(link_section = ".init_array")
)]
#[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
#[cfg_attr(windows, unsafe(link_section = ".CRT$XCU"))]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

extern "C" fn tune_allocator() {
    // mimalloc's options, as numbered by `mi_option_e` in the mimalloc 3 that
    // `libmimalloc-sys` (pinned in Cargo.lock) builds; that crate's own constants follow
    // mimalloc 2's numbering.
    const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: plain stores into mimalloc's option table, before any thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set_default(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 100);
    }
}

#[derive(Parser)]
#[command(name = "synergy-ls", version, about = "Live references to 12d Synergy jobs in text files")]
struct Cli {
    /// Serve LSP on stdin/stdout (the default; accepted, even twice, for clients that pass it).
    #[arg(long, action = clap::ArgAction::Count)]
    stdio: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the language server on stdin/stdout (the default).
    Serve {
        #[arg(long, action = clap::ArgAction::Count)]
        stdio: u8,
    },
    /// Check files for stale job references (exit 0 clean, 1 stale, 2 could not verify, 3 usage).
    Check {
        /// Files or folders (default: the current folder).
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write the safe fixes into the files (a case mismatch with one match, a job seen
        /// renamed), then report what remains. Nothing is written if any reference could not be
        /// verified.
        #[arg(long, conflicts_with = "diff")]
        fix: bool,
        /// Print the safe fixes as a unified diff instead of writing them (exit 1 if there are any).
        #[arg(long)]
        diff: bool,
        /// Also check files matching this glob, besides the documents (repeatable): source
        /// files in their comments, other files as prose.
        #[arg(long)]
        include: Vec<String>,
        /// Skip files matching this glob (repeatable).
        #[arg(long)]
        exclude: Vec<String>,
        /// Settings file for every path (default: for each path, the nearest .synergy.toml in
        /// its folder or above, up to the current folder).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server URL (overrides SYNERGY_URL and the settings file).
        #[arg(long)]
        server_url: Option<String>,
        /// Neither read nor write the persisted job cache (answers only from the server).
        #[arg(long, conflicts_with = "cache_dir")]
        no_cache: bool,
        /// Keep the persisted job cache in this folder (a CI cache step can keep it between
        /// runs); overrides cache.directory and SYNERGY_CACHE_DIR.
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// The persisted job cache: where it is, what it holds, and emptying it.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
        /// Settings file (default: ./.synergy.toml if present), for cache.directory.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// The cache folder (overrides cache.directory and SYNERGY_CACHE_DIR).
        #[arg(long, value_name = "DIR", global = true)]
        cache_dir: Option<PathBuf>,
    },
    /// Ask the server once whether the URL and token work (exit 0 connected, 2 not reachable or
    /// token rejected, 3 not configured).
    Status {
        #[arg(long, value_enum, default_value = "human")]
        format: StatusFormat,
        /// Settings file (default: ./.synergy.toml if present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server URL (overrides SYNERGY_URL and the settings file).
        #[arg(long)]
        server_url: Option<String>,
    },
    /// Start the simulator, check examples/ against it, and show a hover card.
    Demo {
        /// The folder to check (default: ./examples).
        #[arg(long)]
        examples: Option<PathBuf>,
    },
    /// Serve a local simulation of the 12d Synergy API on 127.0.0.1.
    Simulate {
        #[arg(long, default_value_t = 8765)]
        port: u16,
        #[arg(long, default_value = "demo-token")]
        token: String,
        /// A JSON array of Job objects to serve instead of the bundled dataset.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long = "match", value_enum, default_value = "contains")]
        match_mode: MatchMode,
        #[arg(long, default_value_t = 20)]
        max_page_size: u64,
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        #[arg(long, value_enum, default_value = "none")]
        fault: Fault,
    },
}

/// What `synergy-ls cache` does.
#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
enum CacheAction {
    /// Print the cache file's path.
    Path,
    /// Jobs, search terms and the oldest answer per server, and the size on disk.
    Stats {
        #[arg(long, value_enum, default_value = "human")]
        format: StatusFormat,
    },
    /// Delete every persisted answer (the editor's servers then ask the server again).
    Clear,
}

/// Output formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StatusFormat {
    Human,
    Json,
}

fn init_logging(default: &str) {
    let filter =
        std::env::var("SYNERGY_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| default.to_string());
    let filter =
        tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(synergy_ls::log::RedactingStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Panics are logged (to stderr, never stdout, which may be the protocol) with every known
/// token scrubbed from the message.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let message = config::redact(&payload);
        tracing::error!(at, "internal error: {message}");
        let _ = writeln!(std::io::stderr(), "synergy-ls: internal error at {at}: {message}");
    }));
}

/// A command line clap could not take: its message as clap prints it, and exit code 3
/// ([`Exit::Usage`]), not clap's 2, which `check` documents as "could not verify". `--help`
/// and `--version` are not errors: they print to stdout and exit 0.
fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() { ExitCode::from(Exit::Usage as u8) } else { ExitCode::SUCCESS }
}

fn main() -> ExitCode {
    install_panic_hook();
    // SAFETY: mi_collect only walks mimalloc's own heaps, the global allocator here.
    synergy_ls::lsp::set_memory_release(|| unsafe { libmimalloc_sys::mi_collect(true) });
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "synergy-ls: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            None | Some(Command::Serve { .. }) => {
                init_logging("warn");
                let _ = cli.stdio;
                // The LSP session's own exit code: 0 after `shutdown`, else 1.
                synergy_ls::lsp::serve_stdio().await
            }
            // Batch commands say what went wrong in their own words, once; logs below `error`
            // would repeat it (SYNERGY_LOG shows them).
            Some(Command::Check {
                paths,
                format,
                fix,
                diff,
                include,
                exclude,
                config,
                server_url,
                no_cache,
                cache_dir,
            }) => {
                init_logging("error");
                let mode = match (fix, diff) {
                    (true, _) => FixMode::Write,
                    (_, true) => FixMode::Diff,
                    _ => FixMode::Report,
                };
                let cache = match (no_cache, cache_dir) {
                    (true, _) => CacheChoice::Off,
                    (_, Some(dir)) => CacheChoice::At(dir),
                    _ => CacheChoice::Settings,
                };
                run_check(Options { paths, include, exclude }, format, mode, cache, config, server_url).await as u8
            }
            Some(Command::Cache { action, config, cache_dir }) => {
                init_logging("error");
                run_cache(action, config, cache_dir).await as u8
            }
            Some(Command::Status { format, config, server_url }) => {
                init_logging("error");
                run_status(format, config, server_url).await as u8
            }
            Some(Command::Demo { examples }) => {
                init_logging("error");
                let mut out = std::io::stdout().lock();
                match synergy_ls::demo::run(examples, &mut out).await {
                    Ok(exit) => exit as u8,
                    Err(e) => {
                        let _ = writeln!(std::io::stderr(), "synergy-ls demo: {e:#}");
                        Exit::Usage as u8
                    }
                }
            }
            Some(Command::Simulate { port, token, data, match_mode, max_page_size, latency_ms, fault }) => {
                init_logging("info");
                run_simulator(port, token, data, match_mode, max_page_size, latency_ms, fault).await as u8
            }
        }
    });
    // Lookups still in flight must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(exit)
}

/// The settings for a command-line run: `--config` (or `./.synergy.toml`), the environment and
/// `--server-url`, assembled as the server assembles them (`settings::Assembler`). Warnings go
/// to stderr; an error (unreadable settings file, failed `tokenCommand`, bad pattern) is exit 3.
async fn cli_config(config_file: Option<PathBuf>, server_url: Option<String>) -> Result<Assembled, Exit> {
    let layers = cli_layers(config_file, server_url)?;
    assemble_or_exit(&Assembler::default(), &layers, &mut std::collections::HashSet::new()).await
}

/// Assembles `layers`; warnings go to stderr (those not in `told`, which are added to it), an
/// error is exit 3.
async fn assemble_or_exit(
    assembler: &Assembler,
    layers: &Layers,
    told: &mut std::collections::HashSet<String>,
) -> Result<Assembled, Exit> {
    let mut stderr = std::io::stderr();
    let assembled = assembler.assemble(layers).await;
    for w in &assembled.warnings {
        if told.insert(w.clone()) {
            let _ = writeln!(stderr, "warning: {w}");
        }
    }
    if let Some(e) = assembled.errors.first() {
        let _ = writeln!(stderr, "error: {e}");
        return Err(Exit::Usage);
    }
    Ok(assembled)
}

/// The settings layers of a command-line run: the settings file (`--config`, else
/// `./.synergy.toml` if there is one), the environment and `--server-url`. An unreadable
/// settings file is exit 3.
fn cli_layers(config_file: Option<PathBuf>, server_url: Option<String>) -> Result<Layers, Exit> {
    let file = match &config_file {
        Some(path) => config::file_layer_at(path).map(Some),
        None => config::file_layer(std::path::Path::new(".")),
    };
    layers_from(file, config_file.as_deref(), server_url)
}

/// [`cli_layers`] with this settings file (`None`: no file).
fn layers_with(file: Option<&std::path::Path>, server_url: Option<String>) -> Result<Layers, Exit> {
    layers_from(file.map(config::file_layer_at).transpose(), file, server_url)
}

/// The layers: the settings file as read (`named` by messages as given, when given), the
/// environment and `--server-url`.
fn layers_from(
    file: Result<Option<serde_json::Value>, String>,
    named: Option<&std::path::Path>,
    server_url: Option<String>,
) -> Result<Layers, Exit> {
    let mut layers = Layers { file_name: named.map(|p| p.display().to_string()), ..Layers::default() };
    match file {
        Ok(Some(v)) => layers.set(Source::File, v),
        Ok(None) => {}
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return Err(Exit::Usage);
        }
    }
    layers.set(Source::Environment, config::env_layer(|k| std::env::var(k).ok()));
    if let Some(url) = server_url {
        layers.set(Source::CommandLine, json!({ "serverUrl": url }));
    }
    Ok(layers)
}

/// The paths to check grouped by the settings file that applies to each: the nearest
/// `.synergy.toml` in the path's folder or a folder above it, up to the current folder (or,
/// for a path outside it, the top of its file system); `None` when there is none. Groups and
/// paths keep the order the paths were given in; no path is the current folder.
fn by_settings_file(paths: &[PathBuf]) -> Vec<(Option<PathBuf>, Vec<PathBuf>)> {
    let cwd = std::env::current_dir().ok();
    let given: Vec<PathBuf> = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    let mut groups: Vec<(Option<PathBuf>, Vec<PathBuf>)> = Vec::new();
    for path in given {
        let file = settings_file_for(&path, cwd.as_deref());
        match groups.iter_mut().find(|(f, _)| *f == file) {
            Some((_, paths)) => paths.push(path),
            None => groups.push((file, vec![path])),
        }
    }
    // The current folder alone keeps the run's own way of naming its files.
    if paths.is_empty() {
        for (_, group) in &mut groups {
            group.clear();
        }
    }
    groups
}

/// The nearest `.synergy.toml` for `path` (see [`by_settings_file`]).
fn settings_file_for(path: &std::path::Path, cwd: Option<&std::path::Path>) -> Option<PathBuf> {
    let dir = if path.is_dir() { path.to_path_buf() } else { path.parent().map(PathBuf::from).unwrap_or_default() };
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    let absolute = std::path::absolute(&dir).ok()?;
    let inside = cwd.is_some_and(|cwd| absolute.starts_with(cwd));
    let mut at = absolute.as_path();
    loop {
        let file = at.join(config::CONFIG_FILE);
        if file.is_file() {
            // Said as the user would: relative to the current folder when inside it.
            return Some(cwd.and_then(|cwd| file.strip_prefix(cwd).ok().map(PathBuf::from)).unwrap_or(file));
        }
        if inside && cwd == Some(at) {
            return None;
        }
        at = at.parent()?;
    }
}

/// Paths for a message: `docs, ops`.
fn shown_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return ".".into();
    }
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Where `check` keeps the persisted cache: as the settings say, nowhere, or in a folder.
enum CacheChoice {
    Settings,
    Off,
    At(PathBuf),
}

async fn run_check(
    opts: Options,
    format: Format,
    mode: FixMode,
    cache: CacheChoice,
    config_file: Option<PathBuf>,
    server_url: Option<String>,
) -> Exit {
    let mut stderr = std::io::stderr();
    // Each path with the settings file that applies to it (`--config`, else the nearest
    // `.synergy.toml`), as the server gives each workspace folder its own: one run per file.
    let groups = match config_file {
        Some(file) => vec![(Some(file), opts.paths.clone())],
        None => by_settings_file(&opts.paths),
    };
    let several = groups.len() > 1;
    let assembler = Assembler::default();
    let mut told = std::collections::HashSet::new();
    let mut report = check::Report::default();
    let mut resolvers: Vec<(_, std::sync::Arc<Resolver>)> = Vec::new();
    for (file, paths) in groups {
        let layers = match layers_with(file.as_deref(), server_url.clone()) {
            Ok(layers) => layers,
            Err(exit) => return exit,
        };
        let mut settings = match assemble_or_exit(&assembler, &layers, &mut told).await {
            Ok(c) => c,
            Err(exit) => return exit,
        };
        match &cache {
            CacheChoice::Settings => {}
            CacheChoice::Off => settings.resolver.persist = None,
            CacheChoice::At(dir) => settings.resolver.persist = Some(dir.clone()),
        }
        let which = match (&file, several) {
            (Some(file), true) => format!(" (for {}, by {})", shown_paths(&paths), file.display()),
            (None, true) => format!(" (for {}, with no settings file)", shown_paths(&paths)),
            _ => String::new(),
        };
        // Groups with the same server, token and tunables share a resolver (its cache: a name
        // in both is asked once), as workspace folders do in the server. One HTTP client per
        // resolver (building one loads the system's root certificates).
        let key = (settings.client.clone(), settings.resolver.clone());
        let resolver = match resolvers.iter().find(|(k, _)| *k == key) {
            Some((_, resolver)) => std::sync::Arc::clone(resolver),
            None => {
                let client = Client::new(&settings.client);
                if let Some(err) = client.config_error() {
                    let why = synergy_ls::present::unavailable_reason(&err.to_unavailable());
                    let _ = writeln!(stderr, "error: {why}{which}");
                    return Exit::Usage;
                }
                let clock = std::sync::Arc::new(synergy_ls::resolve::clock::SystemClock);
                let resolver = Resolver::new(client, settings.resolver.clone(), clock);
                resolvers.push((key, std::sync::Arc::clone(&resolver)));
                resolver
            }
        };
        let opts = Options { paths, ..opts.clone() };
        match check::run(&opts, &settings, &resolver).await {
            Ok(r) => report.merge(r),
            Err(e) => {
                let _ = writeln!(stderr, "error: {e}{which}");
                return Exit::Usage;
            }
        }
    }
    // Buffered: thousands of findings are thousands of lines, not thousands of writes.
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    // Once for every group: nothing is written while any reference could not be verified.
    let _ = check::apply_fixes(&mut report, mode, &mut stdout, &mut stderr);
    // With --diff, standard output is the patch alone.
    let written = match (mode, format) {
        (FixMode::Diff, _) => Ok(()),
        (_, Format::Human) => check::render_human(&report, &mut stdout),
        (_, Format::Json) => check::render_json(&report, &mut stdout),
        (_, Format::Sarif) => check::render_sarif(&report, &mut stdout),
        (_, Format::Github) => check::render_github(&report, &mut stdout),
    };
    let _ = written.and_then(|_| stdout.flush());
    let _ = check::render_summary(&report, mode, &mut stderr);
    for (_, resolver) in resolvers {
        resolver.flush_cache();
        for w in resolver.take_cache_warnings() {
            if told.insert(w.clone()) {
                let _ = writeln!(stderr, "warning: {w}");
            }
        }
    }
    match mode {
        FixMode::Diff if report.fixed.0 > 0 => Exit::Stale,
        _ => report.exit_for(mode),
    }
}

/// `synergy-ls cache path|stats|clear`. The folder is `--cache-dir`, else the settings'
/// `cache.directory`, else `SYNERGY_CACHE_DIR`, else the platform's (as the server finds it).
async fn run_cache(action: CacheAction, config_file: Option<PathBuf>, cache_dir: Option<PathBuf>) -> Exit {
    use synergy_ls::resolve::persist;
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let dir = match cache_dir {
        Some(dir) => Some(dir),
        // The layers alone: no `tokenCommand` runs to find a folder.
        None => match cli_layers(config_file, None) {
            Ok(layers) => persist::cache_dir(layers.build().0.cache.directory.as_deref()),
            Err(exit) => return exit,
        },
    };
    let Some(dir) = dir else {
        let _ = writeln!(stderr, "error: no cache folder: set SYNERGY_CACHE_DIR or cache.directory");
        return Exit::Usage;
    };
    match action {
        CacheAction::Path => {
            let _ = writeln!(stdout, "{}", dir.join(persist::FILE_NAME).display());
            Exit::Clean
        }
        CacheAction::Stats { format } => match persist::stats(&dir) {
            Ok((servers, size)) => {
                let _ = match format {
                    StatusFormat::Json => writeln!(
                        stdout,
                        "{}",
                        json!({ "path": dir.join(persist::FILE_NAME), "sizeBytes": size, "servers": servers })
                    ),
                    StatusFormat::Human => {
                        let _ = writeln!(
                            stdout,
                            "{} ({:.1} MB)",
                            dir.join(persist::FILE_NAME).display(),
                            size as f64 / 1e6
                        );
                        if servers.is_empty() {
                            let _ = writeln!(stdout, "no answers kept");
                        }
                        for s in &servers {
                            let oldest = s.oldest_ms.map_or_else(String::new, |ms| {
                                let now = std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .map_or(0, |d| d.as_millis() as i64);
                                let age = Duration::from_millis(now.saturating_sub(ms).max(0) as u64);
                                format!(", oldest answer {}", synergy_ls::present::checked_ago(age))
                            });
                            let _ = writeln!(stdout, "{}: {} jobs, {} search terms{oldest}", s.server, s.jobs, s.terms);
                        }
                        Ok(())
                    }
                };
                Exit::Clean
            }
            Err(e) => {
                let _ = writeln!(stderr, "error: the cache {} cannot be read: {e}", dir.display());
                Exit::Unverified
            }
        },
        CacheAction::Clear => match persist::clear(&dir) {
            Ok(jobs) => {
                let _ = writeln!(stdout, "cleared {jobs} jobs from {}", dir.join(persist::FILE_NAME).display());
                Exit::Clean
            }
            Err(e) => {
                let _ = writeln!(stderr, "error: the cache {} cannot be cleared: {e}", dir.display());
                Exit::Unverified
            }
        },
    }
}

/// `synergy-ls status`: one search request, reported like the editor's status item.
async fn run_status(format: StatusFormat, config_file: Option<PathBuf>, server_url: Option<String>) -> Exit {
    use synergy_ls::present::{StatusState, status};
    let settings = match cli_config(config_file, server_url).await {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let client = Client::new(&settings.client);
    let started = std::time::Instant::now();
    let health = match client.config_error() {
        Some(err) => synergy_ls::model::Health::Unavailable(err.to_unavailable()),
        None => match client.search("a", 1, 1).await {
            Ok(_) => synergy_ls::model::Health::Connected,
            Err(err) => synergy_ls::model::Health::Unavailable(err.to_unavailable()),
        },
    };
    let elapsed = started.elapsed();
    // What the editor's workspace index would hold for this folder.
    let indexed = tokio::task::spawn_blocking({
        let settings = settings.clone();
        move || {
            let root = std::path::Path::new(".");
            let rules = synergy_ls::workspace::Rules::for_workspace(root, &settings.config).ok()?;
            let (progress, cancel) = Default::default();
            let max = settings.config.workspace.max_files;
            let built = synergy_ls::workspace::index::build(
                root,
                &rules,
                &settings.scanner,
                synergy_ls::line_index::Encoding::Utf32,
                max,
                &progress,
                &cancel,
            );
            let references: usize = built.files.iter().map(|f| f.1.refs.len()).sum();
            Some((built.files.len(), references, built.truncated))
        }
    })
    .await
    .ok()
    .flatten();
    let server = client.origin().as_deref().and_then(synergy_ls::api::client::host_of);
    let (state, mut message) = status(&health, None, server.as_deref().unwrap_or(""));
    // A command that has ended says what to do, not what it will do next ("retrying in 1 s").
    if let synergy_ls::model::Health::Unavailable(why) = &health {
        message = synergy_ls::present::unavailable_reason_batch(why);
    }
    let mut out = std::io::stdout().lock();
    let _ = match format {
        StatusFormat::Json => writeln!(
            out,
            "{}",
            json!({"state": state.as_str(), "server": server, "message": message, "elapsedMs": elapsed.as_millis() as u64,
                   "indexed": indexed.map(|(files, references, _)| json!({"files": files, "references": references}))})
        ),
        StatusFormat::Human if state == StatusState::Connected => {
            writeln!(out, "{} (answered in {} ms).", message.trim_end_matches('.'), elapsed.as_millis())
        }
        StatusFormat::Human => writeln!(out, "{}: {message}", state.as_str()),
    };
    if format == StatusFormat::Human
        && let Some((files, references, truncated)) = indexed
    {
        let more = if truncated { " (workspace.maxFiles reached)" } else { "" };
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let _ = writeln!(
            out,
            "Workspace: {} in {} here{more}.",
            plural(references, "job reference"),
            plural(files, "file")
        );
    }
    match state {
        StatusState::Connected => Exit::Clean,
        StatusState::NotConfigured => Exit::Usage,
        _ => Exit::Unverified,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_simulator(
    port: u16,
    token: String,
    data: Option<PathBuf>,
    match_mode: MatchMode,
    max_page_size: u64,
    latency_ms: u64,
    fault: Fault,
) -> Exit {
    let mut stderr = std::io::stderr();
    let jobs = match data {
        Some(path) => match simulator::load_jobs(&path) {
            Ok(jobs) => jobs,
            Err(e) => {
                let _ = writeln!(stderr, "error: {e}");
                return Exit::Usage;
            }
        },
        None => simulator::data::bundled_jobs(),
    };
    let count = jobs.len();
    let config =
        SimConfig { token, match_mode, max_page_size, latency: Duration::from_millis(latency_ms), fault, jobs };
    let sim = match Simulator::start(config, port).await {
        Ok(sim) => sim,
        Err(e) => {
            let _ = writeln!(stderr, "error: cannot listen on 127.0.0.1:{port}: {e}");
            return Exit::Usage;
        }
    };
    tracing::info!(url = %sim.url(), jobs = count, "12d Synergy simulator listening; Ctrl-C to stop");
    let _ = writeln!(stderr, "12d Synergy simulator at {} ({count} jobs). Ctrl-C to stop.", sim.url());
    let _ = tokio::signal::ctrl_c().await;
    Exit::Clean
}
