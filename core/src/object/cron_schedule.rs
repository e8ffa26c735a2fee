//! Standard 5-field cron schedules as Kubernetes reads `spec.schedule` (robfig/cron v3's
//! `ParseStandard`): minute, hour, day of month, month and day of week, each a comma list of
//! `*`/`?`, numbers or names, ranges `a-b` and steps `/n`; the descriptors `@yearly`,
//! `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly`; and the next
//! activation after a time in a time zone (robfig's `SpecSchedule.Next`).
//!
//! `@every <duration>` (robfig's `ConstantDelaySchedule`: Go's duration syntax, at least one
//! second, whole seconds) is read too, as Kubernetes 1.32 accepts it in validation and runs it in
//! the controller. A `TZ=`/`CRON_TZ=` prefix is refused (Kubernetes validation refuses it on
//! create: "use timeZone field instead"). The parser lives with the object model because both
//! validation and the CronJob controller read schedules with it.
//! No crate fitted: the jiff-based `jiff-cron` reads 6/7-field expressions with seconds and years,
//! and `cron`, `croner` and `saffron` are built on chrono.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, Zoned};
use k8s_openapi::jiff;

/// Bit set when a field was written `*` or `?` (robfig's `starBit`): it switches the day fields
/// from "either matches" to "both match".
const STAR_BIT: u64 = 1 << 63;

/// How far ahead `next` looks before it gives up, in years (robfig's five-year limit).
const SEARCH_YEARS: i16 = 5;

/// Bounds and names of one field.
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DAYS_OF_MONTH: Bounds = Bounds { min: 1, max: 31, names: &[] };
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DAYS_OF_WEEK: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)],
};

/// Why a schedule could not be read; the messages are robfig/cron's, which Kubernetes shows in
/// validation errors and `UnparseableSchedule` events.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The schedule is empty.
    #[error("empty spec string")]
    Empty,
    /// The schedule names a time zone (`TZ=` or `CRON_TZ=`).
    #[error("cannot use TZ or CRON_TZ in schedule, use timeZone field instead")]
    TimeZoneInSchedule,
    /// `@every <duration>` whose duration Go's `time.ParseDuration` refuses.
    #[error("failed to parse duration {spec}: time: invalid duration {duration:?}")]
    InvalidDuration {
        /// The whole descriptor.
        spec: String,
        /// The duration text.
        duration: String,
    },
    /// An `@` descriptor that does not exist.
    #[error("unrecognized descriptor: {0}")]
    UnrecognizedDescriptor(String),
    /// Not five fields.
    #[error("expected exactly 5 fields, found {found}: [{fields}]")]
    FieldCount {
        /// How many fields there were.
        found: usize,
        /// The fields, space separated.
        fields: String,
    },
    /// A value that is neither a number nor a name.
    #[error("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: {reason}")]
    NotANumber {
        /// The text.
        expr: String,
        /// `invalid syntax` or `value out of range`.
        reason: &'static str,
    },
    /// A negative number.
    #[error("negative number ({number}) not allowed: {expr}")]
    Negative {
        /// The number.
        number: i64,
        /// The text it came from.
        expr: String,
    },
    /// `a-b-c`.
    #[error("too many hyphens: {0}")]
    TooManyHyphens(String),
    /// `a/b/c`.
    #[error("too many slashes: {0}")]
    TooManySlashes(String),
    /// A range starting below the field's minimum.
    #[error("beginning of range ({start}) below minimum ({min}): {expr}")]
    BelowMinimum {
        /// The start.
        start: u64,
        /// The field's minimum.
        min: u64,
        /// The range.
        expr: String,
    },
    /// A range ending above the field's maximum.
    #[error("end of range ({end}) above maximum ({max}): {expr}")]
    AboveMaximum {
        /// The end.
        end: u64,
        /// The field's maximum.
        max: u64,
        /// The range.
        expr: String,
    },
    /// A range whose start is after its end.
    #[error("beginning of range ({start}) beyond end of range ({end}): {expr}")]
    StartBeyondEnd {
        /// The start.
        start: u64,
        /// The end.
        end: u64,
        /// The range.
        expr: String,
    },
    /// A step of zero.
    #[error("step of range should be a positive number: {0}")]
    ZeroStep(String),
}

