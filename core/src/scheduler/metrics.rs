//! Where a scheduling cycle's time goes: totals per extension point and the duration of every
//! scheduling algorithm run and every whole attempt, as kube-scheduler's
//! `framework_extension_point_duration_seconds`, `scheduling_algorithm_duration_seconds` and
//! `scheduling_attempt_duration_seconds` report them.
//!
//! Core reads no clock: the shell hands the scheduler a [`MonotonicClock`] (the `cox bench`
//! command passes one over `std::time::Instant`; tests pass a counter). Without one, nothing is
//! measured and no clock is asked, so the scheduler's decisions never depend on time taken.

use std::fmt;
use std::time::Duration;

/// The extension points whose time is totalled, in the order a cycle reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExtensionPoint {
    /// PreFilter, once per cycle.
    PreFilter,
    /// Filter over the sampled nodes (the nominated node's check included).
    Filter,
    /// PostFilter (preemption), when no node fits.
    PostFilter,
    /// PreScore over the feasible nodes.
    PreScore,
    /// Score and NormalizeScore over the feasible nodes.
    Score,
    /// Reserve.
    Reserve,
    /// Permit.
    Permit,
    /// PreBind.
    PreBind,
    /// Bind.
    Bind,
}

impl ExtensionPoint {
    /// Every point, in cycle order.
    pub const ALL: [ExtensionPoint; 9] = [
        ExtensionPoint::PreFilter,
        ExtensionPoint::Filter,
        ExtensionPoint::PostFilter,
        ExtensionPoint::PreScore,
        ExtensionPoint::Score,
        ExtensionPoint::Reserve,
        ExtensionPoint::Permit,
        ExtensionPoint::PreBind,
        ExtensionPoint::Bind,
    ];

    /// Kubernetes' name of the point.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionPoint::PreFilter => "PreFilter",
            ExtensionPoint::Filter => "Filter",
            ExtensionPoint::PostFilter => "PostFilter",
            ExtensionPoint::PreScore => "PreScore",
            ExtensionPoint::Score => "Score",
            ExtensionPoint::Reserve => "Reserve",
            ExtensionPoint::Permit => "Permit",
            ExtensionPoint::PreBind => "PreBind",
            ExtensionPoint::Bind => "Bind",
        }
    }
}

/// A monotonic clock in nanoseconds from an arbitrary origin, supplied by the shell.
pub trait MonotonicClock: Send + Sync {
    /// Nanoseconds since the clock's origin; never decreases.
    fn now_nanoseconds(&self) -> u64;
}

/// What a measured run recorded.
pub struct CycleMetrics {
    clock: Box<dyn MonotonicClock>,
    extension_point_nanoseconds: [u64; ExtensionPoint::ALL.len()],
    algorithm_nanoseconds: Vec<u64>,
    attempt_nanoseconds: Vec<u64>,
}

impl fmt::Debug for CycleMetrics {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.debug_struct("CycleMetrics")
            .field("extension_point_nanoseconds", &self.extension_point_nanoseconds)
            .field("attempts", &self.attempt_nanoseconds.len())
            .finish()
    }
}

impl CycleMetrics {
    /// Empty metrics reading this clock.
    pub fn new(clock: Box<dyn MonotonicClock>) -> CycleMetrics {
        CycleMetrics {
            clock,
            extension_point_nanoseconds: [0; ExtensionPoint::ALL.len()],
            algorithm_nanoseconds: Vec::new(),
            attempt_nanoseconds: Vec::new(),
        }
    }

    /// The time spent in one extension point over the whole run.
    pub fn total(&self, point: ExtensionPoint) -> Duration {
        Duration::from_nanos(self.extension_point_nanoseconds[point as usize])
    }

    /// How long each scheduling algorithm run (`schedulePod`: PreFilter to host selection)
    /// took, in nanoseconds, in attempt order.
    pub fn algorithm_nanoseconds(&self) -> &[u64] {
        &self.algorithm_nanoseconds
    }

