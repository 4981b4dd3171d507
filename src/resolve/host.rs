//! Per-host politeness, in one place: a semaphore bounding requests in flight, retries with
//! jittered backoff (one small decision function, [`retry_delay`]), `Retry-After` honoured, and a
//! circuit breaker that stops hammering a failing server, lets a probe through now and then, and
//! recovers by itself. It also owns the [`Health`] the user is told about: the state changes
//! only when its kind changes, so the user hears once per change, not once per request.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Semaphore, broadcast, watch};

use super::clock::Clock;
use crate::api::ApiError;
use crate::api::client::MAX_RETRY_AFTER;
use crate::model::Health;

/// Consecutive failed calls after which the circuit opens.
const FAILURES_TO_OPEN: u32 = 2;
const FIRST_COOLDOWN: Duration = Duration::from_secs(1);
const MAX_COOLDOWN: Duration = Duration::from_secs(30);
/// How often a rejected token is tried again (an admin may re-enable it).
const AUTH_COOLDOWN: Duration = Duration::from_secs(60);
/// How long to wait after a 429 that did not say (no `Retry-After`).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Whether to try a failed request again, and after how long. `jitter` is in `[0, 1)`.
pub fn retry_delay(err: &ApiError, attempt: u32, jitter: f64) -> Option<Duration> {
    let backoff = |base_ms: f64| Duration::from_millis((base_ms * 2f64.powi(attempt as i32) * (0.5 + jitter)) as u64);
    match err {
        ApiError::Connect(_) if attempt < 2 => Some(backoff(200.0)),
        ApiError::Status(s) if *s >= 500 && attempt < 2 => Some(backoff(200.0)),
        // A request that timed out already cost 10 s: one more try at most.
        ApiError::Timeout if attempt < 1 => Some(backoff(200.0)),
        ApiError::RateLimited { retry_after: Some(d) } if attempt < 1 && *d <= Duration::from_secs(2) => Some(*d),
        _ => None,
    }
}

/// The server's health, shared by every gate a resolver makes: the current state (a watch, for
/// the status item) and every change in order (a broadcast, for telling the user). A watch
/// alone coalesces: a failure followed at once by a success (one name's answer not
/// understood while others are) would never be seen, and never told.
#[derive(Debug)]
pub struct HealthSignal {
    current: watch::Sender<Health>,
    changes: broadcast::Sender<Health>,
}

impl Default for HealthSignal {
    fn default() -> HealthSignal {
        HealthSignal { current: watch::channel(Health::Idle).0, changes: broadcast::channel(64).0 }
    }
}

impl HealthSignal {
    /// Sets the health if its kind changed (not for every new error detail); says whether it
    /// did. Each change is also broadcast.
    pub fn set(&self, new: Health) -> bool {
        let changed = self.current.send_if_modified(|h| {
            if same_kind(h, &new) {
                false
            } else {
                *h = new.clone();
                true
            }
        });
        if changed {
            let _ = self.changes.send(new);
        }
        changed
    }

    /// Back to [`Health::Idle`] (new settings), broadcast too.
    pub fn reset(&self) {
        self.current.send_replace(Health::Idle);
        let _ = self.changes.send(Health::Idle);
    }

    /// The current health.
    pub fn subscribe(&self) -> watch::Receiver<Health> {
        self.current.subscribe()
    }

    /// Every change, in order (a receiver that falls 64 behind skips to the newest).
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Health> {
        self.changes.subscribe()
    }
}

#[derive(Debug)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
    last_error: Option<ApiError>,
    /// After a cooldown, one request (the probe) tests the server; the rest wait for its verdict.
    probing: bool,
}

pub struct HostGate {
    permits: Semaphore,
    state: Mutex<State>,
    health: Arc<HealthSignal>,
    clock: Arc<dyn Clock>,
    /// HTTP requests sent, retries included.
    requests: AtomicU64,
    jitter_seed: AtomicU64,
    /// When the server last answered or failed to (wall clock, for the status item).
    last_check: Mutex<Option<SystemTime>>,
}

