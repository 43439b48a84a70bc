//! The agent's clocks: heartbeat and drift periods, HTTP/2 keepalive, and the reconnect
//! backoff policy (800 ms doubling to 30 s with jitter, reset after a healthy session).
//!
//! Values only; must never sleep or spawn. Tests shorten or disable what they need.

use std::time::Duration;

use backoff::backoff::Backoff;
use backoff::ExponentialBackoff;

#[derive(Clone, Debug)]
pub struct Timing {
    /// How often the agent sends a heartbeat on an open session.
    pub heartbeat: Duration,
    /// How often the agent re-applies its bundle with no new one from the hub.
    pub reapply: Duration,
    /// First reconnect delay; doubles per failure up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A session that lasted this long resets the backoff.
    pub healthy_after: Duration,
    /// Limit on dialling the hub (TCP and TLS); `None` for none.
    pub connect_timeout: Option<Duration>,
    /// Limit on the hub answering a new session (after the Hello).
    pub open_timeout: Duration,
    /// HTTP/2 keepalive ping period and ack timeout; `None` to disable.
    pub keepalive: Option<(Duration, Duration)>,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            heartbeat: Duration::from_secs(10),
            reapply: Duration::from_secs(300),
            backoff_initial: Duration::from_millis(800),
            backoff_max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(60),
            connect_timeout: Some(Duration::from_secs(10)),
            open_timeout: Duration::from_secs(30),
            keepalive: Some((Duration::from_secs(30), Duration::from_secs(20))),
        }
    }
}

impl Timing {
    /// The reconnect policy: exponential, factor 2, jitter ±50 %, capped, never giving up.
    pub fn backoff(&self) -> ExponentialBackoff {
        ExponentialBackoff {
            current_interval: self.backoff_initial,
            initial_interval: self.backoff_initial,
            randomization_factor: 0.5,
            multiplier: 2.0,
            max_interval: self.backoff_max,
            max_elapsed_time: None,
            ..ExponentialBackoff::default()
        }
    }
}

/// The delays between sessions: growing while sessions keep failing, back to the start
/// after one that stayed up for `healthy_after`.
pub struct Reconnect {
    policy: ExponentialBackoff,
    healthy_after: Duration,
    max: Duration,
}

impl Reconnect {
    pub fn new(timing: &Timing) -> Reconnect {
        Reconnect {
            policy: timing.backoff(),
            healthy_after: timing.healthy_after,
            max: timing.backoff_max,
        }
    }

    /// How long to wait after a session that lasted `lasted`.
    pub fn delay_after(&mut self, lasted: Duration) -> Duration {
        if lasted >= self.healthy_after {
            self.policy.reset();
        }
        self.policy.next_backoff().unwrap_or(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_session_resets_the_backoff() {
        let mut reconnect = Reconnect::new(&Timing::default());
        let failing: Vec<Duration> = (0..6)
            .map(|_| reconnect.delay_after(Duration::ZERO))
            .collect();
        assert!(failing[5] >= Duration::from_secs(12), "{failing:?}");
        let after_healthy = reconnect.delay_after(Duration::from_secs(61));
        assert!(
            after_healthy <= Duration::from_millis(1200),
            "{after_healthy:?}"
        );
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter_and_resets() {
        let timing = Timing::default();
        let mut policy = timing.backoff();
        let delays: Vec<Duration> = (0..12).filter_map(|_| policy.next_backoff()).collect();
        assert_eq!(delays.len(), 12, "never gives up");
        assert!(
            delays[0] >= Duration::from_millis(400) && delays[0] <= Duration::from_millis(1200)
        );
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(45)),
            "{delays:?}"
        );
        assert!(
            delays[11] >= Duration::from_secs(15),
            "reaches the cap: {delays:?}"
        );
        policy.reset();
        assert!(policy.next_backoff().unwrap() <= Duration::from_millis(1200));
    }
}
