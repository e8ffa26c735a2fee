//! Durations as scenarios write them (`500ms`, `30s`, `10m`, `1h30m`, `2d`) and as traces and
//! reports print them.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A span of simulated time, read from text such as `1h30m` or a bare number of seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub Duration);

/// Why a duration could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (write e.g. 500ms, 30s, 10m, 1h30m, 2d)")]
pub struct DurationError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The longest duration a scenario may name: 400 days, far past any useful simulation, so that
/// arithmetic on timestamps can never overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(400 * 24 * 3600);

impl SimDuration {
    /// A duration of whole seconds.
    pub const fn from_secs(seconds: u64) -> SimDuration {
        SimDuration(Duration::from_secs(seconds))
    }

    /// Reads `500ms`, `30s`, `10m`, `1h30m`, `2d` (units may be combined, largest first) or a bare
    /// number of seconds.
    pub fn parse(text: &str) -> Result<SimDuration, DurationError> {
        let error = |reason| DurationError { text: text.to_string(), reason };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(error("it is empty"));
        }
        if let Ok(seconds) = trimmed.parse::<u64>() {
            return SimDuration::checked(Duration::from_secs(seconds.min(MAX_DURATION.as_secs() + 1)), text);
        }
        let mut total_millis: u128 = 0;
        let mut rest = trimmed;
        let mut last_unit_millis = u128::MAX;
        while !rest.is_empty() {
            let digits = rest.find(|character: char| !character.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return Err(error("a number must come before each unit"));
            }
            let number: u128 = rest[..digits].parse().map_err(|_| error("the number is too large"))?;
            rest = &rest[digits..];
            let unit_length = rest.find(|character: char| character.is_ascii_digit()).unwrap_or(rest.len());
            let unit_millis: u128 = match &rest[..unit_length] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "" => return Err(error("a unit must follow the number")),
                _ => return Err(error("unknown unit")),
            };
            if unit_millis >= last_unit_millis {
                return Err(error("units must go from largest to smallest, each once"));
            }
            last_unit_millis = unit_millis;
            rest = &rest[unit_length..];
            total_millis = total_millis.saturating_add(number.saturating_mul(unit_millis));
        }
        let millis = u64::try_from(total_millis).unwrap_or(u64::MAX);
        SimDuration::checked(Duration::from_millis(millis), text)
    }

    fn checked(duration: Duration, text: &str) -> Result<SimDuration, DurationError> {
        if duration > MAX_DURATION {
            return Err(DurationError { text: text.to_string(), reason: "it is longer than 400 days" });
        }
        Ok(SimDuration(duration))
    }

    /// Whole milliseconds.
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for SimDuration {
    /// The shortest exact form: `1h30m`, `45s`, `1m0.5s` is written `60500ms`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.as_millis();
        if millis == 0 {
            return formatter.write_str("0s");
        }
        if !millis.is_multiple_of(1_000) {
            return write!(formatter, "{millis}ms");
        }
        let mut seconds = millis / 1_000;
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
            if seconds >= size {
                write!(formatter, "{}{unit}", seconds / size)?;
                seconds %= size;
            }
        }
        if seconds > 0 {
            write!(formatter, "{seconds}s")?;
        }
        Ok(())
    }
}

/// Formats an offset from the start of a run as `HH:MM:SS.mmm`, as traces and reports show time.
pub fn format_offset(millis: u64) -> String {
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = millis / 1_000 % 60;
    format!("{hours:02}:{minutes:02}:{seconds:02}.{:03}", millis % 1_000)
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SimDuration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = SimDuration;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a duration such as 30s, 10m or 1h30m")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SimDuration, E> {
                SimDuration::parse(text).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<SimDuration, E> {
                SimDuration::parse(&seconds.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<SimDuration, E> {
                let seconds = u64::try_from(seconds).map_err(|_| E::custom("a duration cannot be negative"))?;
                self.visit_u64(seconds)
            }
            fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<SimDuration, E> {
                if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&seconds) {
                    return Err(E::custom("a duration must be between 0 and 400 days"));
                }
                Ok(SimDuration(Duration::from_millis((seconds * 1_000.0).round() as u64)))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_every_unit_and_combination() {
        let cases = [
            ("500ms", 500),
            ("30s", 30_000),
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("1m30s250ms", 90_250),
            ("45", 45_000),
        ];
        for (text, millis) in cases {
            assert_eq!(SimDuration::parse(text).map(SimDuration::as_millis), Ok(millis), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        let cases = [
            ("", "it is empty"),
            ("5x", "unknown unit"),
            ("m", "a number must come before each unit"),
            ("30s1m", "units must go from largest to smallest, each once"),
            ("10h5", "a unit must follow the number"),
            ("401d", "it is longer than 400 days"),
            ("99999999999999999999999999999999999999999s", "the number is too large"),
        ];
        for (text, reason) in cases {
            assert_eq!(SimDuration::parse(text).map_err(|error| error.reason), Err(reason), "{text:?}");
        }
    }

    #[test]
    fn durations_print_in_their_shortest_exact_form() {
        for (millis, text) in
            [(0, "0s"), (5_400_000, "1h30m"), (90_000, "1m30s"), (1_500, "1500ms"), (86_400_000, "1d")]
        {
            assert_eq!(SimDuration(Duration::from_millis(millis)).to_string(), text);
        }
        assert_eq!(format_offset(3_723_004), "01:02:03.004");
    }
}