impl HostGate {
    pub fn new(max_concurrent: usize, health: Arc<HealthSignal>, clock: Arc<dyn Clock>) -> HostGate {
        HostGate {
            permits: Semaphore::new(max_concurrent.max(1)),
            state: Mutex::new(State {
                failures: 0,
                open_until: None,
                cooldown: FIRST_COOLDOWN,
                last_error: None,
                probing: false,
            }),
            health,
            clock,
            requests: AtomicU64::new(0),
            jitter_seed: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            last_check: Mutex::new(None),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `op` (one HTTP request) under the gate's rules. Never holds a lock across `.await`.
    pub async fn call<T, F, Fut>(&self, mut op: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let probe = match self.admit() {
            Err(err) => return Err(err),
            Ok(probe) => probe.then(|| ProbeGuard(self)),
        };
        let _permit = self.permits.acquire().await.map_err(|_| ApiError::Timeout)?;
        let mut attempt = 0;
        loop {
            // The circuit may have opened while this call waited for a permit.
            if probe.is_none() {
                if let Some(err) = self.rejection() {
                    return Err(err);
                }
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            match op().await {
                Ok(v) => {
                    self.on_success();
                    return Ok(v);
                }
                Err(e) => match retry_delay(&e, attempt, self.jitter()) {
                    Some(delay) => {
                        tracing::debug!(error = %e, attempt, ?delay, "retrying");
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    None => {
                        self.on_failure(&e);
                        return Err(e);
                    }
                },
            }
        }
    }

    /// Whether a call may go out: `Ok(true)` if it is the probe after a cooldown.
    fn admit(&self) -> Result<bool, ApiError> {
        let mut state = self.state();
        let Some(until) = state.open_until else { return Ok(false) };
        if self.clock.now() < until || state.probing {
            return Err(state.last_error.clone().unwrap_or(ApiError::Timeout));
        }
        state.probing = true;
        Ok(true)
    }

    /// The error to fail with at once while the circuit is open or a probe is out.
    fn rejection(&self) -> Option<ApiError> {
        let state = self.state();
        let until = state.open_until?;
        (self.clock.now() < until || state.probing).then(|| state.last_error.clone()).flatten()
    }

    /// When a request last reached an outcome (success or a failure of the server's), if ever.
    pub fn last_check(&self) -> Option<SystemTime> {
        *self.last_check.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn checked_now(&self) {
        *self.last_check.lock().unwrap_or_else(|e| e.into_inner()) = Some(SystemTime::now());
    }

    fn on_success(&self) {
        self.checked_now();
        {
            let mut s = self.state();
            s.failures = 0;
            s.open_until = None;
            s.cooldown = FIRST_COOLDOWN;
            s.last_error = None;
            s.probing = false;
        }
        self.set_health(Health::Connected);
    }

    fn on_failure(&self, err: &ApiError) {
        self.checked_now();
        let now = self.clock.now();
        {
            let mut s = self.state();
            s.last_error = Some(err.clone());
            let was_probe = std::mem::take(&mut s.probing);
            match err {
                ApiError::NotConfigured | ApiError::NoToken | ApiError::BadUrl(_) => {}
                ApiError::Unauthorized(_) => s.open_until = Some(now + AUTH_COOLDOWN),
                ApiError::RateLimited { retry_after } => {
                    let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER).min(MAX_RETRY_AFTER);
                    s.open_until = Some(now + wait);
                }
                _ => {
                    s.failures += 1;
                    if s.failures >= FAILURES_TO_OPEN || was_probe {
                        s.open_until = Some(now + s.cooldown);
                        s.cooldown = (s.cooldown * 2).min(MAX_COOLDOWN);
                    }
                }
            }
        }
        // Once per change of health at `warn`: a rejected token fails every request in flight,
        // and the user is told once (the health message, `check`'s one error line).
        if self.set_health(Health::Unavailable(err.to_unavailable())) {
            tracing::warn!(error = %err, "Synergy API request failed");
        } else {
            tracing::debug!(error = %err, "Synergy API request failed");
        }
    }

    /// Publishes a health change only when its kind changes (not every new error detail);
    /// says whether it did.
    fn set_health(&self, new: Health) -> bool {
        self.health.set(new)
    }

    /// Forgets failures and any wait (the user asked to try again now: `synergy.refresh`).
    pub fn reset(&self) {
        let mut s = self.state();
        s.failures = 0;
        s.open_until = None;
        s.cooldown = FIRST_COOLDOWN;
        s.probing = false;
    }

    /// Tells the health about a failure that no failed request showed: a configuration error
    /// (no request was made), or answers that arrived but cannot be used together (page
    /// counters that lie). The circuit breaker is left alone: the server does answer.
    pub fn report_unusable(&self, err: &ApiError) {
        if self.set_health(Health::Unavailable(err.to_unavailable())) {
            tracing::warn!(error = %err, "Synergy API answers cannot be used");
        }
    }

    fn jitter(&self) -> f64 {
        // xorshift64: enough to spread retries; not for anything secret.
        let mut x = self.jitter_seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter_seed.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Clears the probe flag however the probe ends, so a cancelled probe cannot wedge the circuit.
struct ProbeGuard<'a>(&'a HostGate);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        self.0.state().probing = false;
    }
}

/// Whether two health states are the same for the user (same kind of problem).
pub fn same_kind(a: &Health, b: &Health) -> bool {
    use std::mem::discriminant;
    match (a, b) {
        (Health::Unavailable(x), Health::Unavailable(y)) => discriminant(x) == discriminant(y),
        _ => discriminant(a) == discriminant(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unavailable;
    use crate::resolve::clock::ManualClock;

    fn gate(clock: Arc<ManualClock>) -> (HostGate, watch::Receiver<Health>) {
        let signal = Arc::new(HealthSignal::default());
        let rx = signal.subscribe();
        (HostGate::new(2, signal, clock), rx)
    }

    /// A failure followed at once by a success is coalesced by the watch but not lost: the
    /// broadcast carries both, in order.
    #[test]
    fn every_health_change_is_broadcast_in_order() {
        let signal = HealthSignal::default();
        let mut changes = signal.subscribe_changes();
        let bad = Health::Unavailable(Unavailable::BadResponse("x".into()));
        assert!(signal.set(bad.clone()));
        assert!(!signal.set(Health::Unavailable(Unavailable::BadResponse("other detail".into()))));
        assert!(signal.set(Health::Connected));
        assert_eq!(*signal.subscribe().borrow(), Health::Connected);
        assert_eq!(changes.try_recv().unwrap(), bad);
        assert_eq!(changes.try_recv().unwrap(), Health::Connected);
        assert!(changes.try_recv().is_err());
    }

    #[test]
    fn retry_decisions() {
        let five_hundred = ApiError::Status(503);
        assert!(retry_delay(&five_hundred, 0, 0.0).is_some());
        assert!(retry_delay(&five_hundred, 2, 0.0).is_none());
        assert_eq!(retry_delay(&ApiError::Status(404), 0, 0.0), None);
        assert_eq!(retry_delay(&ApiError::Unauthorized(401), 0, 0.0), None);
        assert_eq!(retry_delay(&ApiError::Timeout, 1, 0.0), None);
        let ra = |s| ApiError::RateLimited { retry_after: Some(Duration::from_secs(s)) };
        assert_eq!(retry_delay(&ra(1), 0, 0.5), Some(Duration::from_secs(1)));
        assert_eq!(retry_delay(&ra(30), 0, 0.5), None);
        // Jitter spreads the delay between half and one and a half of the base.
        let lo = retry_delay(&five_hundred, 1, 0.0).unwrap();
        let hi = retry_delay(&five_hundred, 1, 0.999).unwrap();
        assert_eq!(lo, Duration::from_millis(200));
        assert!(hi > Duration::from_millis(590) && hi < Duration::from_millis(600));
    }

    #[tokio::test(start_paused = true)]
    async fn circuit_opens_fails_fast_and_recovers() {
        let clock = Arc::new(ManualClock::default());
        let (gate, mut health) = gate(clock.clone());
        let requests = &gate.requests;
        let refused = || async { Err::<(), _>(ApiError::Connect("connection refused".into())) };
        assert!(gate.call(refused).await.is_err());
        assert_eq!(requests.load(Ordering::Relaxed), 3, "two retries");
        assert!(health.has_changed().unwrap());
        assert_eq!(
            *health.borrow_and_update(),
            Health::Unavailable(Unavailable::Unreachable("connection refused".into()))
        );
        assert!(gate.call(refused).await.is_err());
        assert_eq!(requests.load(Ordering::Relaxed), 6);
        // Open: the next call fails without a request, and health does not change again.
        assert!(gate.call(|| async { Ok(()) }).await.is_err());
        assert_eq!(requests.load(Ordering::Relaxed), 6);
        assert!(!health.has_changed().unwrap());
        // After the cooldown one probe goes through; while it is out, others fail fast.
        clock.advance(FIRST_COOLDOWN);
        assert_eq!(gate.admit(), Ok(true), "the first caller probes");
        assert!(gate.admit().is_err(), "a second caller does not");
        gate.state().probing = false;
        // A failed probe reopens the circuit with a longer cooldown.
        assert!(gate.call(refused).await.is_err());
        assert_eq!(requests.load(Ordering::Relaxed), 9);
        clock.advance(FIRST_COOLDOWN);
        assert!(gate.call(|| async { Ok(()) }).await.is_err(), "cooldown doubled");
        clock.advance(FIRST_COOLDOWN);
        assert!(gate.call(|| async { Ok(()) }).await.is_ok());
        assert_eq!(*health.borrow_and_update(), Health::Connected);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_and_auth_hold_off() {
        let clock = Arc::new(ManualClock::default());
        let (gate, _health) = gate(clock.clone());
        let requests = &gate.requests;
        let limited = || async { Err::<(), _>(ApiError::RateLimited { retry_after: Some(Duration::from_secs(10)) }) };
        assert!(gate.call(limited).await.is_err());
        assert_eq!(requests.load(Ordering::Relaxed), 1, "no retry for a long Retry-After");
        assert!(matches!(gate.call(|| async { Ok(()) }).await, Err(ApiError::RateLimited { .. })));
        clock.advance(Duration::from_secs(10));
        assert!(gate.call(|| async { Ok(()) }).await.is_ok());
        let rejected = || async { Err::<(), _>(ApiError::Unauthorized(401)) };
        assert!(gate.call(rejected).await.is_err());
        assert_eq!(requests.load(Ordering::Relaxed), 3);
        assert_eq!(gate.call(|| async { Ok(()) }).await, Err(ApiError::Unauthorized(401)));
    }
}