/// A parsed schedule: one bit per allowed value of each field (seconds are always 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// For `@every`: the constant delay in whole seconds; the calendar fields are then unused.
    every: Option<i64>,
    minute: u64,
    hour: u64,
    day_of_month: u64,
    month: u64,
    day_of_week: u64,
}

impl Schedule {
    /// Parses a standard schedule (`ParseStandard`), refusing time zone prefixes.
    pub fn parse(spec: &str) -> Result<Schedule, ScheduleError> {
        if spec.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if spec.contains("TZ") {
            return Err(ScheduleError::TimeZoneInSchedule);
        }
        if spec.starts_with('@') {
            return parse_descriptor(spec);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
            return Err(ScheduleError::FieldCount { found: fields.len(), fields: fields.join(" ") });
        };
        Ok(Schedule {
            every: None,
            minute: field_bits(minute, &MINUTES)?,
            hour: field_bits(hour, &HOURS)?,
            day_of_month: field_bits(day_of_month, &DAYS_OF_MONTH)?,
            month: field_bits(month, &MONTHS)?,
            day_of_week: field_bits(day_of_week, &DAYS_OF_WEEK)?,
        })
    }

    /// The first activation strictly after `after`, read in `time_zone`; `None` if there is
    /// none within five years (`Feb 30`).
    pub fn next(&self, after: Timestamp, time_zone: &TimeZone) -> Option<Timestamp> {
        if let Some(delay) = self.every {
            // robfig's `ConstantDelaySchedule.Next`: the whole second plus the delay.
            return Timestamp::from_second(after.as_second().checked_add(delay)?).ok();
        }
        // Start at the next whole second.
        let start = after.as_second() + 1;
        let mut time = Timestamp::from_second(start).ok()?.to_zoned(time_zone.clone());
        let mut added = false;
        let year_limit = time.year() + SEARCH_YEARS;
        'wrap: loop {
            if time.year() > year_limit {
                return None;
            }
            while !has_bit(self.month, time.month()) {
                if !added {
                    added = true;
                    time = local(time.year().into(), time.month().into(), 1, 0, 0, time_zone)?;
                }
                time = add_date(&time, 1, 0, time_zone)?;
                if time.month() == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(&time) {
                if !added {
                    added = true;
                    time = local(time.year().into(), time.month().into(), time.day().into(), 0, 0, time_zone)?;
                }
                time = add_date(&time, 0, 1, time_zone)?;
                // Where midnight does not exist (daylight saving), come back to it.
                let hour = i64::from(time.hour());
                if hour != 0 {
                    let shift = if hour > 12 { 24 - hour } else { -hour };
                    time = time.checked_add(SignedDuration::from_hours(shift)).ok()?;
                }
                if time.day() == 1 {
                    continue 'wrap;
                }
            }
            while !has_bit(self.hour, time.hour()) {
                if !added {
                    added = true;
                    let (year, month, day) = (time.year().into(), time.month().into(), time.day().into());
                    time = local(year, month, day, time.hour(), 0, time_zone)?;
                }
                time = time.checked_add(SignedDuration::from_hours(1)).ok()?;
                if time.hour() == 0 {
                    continue 'wrap;
                }
            }
            while !has_bit(self.minute, time.minute()) {
                if !added {
                    added = true;
                    time = truncate(&time, 60, time_zone)?;
                }
                time = time.checked_add(SignedDuration::from_mins(1)).ok()?;
                if time.minute() == 0 {
                    continue 'wrap;
                }
            }
            while time.second() != 0 {
                if !added {
                    added = true;
                    time = truncate(&time, 1, time_zone)?;
                }
                time = time.checked_add(SignedDuration::from_secs(1)).ok()?;
                if time.second() == 0 {
                    continue 'wrap;
                }
            }
            return Some(time.timestamp());
        }
    }

