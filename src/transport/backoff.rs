//! Reconnection delays shared by the long-lived streams (the legacy SSE session and the
//! Streamable HTTP GET stream): about 1 s, ×1.5 each attempt, at most 30 s, with jitter so
//! that many bridges do not reconnect in step after a server restart.

use std::time::Duration;

const START: Duration = Duration::from_secs(1);
const MAX: Duration = Duration::from_secs(30);

/// The delay before the next attempt; grows until [`Backoff::reset`].
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: START }
    }
}

impl Backoff {
    /// Sleeps for the current delay (±20 %) and lengthens the next one.
    pub async fn wait(&mut self) {
        tokio::time::sleep(jitter(self.next)).await;
        self.grow();
    }

    fn grow(&mut self) {
        self.next = self.next.mul_f64(1.5).min(MAX);
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.next = START;
    }

    /// The delay the next [`Backoff::wait`] is based on.
    #[cfg(test)]
    pub fn current(&self) -> Duration {
        self.next
    }
}

/// ±20 %, from the clock's sub-second nanos: no random-number crate needed for this.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let factor = 0.8 + f64::from(nanos % 1000) / 1000.0 * 0.4;
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_half_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let mut seen = vec![b.current()];
        for _ in 0..12 {
            b.grow();
            seen.push(b.current());
        }
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert_eq!(seen[2], Duration::from_millis(2250));
        assert_eq!(*seen.last().unwrap(), MAX);
        b.reset();
        assert_eq!(b.current(), START);
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(10));
            assert!(
                j >= Duration::from_secs(8) && j <= Duration::from_secs(12),
                "{j:?}"
            );
        }
    }
}
