//! Words and Markdown for people: hover cards, diagnostic messages, health messages and web
//! links. Pure functions over `model` types, shared by the language server, `check` and `demo`,
//! so every surface says the same thing the same way. Nothing here can see the token.

use std::time::Duration;

use crate::model::{DiagnosticCode, Health, Job, Resolution, Unavailable};
use crate::resolve::Resolved;

/// Markdown for hovering a reference.
pub fn hover(name: &str, resolved: &Resolved, web_url_template: Option<&str>) -> String {
    let checked = checked_note(resolved).unwrap_or_default();
    match &resolved.resolution {
        Resolution::Found(job) => job_card(job, checked_note(resolved), web_url_template),
        Resolution::Ambiguous(jobs) => {
            let mut s = format!("### {} jobs match `{}`\n\nUse a path to say which one:\n\n", jobs.len(), code(name));
            for job in jobs {
                s.push_str(&format!("- `{}` (ID `{}`)\n", code(job.path()), job.id));
            }
            s.push_str(&format!("\n_{checked}_"));
            s
        }
        Resolution::CaseMismatch(jobs) => {
            let names: Vec<String> =
                jobs.iter().map(|j| format!("`{}`", code(crate::model::match_key(j, name)))).collect();
            format!(
                "### No job `{}`\n\nThe server has {} (different case).\n\n_{checked}_",
                code(name),
                names.join(", ")
            )
        }
        Resolution::Unknown { suggestions, renamed: true } => format!(
            "### Unknown job `{}`\n\nThis job was renamed or moved: it is now `{}`.\n\n_{checked}_",
            code(name),
            code(crate::model::match_key(&suggestions[0], name))
        ),
        Resolution::Unknown { suggestions, .. } => {
            let mut s = format!("### Unknown job `{}`\n\nNo job with this name exists on the server.", code(name));
            if !suggestions.is_empty() {
                let names: Vec<String> =
                    suggestions.iter().map(|j| format!("`{}`", code(crate::model::match_key(j, name)))).collect();
                s.push_str(&format!(" Did you mean {}?", names.join(", ")));
            }
            s.push_str(&format!("\n\n_{checked}_"));
            s
        }
        Resolution::Unavailable(why) => {
            format!("### `{}` not checked\n\n{}", code(name), unavailable_reason(why))
        }
    }
}

/// Markdown for a hover whose lookup has not finished in time.
pub fn pending(name: &str) -> String {
    format!("### `{}`\n\nStill waiting for the 12d Synergy server…", code(name))
}

/// "checked 3 days ago", and why it was not checked again when the answer is stale and the
/// server could not be asked ("checked 3 days ago · server unreachable"); `None` when the
/// age is unknown.
pub fn checked_note(resolved: &Resolved) -> Option<String> {
    let mut note = checked_ago(resolved.age?);
    if let Some(why) = &resolved.stale_because {
        note.push_str(" · ");
        note.push_str(match why {
            Unavailable::NotConfigured | Unavailable::BadUrl(_) => "server not configured",
            Unavailable::NoToken => "no token",
            Unavailable::Unreachable(_) => "server unreachable",
            Unavailable::TokenRejected(_) => "token rejected",
            Unavailable::RateLimited(_) => "server rate-limiting",
            Unavailable::ServerError(_) | Unavailable::BadResponse(_) => "server failing",
        });
    }
    Some(note)
}

