//! Telling the user: the `synergy/status` notification (sent only when it changes), warnings
//! (each once per session), the health watcher (each failure kind told once, its recovery
//! once, re-checks while the server fails, when answers change and once per cache TTL) and
//! the watch on the editor's process.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tower_lsp_server::ls_types::MessageType;

use super::ext;
use super::state::State;
use super::to_proto;
use super::transport::EndReason;
use crate::model::{Health, Unavailable};
use crate::present;

/// How often open documents are re-checked while the server is failing (the circuit breaker
/// keeps this from sending requests until its cooldown ends).
const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// How often the editor's process is checked for liveness (one `kill(pid, 0)` or
/// `OpenProcess` each time).
const PROCESS_POLL: Duration = Duration::from_millis(500);

/// What the user was already told.
#[derive(Default)]
pub struct Notices {
    /// Warnings already shown, so a repeated settings change does not repeat them.
    warned: Mutex<HashSet<String>>,
    /// The last `synergy/status` sent (its parameters), to send only changes.
    last_status: Mutex<Option<ext::StatusParams>>,
}

impl State {
    /// Sends `synergy/status` if anything in it but the time of the last check changed since
    /// last sent.
    /// Also shows what went wrong with the persisted cache since last asked.
    pub async fn publish_status(&self) {
        self.warn(self.resolver.take_cache_warnings()).await;
        let health = self.resolver.subscribe_health().borrow().clone();
        let problem = self.settings.problem();
        let server = self.config().server_url.as_deref().and_then(crate::api::client::host_of);
        let (state, message) = present::status(&health, problem.as_ref(), server.as_deref().unwrap_or(""));
        let params = ext::status(state, message, server, self.resolver.last_check(), self.workspace.indexed());
        {
            let mut last = self.notices.last_status.lock().unwrap_or_else(|e| e.into_inner());
            let same = |l: &ext::StatusParams| ext::StatusParams { last_check: None, ..l.clone() };
            if last.as_ref().map(same) == Some(same(&params)) {
                return;
            }
            *last = Some(params.clone());
        }
        self.client.send_notification::<ext::StatusNotification>(params).await;
    }

    /// Shows each warning once per session.
    pub async fn warn(&self, warnings: Vec<String>) {
        for w in warnings {
            tracing::warn!("{w}");
            if self.notices.warned.lock().unwrap_or_else(|e| e.into_inner()).insert(w.clone()) {
                self.client.show_message(MessageType::WARNING, format!("synergy-ls: {w}")).await;
            }
        }
    }

    /// Ends the session when the editor's process `pid` (`initialize`'s `processId`) is gone:
    /// the LSP specification asks a server to exit when its parent process is not alive. A
    /// process that cannot be seen at start (another PID namespace, another user's process on
    /// some systems) is not watched, so a server is never ended for a process it cannot see.
    pub fn watch_client_process(&self, pid: u32) {
        let Some(ending) = self.ending.clone() else { return };
        if process_alive::state(pid.into()) != process_alive::State::Alive {
            tracing::info!(pid, "the editor's process cannot be seen; it is not watched");
            return;
        }
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROCESS_POLL);
            loop {
                every.tick().await;
                if process_alive::state(pid.into()) == process_alive::State::Dead {
                    tracing::info!(pid, "the editor's process is gone; exiting");
                    ending.end(EndReason::ClientGone);
                    return;
                }
            }
        });
    }

    /// How often idle documents are re-checked: the shorter cache TTL, at least a second.
    fn recheck_interval(&self) -> Duration {
        let cache = &self.config().cache;
        Duration::from_secs(cache.ttl_seconds.min(cache.negative_ttl_seconds).max(1))
    }

    /// Tells the user about each change of the server's health, once, and keeps re-checking
    /// open documents while the server is failing so verdicts come back by themselves. Also
    /// re-checks them when a background refresh changed an answer, and once per cache TTL.
    pub fn spawn_health_watcher(self: &Arc<Self>) {
        let rx = self.resolver.subscribe_health();
        let mut transitions = self.resolver.subscribe_health_changes();
        let mut changes = self.resolver.subscribe_changes();
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut previous = rx.borrow().clone();
            let mut told = Told::default();
            let mut next_recheck = tokio::time::Instant::now() + this.recheck_interval();
            loop {
                let probing = matches!(&previous, Health::Unavailable(u) if recovers_by_itself(u));
                tokio::select! {
                    // Every change, in order: a failure that a success follows at once is seen.
                    changed = transitions.recv() => {
                        let health = match changed {
                            Ok(health) => health,
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => rx.borrow().clone(),
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        };
                        let server = this.config().server_url.clone().unwrap_or_default();
                        if let Some((level, text)) = present::health_message(&health, &previous, &server)
                            && told.should_tell(&health, tokio::time::Instant::now())
                            && !this.caps().shows_status
                        {
                            this.client.show_message(to_proto::message_type(level), text).await;
                        }
                        this.publish_status().await;
                        if health == Health::Connected && matches!(previous, Health::Unavailable(_)) {
                            this.answers_changed();
                        }
                        previous = health;
                    }
                    _ = tokio::time::sleep(PROBE_INTERVAL), if probing => this.revalidate_all(),
                    // A background refresh changed an answer (a job was renamed or deleted).
                    Ok(()) = changes.changed() => this.answers_changed(),
                    // Answers expire even in documents nobody edits: re-check them once per TTL
                    // (cached answers cost nothing; expired ones are refreshed once each).
                    _ = tokio::time::sleep_until(next_recheck) => {
                        next_recheck = tokio::time::Instant::now() + this.recheck_interval();
                        this.revalidate_all();
                    }
                }
            }
        });
    }
}