    /// How long each whole attempt (algorithm, PostFilter, Reserve to Bind) took, in
    /// nanoseconds, in attempt order.
    pub fn attempt_nanoseconds(&self) -> &[u64] {
        &self.attempt_nanoseconds
    }
}

/// The nearest-rank percentile (0 to 100) of durations; zero when there are none.
pub fn percentile(nanoseconds: &[u64], percent: u32) -> Duration {
    if nanoseconds.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = nanoseconds.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() * percent.min(100) as usize).div_ceil(100).max(1);
    Duration::from_nanos(sorted[rank - 1])
}

/// The scheduler's measuring hook: off by default (no clock is read), on once the shell gives
/// it [`CycleMetrics`].
#[derive(Debug, Default)]
pub struct Meter {
    metrics: Option<CycleMetrics>,
}

impl Meter {
    /// A meter recording into these metrics.
    pub fn new(metrics: CycleMetrics) -> Meter {
        Meter { metrics: Some(metrics) }
    }

    /// The metrics recorded so far, if measuring.
    pub fn metrics(&self) -> Option<&CycleMetrics> {
        self.metrics.as_ref()
    }

    /// A start mark: the clock's reading, or 0 when not measuring.
    pub fn start(&self) -> u64 {
        self.metrics.as_ref().map_or(0, |metrics| metrics.clock.now_nanoseconds())
    }

    fn elapsed(metrics: &CycleMetrics, started: u64) -> u64 {
        metrics.clock.now_nanoseconds().saturating_sub(started)
    }

    /// Adds the time since `started` to an extension point's total.
    pub fn record(&mut self, point: ExtensionPoint, started: u64) {
        if let Some(metrics) = &mut self.metrics {
            metrics.extension_point_nanoseconds[point as usize] += Meter::elapsed(metrics, started);
        }
    }

    /// Records one scheduling algorithm run that began at `started`.
    pub fn record_algorithm(&mut self, started: u64) {
        if let Some(metrics) = &mut self.metrics {
            let elapsed = Meter::elapsed(metrics, started);
            metrics.algorithm_nanoseconds.push(elapsed);
        }
    }

    /// Records one whole attempt that began at `started`.
    pub fn record_attempt(&mut self, started: u64) {
        if let Some(metrics) = &mut self.metrics {
            let elapsed = Meter::elapsed(metrics, started);
            metrics.attempt_nanoseconds.push(elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A clock that advances by one microsecond at every reading.
    struct Ticking(AtomicU64);

    impl MonotonicClock for Ticking {
        fn now_nanoseconds(&self) -> u64 {
            self.0.fetch_add(1_000, Ordering::Relaxed)
        }
    }

    #[test]
    fn a_meter_without_metrics_reads_no_clock_and_records_nothing() {
        let mut meter = Meter::default();
        let started = meter.start();
        meter.record(ExtensionPoint::Filter, started);
        meter.record_attempt(started);
        assert_eq!(started, 0);
        assert!(meter.metrics().is_none());
    }

    #[test]
    fn a_meter_totals_points_and_keeps_every_attempt() {
        let mut meter = Meter::new(CycleMetrics::new(Box::new(Ticking(AtomicU64::new(0)))));
        let attempt = meter.start();
        let filter = meter.start();
        meter.record(ExtensionPoint::Filter, filter);
        let score = meter.start();
        meter.record(ExtensionPoint::Score, score);
        meter.record_attempt(attempt);
        let metrics = meter.metrics().expect("measuring");
        assert_eq!(metrics.total(ExtensionPoint::Filter), Duration::from_micros(1));
        assert_eq!(metrics.total(ExtensionPoint::Score), Duration::from_micros(1));
        assert_eq!(metrics.total(ExtensionPoint::Bind), Duration::ZERO);
        assert_eq!(metrics.attempt_nanoseconds(), &[5_000]);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let durations: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&durations, 50), Duration::from_nanos(50));
        assert_eq!(percentile(&durations, 99), Duration::from_nanos(99));
        assert_eq!(percentile(&durations, 100), Duration::from_nanos(100));
        assert_eq!(percentile(&[7], 1), Duration::from_nanos(7));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