/// The card for one job: used by hover and by completion documentation. `checked` is the
/// footer's note on the answer's age ([`checked_note`]).
pub fn job_card(job: &Job, checked: Option<String>, web_url_template: Option<&str>) -> String {
    let mut s = format!("### {}\n\n", escape(job.name()));
    let mut facts = vec![format!("`{}`", code(job.path())), format!("ID `{}`", job.id)];
    if let Some(t) = &job.job_type {
        facts.push(format!("{} job", escape(t)));
    }
    s.push_str(&facts.join(" · "));
    s.push('\n');
    let created = match (&job.created(), &job.creator) {
        (Some(d), Some(c)) => Some(format!("Created {} by {}", display_date(d), escape(c))),
        (Some(d), None) => Some(format!("Created {}", display_date(d))),
        (None, Some(c)) => Some(format!("Created by {}", escape(c))),
        (None, None) => None,
    };
    if let Some(created) = created {
        s.push_str(&format!("\n{created}  \n"));
    }
    let counts: Vec<String> = [
        (job.sub_jobs(), "sub-job", "sub-jobs"),
        (job.folders(), "folder", "folders"),
        (job.td_jobs(), "12d job", "12d jobs"),
        (job.notes(), "note", "notes"),
    ]
    .into_iter()
    .filter_map(|(n, one, many)| n.map(|n| format!("{n} {}", if n == 1 { one } else { many })))
    .collect();
    if !counts.is_empty() {
        if job.created().is_none() && job.creator.is_none() {
            s.push('\n');
        }
        s.push_str(&counts.join(" · "));
        s.push('\n');
    }
    if !job.description().is_empty() {
        s.push_str("\n---\n\n");
        s.push_str(&description_markdown(job.description()));
        s.push('\n');
    }
    let mut footer = Vec::new();
    if let Some(url) = web_url_template.and_then(|t| web_url(t, job)) {
        footer.push(format!("[Open in 12d Synergy]({url})"));
    }
    if let Some(checked) = checked {
        footer.push(format!("_{checked}_"));
    }
    if !footer.is_empty() {
        s.push_str(&format!("\n{}", footer.join(" · ")));
    }
    s.trim_end().to_string()
}

/// Markdown as plain text, for clients that declare they cannot render Markdown: the text of
/// every block on its own line, code without backticks, links as `text (url)`, a thematic
/// break as a blank line. Parsed with the same CommonMark parser the scanner uses.
pub fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    let mut links: Vec<String> = Vec::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::Start(Tag::Item) => out.push_str("- "),
            // A block ends in a blank line (one, however many blocks end at once).
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) | Event::Rule => {
                out.truncate(out.trim_end_matches('\n').len());
                out.push_str("\n\n");
            }
            _ => {}
        }
    }
    out.trim_end().to_string()
}

/// The one-line message of a diagnostic, `None` for verdicts that are not problems.
pub fn diagnostic_message(name: &str, resolution: &Resolution) -> Option<String> {
    let to = resolution.replacements(name);
    let quoted = || to.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
    Some(match resolution {
        Resolution::Found(_) | Resolution::Unavailable(_) => return None,
        Resolution::Unknown { .. } if to.is_empty() => format!("Unknown 12d Synergy job \"{name}\""),
        Resolution::Unknown { renamed: true, .. } => {
            format!("12d Synergy job \"{name}\" was renamed or moved; it is now \"{}\"", to[0])
        }
        Resolution::Unknown { .. } => format!("Unknown 12d Synergy job \"{name}\"; did you mean {}?", quoted()),
        Resolution::Ambiguous(jobs) => format!("{} jobs are named \"{name}\": {}; use a path", jobs.len(), quoted()),
        Resolution::CaseMismatch(_) => format!("No job \"{name}\", but \"{}\" differs only in case", to[0]),
    })
}

/// What a diagnostic code means, for rule descriptions (SARIF `shortDescription` and `help`):
/// `(short description, help text)`.
pub fn rule_help(code: DiagnosticCode) -> (&'static str, &'static str) {
    match code {
        DiagnosticCode::UnknownJob => (
            "Reference to a 12d Synergy job that does not exist",
            "No job on the 12d Synergy server has this name or path: it was renamed, moved or deleted, \
             or the name is misspelled. When synergy-ls saw the same job under a new name, `check --fix` \
             writes the new name; otherwise choose one of the suggested names.",
        ),
        DiagnosticCode::AmbiguousJob => (
            "Reference to a job name that several 12d Synergy jobs share",
            "Several jobs on the 12d Synergy server have this name. Write the job's path \
             (job:\"Region A/Drainage\") so the reference names one job.",
        ),
        DiagnosticCode::CaseMismatch => (
            "Reference to a 12d Synergy job written in another case",
            "A job with this name exists, but its name is written with other capital letters. \
             `check --fix` writes the job's own spelling when exactly one job matches.",
        ),
    }
}

