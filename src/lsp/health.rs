//! Telling the user: the `synergy/status` notification (sent only when it changes; every
//! server's state as one), warnings (each once per session), the health watcher of each
//! resolver in use (each failure kind told once, its recovery once, re-checks while the
//! server fails, when answers change and once per cache TTL) and the watch on the editor's
//! process.

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
use crate::resolve::Resolver;

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
    /// The health watcher of each resolver in use, once `initialized` started them.
    watchers: Mutex<Option<Vec<Watcher>>>,
}

/// A resolver's health watcher ([`State::watch_resolver`]).
struct Watcher {
    resolver: std::sync::Weak<Resolver>,
    task: tokio::task::AbortHandle,
}

impl State {
    /// Sends `synergy/status` if anything in it but the time of the last check changed since
    /// last sent: each server's state (several when workspace folders name several servers,
    /// said as one: `present::status_of_servers`).
    /// Also shows what went wrong with the persisted cache since last asked.
    pub async fn publish_status(&self) {
        let all = self.scopes();
        let by_resolver = all.by_resolver();
        let mut warnings = Vec::new();
        let mut parts = Vec::with_capacity(by_resolver.len());
        let mut hosts: Vec<String> = Vec::new();
        let mut last_check = None;
        for (resolver, scopes) in &by_resolver {
            warnings.extend(resolver.take_cache_warnings());
            let health = resolver.subscribe_health().borrow().clone();
            let scope = &scopes[0];
            let host = scope.host();
            let (state, message) = present::status(&health, scope.problem.as_ref(), host.as_deref().unwrap_or(""));
            parts.push((state, message, all.label(scope)));
            hosts.extend(host.filter(|h| !hosts.contains(h)));
            last_check = last_check.max(resolver.last_check());
        }
        self.warn(warnings).await;
        let (state, message) = present::status_of_servers(&parts);
        let server = (!hosts.is_empty()).then(|| hosts.join(", "));
        let params = ext::status(state, message, server, last_check, self.workspace.indexed());
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

    /// Shows (and logs) each warning once per session.
    pub async fn warn(&self, warnings: Vec<String>) {
        for w in warnings {
            if self.notices.warned.lock().unwrap_or_else(|e| e.into_inner()).insert(w.clone()) {
                tracing::warn!("{w}");
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

    /// How often idle documents are re-checked: the shortest cache TTL of `scopes`, at least
    /// a second.
    fn recheck_interval(scopes: &[Arc<super::settings::Scope>]) -> Duration {
        let shortest = scopes.iter().map(|s| s.config.cache.ttl_seconds.min(s.config.cache.negative_ttl_seconds)).min();
        Duration::from_secs(shortest.unwrap_or(60).max(1))
    }

    /// The scopes that use `resolver` now (none once it is no longer used).
    fn scopes_of(&self, resolver: &Arc<Resolver>) -> Vec<Arc<super::settings::Scope>> {
        self.scopes().by_resolver().into_iter().find(|(r, _)| Arc::ptr_eq(r, resolver)).map_or_else(Vec::new, |r| r.1)
    }

    /// Starts watching the health of every resolver in use (after `initialized`), and keeps
    /// doing so as settings change: a resolver made for a new server gets a watcher, one no
    /// longer used loses it.
    pub fn spawn_health_watcher(self: &Arc<Self>) {
        self.notices.watchers.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(Vec::new);
        self.watch_resolvers();
    }

    /// Gives every resolver in use a watcher and stops those of resolvers no longer used
    /// (nothing before [`State::spawn_health_watcher`]).
    pub(super) fn watch_resolvers(self: &Arc<Self>) {
        let resolvers = self.settings.resolvers();
        let mut watchers = self.notices.watchers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(watchers) = watchers.as_mut() else { return };
        watchers.retain(|w| {
            let used = w.resolver.upgrade().is_some_and(|r| resolvers.iter().any(|u| Arc::ptr_eq(u, &r)));
            if !used {
                w.task.abort();
            }
            used
        });
        for resolver in resolvers {
            if !watchers.iter().any(|w| w.resolver.upgrade().is_some_and(|r| Arc::ptr_eq(&r, &resolver))) {
                let task = self.watch_resolver(&resolver);
                watchers.push(Watcher { resolver: Arc::downgrade(&resolver), task });
            }
        }
    }

    /// Tells the user about each change of a server's health, once, and keeps re-checking
    /// open documents while the server is failing so verdicts come back by themselves. Also
    /// re-checks them when a background refresh changed an answer, and once per cache TTL.
    fn watch_resolver(self: &Arc<Self>, resolver: &Arc<Resolver>) -> tokio::task::AbortHandle {
        let rx = resolver.subscribe_health();
        let mut transitions = resolver.subscribe_health_changes();
        let mut changes = resolver.subscribe_changes();
        let this = Arc::clone(self);
        let resolver = Arc::downgrade(resolver);
        let task = tokio::spawn(async move {
            let mut previous = rx.borrow().clone();
            let mut told = Told::default();
            let scopes = |this: &Arc<State>| resolver.upgrade().map(|r| this.scopes_of(&r)).unwrap_or_default();
            let mut next_recheck = tokio::time::Instant::now() + State::recheck_interval(&scopes(&this));
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
                        let mine = scopes(&this);
                        let server = mine.first().and_then(|s| s.config.server_url.clone()).unwrap_or_default();
                        if let Some((level, text)) = present::health_message(&health, &previous, &server)
                            && told.should_tell(&health, tokio::time::Instant::now())
                            && !this.caps().shows_status
                        {
                            // With several servers, which one (or which folders have none).
                            let text = match mine.first() {
                                Some(scope) if this.settings.resolvers().len() > 1 => {
                                    let label = this.scopes().label(scope);
                                    text.replacen("synergy-ls: ", &format!("synergy-ls ({label}): "), 1)
                                }
                                _ => text,
                            };
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
                        next_recheck = tokio::time::Instant::now() + State::recheck_interval(&scopes(&this));
                        this.revalidate_all();
                    }
                }
            }
        });
        task.abort_handle()
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
