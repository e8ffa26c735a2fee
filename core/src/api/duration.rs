//! Human-readable ages (`3m10s`, `2d1h`, `8y`) as Kubernetes prints them in the AGE, RESTARTS and
//! DURATION columns of `kubectl get`: a port of apimachinery's `duration.HumanDuration`.

use jiff::{SignedDuration, Timestamp};

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const YEAR: i64 = 365 * DAY;

/// A duration with two or three significant figures, the way `kubectl get` prints ages. Up to
/// two seconds in the past (clock skew between machines) reads as `0s`; more is `<invalid>`.
pub fn human_duration(duration: SignedDuration) -> String {
    // Whole seconds, truncated toward zero like Go's `int(d.Seconds())`.
    let seconds = duration.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 2 * MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / MINUTE;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % MINUTE, "s");
    }
    if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = seconds / HOUR;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return with_remainder(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return with_remainder(seconds / YEAR, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", seconds / YEAR)
}

/// The age of `timestamp` at `now`, or `<unknown>` when there is no timestamp (Kubernetes'
/// `translateTimestampSince`).
pub fn age(timestamp: Option<Timestamp>, now: Timestamp) -> String {
    match timestamp {
        Some(timestamp) => human_duration(now.duration_since(timestamp)),
        None => "<unknown>".to_string(),
    }
}

fn with_remainder(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 { format!("{major}{major_unit}") } else { format!("{major}{major_unit}{minor}{minor_unit}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MILLISECOND: SignedDuration = SignedDuration::from_millis(1);

    fn secs(seconds: i64) -> SignedDuration {
        SignedDuration::from_secs(seconds)
    }

    /// Ported from apimachinery `duration_test.go` `TestHumanDuration`.
    #[test]
    fn durations_print_with_two_or_three_significant_figures() {
        let cases = [
            (secs(1), "1s"),
            (secs(70), "70s"),
            (secs(190), "3m10s"),
            (secs(70 * MINUTE), "70m"),
            (secs(47 * HOUR), "47h"),
            (secs(49 * HOUR), "2d1h"),
            (secs((8 * 24 + 2) * HOUR), "8d"),
            (secs(367 * DAY), "367d"),
            (secs((365 * 2 * 24 + 25) * HOUR), "2y1d"),
            (secs((365 * 8 * 24 + 2) * HOUR), "8y"),
        ];
        for (duration, want) in cases {
            assert_eq!(human_duration(duration), want, "{duration:?}");
        }
    }

    /// Ported from apimachinery `duration_test.go` `TestHumanDurationBoundaries`.
    #[test]
    fn durations_switch_units_exactly_at_kubernetes_boundaries() {
        let cases = [
            (secs(-2), "<invalid>"),
            (secs(-2) + SignedDuration::from_nanos(1), "0s"),
            (secs(0), "0s"),
            (secs(1) - MILLISECOND, "0s"),
            (secs(2 * MINUTE) - MILLISECOND, "119s"),
            (secs(2 * MINUTE), "2m"),
            (secs(2 * MINUTE + 1), "2m1s"),
            (secs(10 * MINUTE) - MILLISECOND, "9m59s"),
            (secs(10 * MINUTE), "10m"),
            (secs(10 * MINUTE + 1), "10m"),
            (secs(3 * HOUR) - MILLISECOND, "179m"),
            (secs(3 * HOUR), "3h"),
            (secs(3 * HOUR + MINUTE), "3h1m"),
            (secs(8 * HOUR) - MILLISECOND, "7h59m"),
            (secs(8 * HOUR), "8h"),
            (secs(8 * HOUR + 59 * MINUTE), "8h"),
            (secs(2 * DAY) - MILLISECOND, "47h"),
            (secs(2 * DAY), "2d"),
            (secs(2 * DAY + HOUR), "2d1h"),
            (secs(8 * DAY) - MILLISECOND, "7d23h"),
            (secs(8 * DAY), "8d"),
            (secs(8 * DAY + 23 * HOUR), "8d"),
            (secs(2 * YEAR) - MILLISECOND, "729d"),
            (secs(2 * YEAR), "2y"),
            (secs(2 * YEAR + 23 * HOUR), "2y"),
            (secs(2 * YEAR + 23 * HOUR + 59 * MINUTE), "2y"),
            (secs(2 * YEAR + DAY) - MILLISECOND, "2y"),
            (secs(2 * YEAR + DAY), "2y1d"),
            (secs(3 * YEAR), "3y"),
            (secs(4 * YEAR), "4y"),
            (secs(5 * YEAR), "5y"),
            (secs(6 * YEAR), "6y"),
            (secs(7 * YEAR), "7y"),
            (secs(8 * YEAR) - MILLISECOND, "7y364d"),
            (secs(8 * YEAR), "8y"),
            (secs(8 * YEAR + 364 * DAY), "8y"),
            (secs(9 * YEAR), "9y"),
        ];
        for (duration, want) in cases {
            assert_eq!(human_duration(duration), want, "{duration:?}");
        }
    }

    #[test]
    fn a_missing_timestamp_has_an_unknown_age() {
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(age(None, now), "<unknown>");
        assert_eq!(age(Some(now - secs(190)), now), "3m10s");
    }
}