/// What fixing the workspace did, for the editor's message: `Fixed 37 references in 12
/// files; 3 need a choice`, with what could not be checked and why.
pub fn fix_summary(
    fixed: usize,
    files: usize,
    need_choice: usize,
    unverified: Option<(usize, &Unavailable)>,
) -> String {
    let n = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut out = if fixed == 0 {
        "Nothing could be fixed without a choice".to_string()
    } else {
        format!("Fixed {} in {}", n(fixed, "reference"), n(files, "file"))
    };
    if need_choice > 0 {
        out.push_str(&format!("; {need_choice} need{} a choice", if need_choice == 1 { "s" } else { "" }));
    }
    if let Some((count, why)) = unverified {
        out.push_str(&format!("; {} not checked: {}", n(count, "reference"), unavailable_reason_batch(why)));
    } else if fixed == 0 && need_choice == 0 {
        return "No job reference in the workspace needs fixing.".into();
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Why a rename to `new_name` was refused, given what the server says of it (`None` when it
/// is fine: exactly one job).
pub fn rename_refusal(new_name: &str, resolution: &Resolution) -> Option<String> {
    let to = resolution.replacements(new_name);
    let quoted = || to.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
    Some(match resolution {
        Resolution::Found(_) => return None,
        Resolution::Unknown { .. } if to.is_empty() => {
            format!("No 12d Synergy job is named \"{new_name}\": a reference can only be renamed to an existing job.")
        }
        Resolution::Unknown { .. } => format!(
            "No 12d Synergy job is named \"{new_name}\" (did you mean {}?): a reference can only be renamed to an existing job.",
            quoted()
        ),
        Resolution::Ambiguous(jobs) => {
            format!("{} jobs are named \"{new_name}\": {}. Rename to a path to name one of them.", jobs.len(), quoted())
        }
        Resolution::CaseMismatch(_) => format!("No job is named \"{new_name}\"; did you mean {}?", quoted()),
        Resolution::Unavailable(why) => format!("Cannot check \"{new_name}\": {}", unavailable_reason_batch(why)),
    })
}

/// Why a reference could not be checked, in one sentence with what to do.
pub fn unavailable_reason(why: &Unavailable) -> String {
    match why {
        Unavailable::NotConfigured => {
            "No 12d Synergy server is configured: set `SYNERGY_URL` or the `serverUrl` setting.".into()
        }
        Unavailable::NoToken => {
            "No Personal Access Token is set: set `SYNERGY_TOKEN` in the environment or the `tokenCommand` setting."
                .into()
        }
        Unavailable::BadUrl(m) => format!("The connection settings cannot be used: {m}."),
        Unavailable::Unreachable(d) => format!("The 12d Synergy server is unreachable ({d})."),
        Unavailable::TokenRejected(s) => format!(
            "The server rejected the Personal Access Token (HTTP {s}). PATs expire after at most 180 days or can be \
             revoked: create a new one in 12d Synergy Web › Profile › Personal Access Tokens and set it."
        ),
        Unavailable::RateLimited(Some(s)) => format!("The server is rate-limiting requests; retrying in {s} s."),
        Unavailable::RateLimited(None) => "The server is rate-limiting requests; retrying shortly.".into(),
        Unavailable::ServerError(s) => format!("The 12d Synergy server answered with an error (HTTP {s})."),
        Unavailable::BadResponse(d) => {
            format!("The server's answer was not understood ({d}); check that serverUrl points at 12d Synergy.")
        }
    }
}

/// [`unavailable_reason`] for a run that has ended (`check`): it says what to do, not what the
/// server will do next ("retrying in 1 s" is true only of a server that keeps running).
pub fn unavailable_reason_batch(why: &Unavailable) -> String {
    match why {
        Unavailable::RateLimited(_) => "The server is rate-limiting requests; try again later.".into(),
        Unavailable::Unreachable(d) => {
            format!(
                "The 12d Synergy server is unreachable ({d}); check the URL and your connection (VPN), then try again."
            )
        }
        other => unavailable_reason(other),
    }
}

/// How loudly to tell the user about a health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Info,
}

/// The message for entering a health state; `previous` decides whether "connected" is news.
pub fn health_message(health: &Health, previous: &Health, server: &str) -> Option<(Level, String)> {
    let server = if server.is_empty() { "the server".to_string() } else { server.to_string() };
    match health {
        Health::Idle => None,
        Health::Connected => matches!(previous, Health::Unavailable(_))
            .then(|| (Level::Info, format!("synergy-ls: connected to {server}. Job references are checked again."))),
        Health::Unavailable(why) => {
            let level = match why {
                Unavailable::TokenRejected(_) | Unavailable::BadUrl(_) => Level::Error,
                _ => Level::Warning,
            };
            let tail = match state_of(why) {
                StatusState::NotConfigured => " Job references are not checked until then.",
                StatusState::TokenRejected => " Job references are not checked (none is reported unknown) until then.",
                _ => " Job references are not checked (none is reported unknown); synergy-ls retries by itself.",
            };
            Some((level, format!("synergy-ls: {}{tail}", unavailable_reason(why))))
        }
    }
}

/// The connection state the editor's status item shows (`synergy/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    /// The last request was answered.
    Connected,
    /// Configured, nothing asked yet.
    Idle,
    /// Unreachable, failing, rate-limiting or answering garbage; retried by itself.
    Offline,
    /// 401/403: the PAT must be replaced.
    TokenRejected,
    /// No server URL, no token, or an unusable URL.
    NotConfigured,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Connected => "connected",
            StatusState::Idle => "idle",
            StatusState::Offline => "offline",
            StatusState::TokenRejected => "tokenRejected",
            StatusState::NotConfigured => "notConfigured",
        }
    }
}

