//! A token bucket as client-go's `flowcontrol` token bucket rate limiter: `burst` tokens,
//! refilled at `qps` per second, time an input. Shared by the node lifecycle controller's zone
//! limiters (burst 1) and the event recorder's spam filter (burst 25).

use k8s_openapi::jiff::Timestamp;

/// A token bucket (`flowcontrol.NewTokenBucketRateLimiter(qps, burst)`); a rate of zero never
/// accepts (`NewFakeNeverRateLimiter`).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    updated_at: Timestamp,
}

impl TokenBucket {
    /// A full bucket of one token refilling at `qps` tokens per second.
    pub fn new(qps: f64, now: Timestamp) -> TokenBucket {
        TokenBucket::with_burst(qps, 1, now)
    }

    /// A full bucket of `burst` tokens refilling at `qps` tokens per second.
    pub fn with_burst(qps: f64, burst: u32, now: Timestamp) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket { qps, burst, tokens: if qps > 0.0 { burst } else { 0.0 }, updated_at: now }
    }

    /// The refill rate.
    pub fn qps(&self) -> f64 {
        self.qps
    }

    fn refill(&mut self, now: Timestamp) {
        let elapsed = now.duration_since(self.updated_at).as_secs_f64().max(0.0);
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        self.updated_at = self.updated_at.max(now);
    }

    /// Takes a token if one is there.
    pub fn try_accept(&mut self, now: Timestamp) -> bool {
        self.refill(now);
        if self.qps > 0.0 && self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        false
    }

    /// Seconds until the next token, if the bucket refills at all.
    pub fn seconds_until_token(&self, now: Timestamp) -> Option<f64> {
        if self.qps <= 0.0 {
            return None;
        }
        let elapsed = now.duration_since(self.updated_at).as_secs_f64().max(0.0);
        let tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        Some(((1.0 - tokens) / self.qps).max(0.0))
    }

    /// `SwapLimiter`: a new rate with a burst of one; the new bucket starts drained unless the
    /// old one had a token.
    pub fn swap(&mut self, qps: f64, now: Timestamp) {
        if self.qps == qps {
            return;
        }
        let had_token = self.try_accept(now);
        *self =
            TokenBucket { qps, burst: 1.0, tokens: if qps > 0.0 && had_token { 1.0 } else { 0.0 }, updated_at: now };
    }
}