    /// robfig's `dayMatches`: if either day field was `*`, both must match; else either may.
    fn day_matches(&self, time: &Zoned) -> bool {
        let day_of_month = has_bit(self.day_of_month, time.day());
        let day_of_week = has_bit(self.day_of_week, time.weekday().to_sunday_zero_offset());
        if self.day_of_month & STAR_BIT != 0 || self.day_of_week & STAR_BIT != 0 {
            day_of_month && day_of_week
        } else {
            day_of_month || day_of_week
        }
    }
}

fn has_bit(bits: u64, value: i8) -> bool {
    (0..63).contains(&value) && bits & (1 << value) != 0
}

/// `time.Date` in the zone, normalising a month or day past the end as Go does
/// (January 32nd is February 1st).
fn local(year: i64, month: i64, day: i64, hour: i8, minute: i8, time_zone: &TimeZone) -> Option<Zoned> {
    let months_from_january = month - 1;
    let year = i16::try_from(year + months_from_january.div_euclid(12)).ok()?;
    let month = i8::try_from(months_from_january.rem_euclid(12) + 1).ok()?;
    let first = Date::new(year, month, 1).ok()?;
    let date = first.checked_add(Span::new().try_days(day - 1).ok()?).ok()?;
    let time = Time::new(hour, minute, 0, 0).ok()?;
    DateTime::from_parts(date, time).to_zoned(time_zone.clone()).ok()
}

/// Go's `AddDate(0, months, days)`: the same wall clock on the shifted calendar date.
fn add_date(time: &Zoned, months: i64, days: i64, time_zone: &TimeZone) -> Option<Zoned> {
    let (year, month, day) = (i64::from(time.year()), i64::from(time.month()), i64::from(time.day()));
    let shifted = local(year, month + months, day + days, time.hour(), time.minute(), time_zone)?;
    shifted.checked_add(SignedDuration::from_secs(time.second().into())).ok()
}

/// Go's `Truncate` to a whole number of seconds since the epoch.
fn truncate(time: &Zoned, seconds: i64, time_zone: &TimeZone) -> Option<Zoned> {
    let second = time.timestamp().as_second();
    Some(Timestamp::from_second(second - second.rem_euclid(seconds)).ok()?.to_zoned(time_zone.clone()))
}

/// Go's `time.ParseDuration` in nanoseconds: an optional sign, then numbers with an optional
/// fraction, each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); `0` alone needs none.
/// `None` for anything Go refuses, including a total beyond `i64` nanoseconds.
pub fn parse_go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_length = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_length);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let mut value = whole.checked_mul(scale)?;
        let mut divisor: i128 = 1;
        for digit in fraction.chars().take(18) {
            divisor *= 10;
            value = value.checked_add(i128::from(digit.to_digit(10)?) * scale / divisor)?;
        }
        total = total.checked_add(value)?;
        if total > i128::from(i64::MAX) + 1 {
            return None;
        }
        rest = next;
    }
    let total = if negative { -total } else { total };
    (i128::from(i64::MIN)..=i128::from(i64::MAX)).contains(&total).then_some(total)
}