/// The status item's state and its one-paragraph explanation (which says what to do).
/// `config_problem` is why no request can be made at all, known before any is tried.
pub fn status(health: &Health, config_problem: Option<&Unavailable>, host: &str) -> (StatusState, String) {
    let host = if host.is_empty() { "the server" } else { host };
    let why = match (config_problem, health) {
        (Some(why), _) | (None, Health::Unavailable(why)) => why,
        (None, Health::Connected) => return (StatusState::Connected, format!("Connected to {host}.")),
        (None, Health::Idle) => {
            return (StatusState::Idle, format!("Ready; {host} is asked when a job reference needs checking."));
        }
    };
    (state_of(why), unavailable_reason(why))
}

/// The status of several servers (workspace folders that name different servers) as one:
/// the state that most needs the user (not configured, then a rejected token, offline, idle,
/// connected), and each server's explanation, said with its label (its host, or the folders
/// that name none) when it is not connected. `parts` holds each server's state, explanation
/// and label; one part is returned as it is.
pub fn status_of_servers(parts: &[(StatusState, String, String)]) -> (StatusState, String) {
    let rank = |s: StatusState| match s {
        StatusState::NotConfigured => 4,
        StatusState::TokenRejected => 3,
        StatusState::Offline => 2,
        StatusState::Idle => 1,
        StatusState::Connected => 0,
    };
    match parts {
        [] => (StatusState::Idle, String::new()),
        [(state, message, _)] => (*state, message.clone()),
        _ => {
            let state = parts.iter().map(|p| p.0).max_by_key(|s| rank(*s)).unwrap_or(StatusState::Idle);
            let host = |h: &str| if h.is_empty() { "the server".to_string() } else { h.to_string() };
            let fine = |state: StatusState| -> Vec<String> {
                parts.iter().filter(|p| p.0 == state).map(|p| host(&p.2)).collect()
            };
            let (idle, connected) = (fine(StatusState::Idle), fine(StatusState::Connected));
            let mut said: Vec<String> = parts
                .iter()
                .filter(|p| p.0 != StatusState::Connected && p.0 != StatusState::Idle)
                .map(|(_, message, h)| format!("{}: {message}", host(h)))
                .collect();
            match idle.as_slice() {
                [] => {}
                [one] => said.push(format!("Ready; {one} is asked when a job reference needs checking.")),
                many => {
                    said.push(format!("Ready; {} are asked when a job reference needs checking.", many.join(" and ")))
                }
            }
            if !connected.is_empty() {
                said.push(format!("Connected to {}.", connected.join(" and ")));
            }
            (state, said.join(" "))
        }
    }
}

/// The one classification of problems: the user must configure something, replace the token,
/// or wait (the server is offline, failing or rate-limiting, and synergy-ls retries by itself).
pub fn state_of(why: &Unavailable) -> StatusState {
    match why {
        Unavailable::NotConfigured | Unavailable::NoToken | Unavailable::BadUrl(_) => StatusState::NotConfigured,
        Unavailable::TokenRejected(_) => StatusState::TokenRejected,
        _ => StatusState::Offline,
    }
}