/// How long the same kind of failure is not told again. A server that fails some requests
/// and answers others (one name's answer not understood) flickers between connected and
/// failing; the user hears of it once, and the status item shows the rest.
const RETELL_AFTER: Duration = Duration::from_secs(300);

/// What the user was told about the server's health, so each failure is told once.
#[derive(Default)]
struct Told {
    /// The kind of failure last told, and when.
    failure: Option<(std::mem::Discriminant<Unavailable>, tokio::time::Instant)>,
    /// A failure was told and its recovery not yet.
    outstanding: bool,
}

impl Told {
    /// Whether to tell the user about entering `health`, and notes it if so: a failure unless
    /// the same kind was told within [`RETELL_AFTER`]; a recovery only from a failure told.
    fn should_tell(&mut self, health: &Health, now: tokio::time::Instant) -> bool {
        match health {
            Health::Unavailable(u) => {
                let kind = std::mem::discriminant(u);
                let recent = self.failure.is_some_and(|(k, at)| k == kind && now.duration_since(at) < RETELL_AFTER);
                if recent {
                    return false;
                }
                self.failure = Some((kind, now));
                self.outstanding = true;
                true
            }
            Health::Connected => std::mem::take(&mut self.outstanding),
            // New settings: what was told was about the old ones.
            Health::Idle => {
                *self = Told::default();
                false
            }
        }
    }
}

/// Problems that go away without the user changing anything.
fn recovers_by_itself(u: &Unavailable) -> bool {
    present::state_of(u) != present::StatusState::NotConfigured
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_is_told_once_and_its_recovery_once() {
        let mut told = Told::default();
        let t0 = tokio::time::Instant::now();
        let bad = Health::Unavailable(Unavailable::BadResponse("x".into()));
        let down = Health::Unavailable(Unavailable::Unreachable("x".into()));
        // Flickering: told once, recovered once.
        assert!(told.should_tell(&bad, t0));
        assert!(told.should_tell(&Health::Connected, t0));
        assert!(!told.should_tell(&bad, t0 + Duration::from_secs(1)));
        assert!(!told.should_tell(&Health::Connected, t0 + Duration::from_secs(1)));
        // Another kind is news; the same kind is news again after a while.
        assert!(told.should_tell(&down, t0 + Duration::from_secs(2)));
        assert!(told.should_tell(&down, t0 + Duration::from_secs(2) + RETELL_AFTER));
        // New settings forget what was told.
        assert!(!told.should_tell(&Health::Idle, t0 + Duration::from_secs(3)));
        assert!(told.should_tell(&bad, t0 + Duration::from_secs(3)));
    }
}