/// The descriptors robfig's standard parser knows.
fn parse_descriptor(descriptor: &str) -> Result<Schedule, ScheduleError> {
    let all = |bounds: &Bounds| bits(bounds.min, bounds.max, 1) | STAR_BIT;
    let first = |bounds: &Bounds| 1u64 << bounds.min;
    let daily = Schedule {
        every: None,
        minute: first(&MINUTES),
        hour: first(&HOURS),
        day_of_month: all(&DAYS_OF_MONTH),
        month: all(&MONTHS),
        day_of_week: all(&DAYS_OF_WEEK),
    };
    match descriptor {
        "@yearly" | "@annually" => Ok(Schedule { day_of_month: first(&DAYS_OF_MONTH), month: first(&MONTHS), ..daily }),
        "@monthly" => Ok(Schedule { day_of_month: first(&DAYS_OF_MONTH), ..daily }),
        "@weekly" => Ok(Schedule { day_of_week: first(&DAYS_OF_WEEK), ..daily }),
        "@daily" | "@midnight" => Ok(daily),
        "@hourly" => Ok(Schedule { hour: all(&HOURS), ..daily }),
        _ if descriptor.starts_with("@every ") => {
            let text = &descriptor["@every ".len()..];
            let invalid =
                || ScheduleError::InvalidDuration { spec: descriptor.to_string(), duration: text.to_string() };
            let nanoseconds = parse_go_duration(text).ok_or_else(invalid)?;
            // robfig's `Every`: at least a second, cut to whole seconds.
            let seconds = (nanoseconds / 1_000_000_000).max(1);
            Ok(Schedule { every: Some(i64::try_from(seconds).map_err(|_| invalid())?), ..daily })
        }
        _ => Err(ScheduleError::UnrecognizedDescriptor(descriptor.to_string())),
    }
}

/// `getField`: the union of the comma-separated ranges (empty items are skipped).
fn field_bits(field: &str, bounds: &Bounds) -> Result<u64, ScheduleError> {
    let mut result = 0;
    for range in field.split(',').filter(|range| !range.is_empty()) {
        result |= range_bits(range, bounds)?;
    }
    Ok(result)
}

/// `getRange`: `*`, `?`, `n`, `a-b`, each optionally `/step`; `n/step` runs to the maximum.
fn range_bits(expr: &str, bounds: &Bounds) -> Result<u64, ScheduleError> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let mut extra = 0;
    let (start, mut end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        extra = STAR_BIT;
        (bounds.min, bounds.max)
    } else {
        let start = number_or_name(low_and_high[0], bounds)?;
        match low_and_high.len() {
            1 => (start, start),
            2 => (start, number_or_name(low_and_high[1], bounds)?),
            _ => return Err(ScheduleError::TooManyHyphens(expr.to_string())),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = number(range_and_step[1])?;
            if single {
                end = bounds.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(ScheduleError::TooManySlashes(expr.to_string())),
    };
    let expr = expr.to_string();
    if start < bounds.min {
        return Err(ScheduleError::BelowMinimum { start, min: bounds.min, expr });
    }
    if end > bounds.max {
        return Err(ScheduleError::AboveMaximum { end, max: bounds.max, expr });
    }
    if start > end {
        return Err(ScheduleError::StartBeyondEnd { start, end, expr });
    }
    if step == 0 {
        return Err(ScheduleError::ZeroStep(expr));
    }
    Ok(bits(start, end, step) | extra)
}

fn number_or_name(expr: &str, bounds: &Bounds) -> Result<u64, ScheduleError> {
    let lower = expr.to_ascii_lowercase();
    match bounds.names.iter().find(|(name, _)| *name == lower) {
        Some((_, value)) => Ok(*value),
        None => number(expr),
    }
}

/// `mustParseInt`: a non-negative decimal integer, as Go's `strconv.Atoi` reads it.
fn number(expr: &str) -> Result<u64, ScheduleError> {
    let parsed = expr.parse::<i64>().map_err(|error| {
        let reason = match error.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        ScheduleError::NotANumber { expr: expr.to_string(), reason }
    })?;
    u64::try_from(parsed).map_err(|_| ScheduleError::Negative { number: parsed, expr: expr.to_string() })
}

/// Bits `min..=max` every `step` (both within 0..=62 once the bounds are checked).
fn bits(min: u64, max: u64, step: u64) -> u64 {
    (min..=max).step_by(step as usize).fold(0, |bits, value| bits | (1 << value))
}

#[cfg(test)]
#[path = "cron_schedule_tests.rs"]
mod tests;