/// The web client link for a job, from `webUrlTemplate` (`{id}`, `{name}`, `{path}`).
pub fn web_url(template: &str, job: &Job) -> Option<String> {
    if template.trim().is_empty() {
        return None;
    }
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
    Some(
        template
            .replace("{id}", &enc(&job.id.0))
            .replace("{name}", &enc(job.name()))
            .replace("{path}", &enc(job.path()).replace("%2F", "/")),
    )
}

/// "checked just now", "checked 2 min ago", "checked 3 h ago", "checked 3 days ago".
pub fn checked_ago(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..=9 => "checked just now".into(),
        10..=59 => format!("checked {s} s ago"),
        60..=3599 => format!("checked {} min ago", s / 60),
        3600..=172_799 => format!("checked {} h ago", s / 3600),
        _ => format!("checked {} days ago", s / 86_400),
    }
}

/// `2024-12-17T22:51:58.097` -> `2024-12-17 22:51`; anything else is shown as it came.
fn display_date(d: &str) -> String {
    match d.split_once('T') {
        Some((date, time)) if date.len() == 10 && time.len() >= 5 => format!("{date} {}", &time[..5]),
        _ => escape(d),
    }
}

/// A plain-text description as Markdown: paragraphs kept, line breaks kept, markup escaped.
fn description_markdown(text: &str) -> String {
    text.split("\n\n")
        .map(|para| para.lines().map(escape).collect::<Vec<_>>().join("  \n"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Escapes Markdown syntax in text from the server.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar, after
/// Howard Hinnant's `civil_from_days`: for the status item's time and the simulator's dates.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Text inside a code span: backticks cannot be escaped there, so they are replaced.
fn code(s: &str) -> String {
    s.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn present_hover_has(resolved: &Resolved, text: &str) -> bool {
        hover("Riverside", resolved, None).contains(text)
    }
    use crate::model::JobParts;
    use expect_test::expect;
    use std::sync::Arc;

    fn job() -> Job {
        Job::new(JobParts {
            id: "40009_1",
            name: "Highway Upgrade 2024",
            path: "Region A/Highway Upgrade 2024",
            job_type: Some("Normal".into()),
            created: Some("2024-12-17T22:51:58.097"),
            creator: Some("Jo Bloggs".into()),
            sub_jobs: Some(2),
            folders: Some(28),
            td_jobs: Some(1),
            notes: Some(0),
            description: "Upgrade of the *Pacific* Hwy.\nStage 2.\n\nSee <notes>.",
        })
    }

    /// The card as a client without Markdown gets it: no markup left, every fact kept.
    #[test]
    fn job_card_as_plain_text() {
        let card = job_card(&job(), None, Some("https://synergy.example.com/web/#/jobs/{id}"));
        expect![[r#"
            Highway Upgrade 2024

            Region A/Highway Upgrade 2024 · ID 40009_1 · Normal job

            Created 2024-12-17 22:51 by Jo Bloggs
            2 sub-jobs · 28 folders · 1 12d job · 0 notes

            Upgrade of the *Pacific* Hwy.
            Stage 2.

            See <notes>.

            Open in 12d Synergy (https://synergy.example.com/web/#/jobs/40009_1)"#]]
        .assert_eq(&plain_text(&card));
    }

    #[test]
    fn job_card_markdown() {
        let card = job_card(
            &job(),
            Some(checked_ago(Duration::from_secs(125))),
            Some("https://web.example/#/jobs/{id}?p={path}"),
        );
        expect![[r#"
            ### Highway Upgrade 2024

            `Region A/Highway Upgrade 2024` · ID `40009_1` · Normal job

            Created 2024-12-17 22:51 by Jo Bloggs  
            2 sub-jobs · 28 folders · 1 12d job · 0 notes

            ---

            Upgrade of the \*Pacific\* Hwy.  
            Stage 2.

            See \<notes\>.

            [Open in 12d Synergy](https://web.example/#/jobs/40009_1?p=Region%20A/Highway%20Upgrade%202024) · _checked 2 min ago_"#]]
        .assert_eq(&card);
    }

    #[test]
    fn messages() {
        let j = Arc::new(job());
        let unknown = Resolution::Unknown { suggestions: vec![j.clone()], renamed: false };
        expect![[r#"Unknown 12d Synergy job "Highway Upgrade 2023"; did you mean "Highway Upgrade 2024"?"#]]
            .assert_eq(&diagnostic_message("Highway Upgrade 2023", &unknown).unwrap());
        expect![[r#"2 jobs are named "Highway Upgrade 2024": "Region A/Highway Upgrade 2024", "Region A/Highway Upgrade 2024"; use a path"#]]
            .assert_eq(&diagnostic_message("Highway Upgrade 2024", &Resolution::Ambiguous(vec![j.clone(), j.clone()])).unwrap());
        let (level, text) =
            health_message(&Health::Unavailable(Unavailable::TokenRejected(401)), &Health::Idle, "https://s").unwrap();
        assert_eq!(level, Level::Error);
        assert!(text.contains("180 days") && text.contains("Profile › Personal Access Tokens"), "{text}");
        assert_eq!(health_message(&Health::Connected, &Health::Idle, "x"), None);
        let (state, text) = status(&Health::Connected, None, "s.example:443");
        assert_eq!((state.as_str(), text.as_str()), ("connected", "Connected to s.example:443."));
        let rejected = Health::Unavailable(Unavailable::TokenRejected(403));
        let (state, text) = status(&rejected, None, "s");
        assert_eq!(state, StatusState::TokenRejected);
        assert!(text.contains("Personal Access Tokens"), "{text}");
        // A configuration problem wins over a stale health state.
        assert_eq!(status(&Health::Connected, Some(&Unavailable::NoToken), "s").0, StatusState::NotConfigured);
        let offline = Health::Unavailable(Unavailable::Unreachable("connection refused".into()));
        assert_eq!(status(&offline, None, "s").0.as_str(), "offline");
        assert_eq!(status(&Health::Idle, None, "").0.as_str(), "idle");
        // Two servers: the one that needs the user decides the state; each is named.
        let part = |health: &Health, host: &str| {
            let (state, text) = status(health, None, host);
            (state, text, host.to_string())
        };
        let (state, text) = status_of_servers(&[part(&Health::Connected, "a:1"), part(&rejected, "b:2")]);
        assert_eq!(state, StatusState::TokenRejected);
        assert!(text.starts_with("b:2: The server rejected") && text.ends_with("Connected to a:1."), "{text}");
        let (state, text) = status_of_servers(&[part(&Health::Connected, "a:1"), part(&Health::Connected, "b:2")]);
        assert_eq!((state, text.as_str()), (StatusState::Connected, "Connected to a:1 and b:2."));
        let (state, text) = status_of_servers(&[part(&Health::Idle, "a:1"), part(&Health::Idle, "b:2")]);
        assert_eq!(
            (state, text.as_str()),
            (StatusState::Idle, "Ready; a:1 and b:2 are asked when a job reference needs checking."),
            "each host said once"
        );
        let one = status_of_servers(&[part(&offline, "a:1")]);
        assert_eq!(one, status(&offline, None, "a:1"));
        assert!(health_message(&Health::Connected, &Health::Unavailable(Unavailable::ServerError(500)), "x").is_some());
        let hover = hover(
            "Riverside",
            &Resolved::of(Resolution::Unavailable(Unavailable::Unreachable("connection refused".into()))),
            None,
        );
        // An old answer the server could not renew says so; a fresh one only its age.
        let job = Arc::new(crate::model::Job::named("1_1", "Riverside", "Riverside"));
        let mut old = Resolved::of(Resolution::Found(job));
        old.age = Some(Duration::from_secs(3 * 86_400 + 5));
        assert_eq!(checked_note(&old).as_deref(), Some("checked 3 days ago"));
        old.stale_because = Some(Unavailable::Unreachable("connection refused".into()));
        assert_eq!(checked_note(&old).as_deref(), Some("checked 3 days ago · server unreachable"));
        assert!(present_hover_has(&old, "_checked 3 days ago · server unreachable_"));
        expect![[r#"
            ### `Riverside` not checked

            The 12d Synergy server is unreachable (connection refused)."#]]
        .assert_eq(&hover);
    }
}
