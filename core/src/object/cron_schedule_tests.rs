//! Schedule tests ported from robfig/cron v3 (`parser_test.go`: TestRange, TestField, TestBits,
//! the error rows; `spec_test.go`: TestActivation, TestNext with its daylight-saving rows). robfig's
//! rows carry a seconds field and an optional day of week; the rows whose seconds are `0` are
//! kept without it (and with `*` for a missing day of week), the few with other seconds
//! (`15/35 …`) cannot be written in 5 fields and are left out.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::jiff;

use super::*;

fn bounds(min: u64, max: u64) -> Bounds {
    Bounds { min, max, names: &[] }
}

#[test]
fn ranges_set_the_bits_robfig_sets() {
    let star = STAR_BIT;
    let rows: &[(&str, u64, u64, u64)] = &[
        ("5", 0, 7, 1 << 5),
        ("0", 0, 7, 1),
        ("7", 0, 7, 1 << 7),
        ("5-5", 0, 7, 1 << 5),
        ("5-6", 0, 7, 1 << 5 | 1 << 6),
        ("5-7", 0, 7, 1 << 5 | 1 << 6 | 1 << 7),
        ("5-6/2", 0, 7, 1 << 5),
        ("5-7/2", 0, 7, 1 << 5 | 1 << 7),
        ("5-7/1", 0, 7, 1 << 5 | 1 << 6 | 1 << 7),
        ("*", 1, 3, 1 << 1 | 1 << 2 | 1 << 3 | star),
        ("*/2", 1, 3, 1 << 1 | 1 << 3),
    ];
    for (expr, min, max, expected) in rows {
        assert_eq!(range_bits(expr, &bounds(*min, *max)), Ok(*expected), "{expr}");
    }
}

#[test]
fn bad_ranges_fail_with_robfigs_messages() {
    let rows: &[(&str, u64, u64, &str)] = &[
        ("5--5", 0, 0, "too many hyphens"),
        ("jan-x", 0, 0, "failed to parse int from"),
        ("2-x", 1, 5, "failed to parse int from"),
        ("*/-12", 0, 0, "negative number"),
        ("*//2", 0, 0, "too many slashes"),
        ("1", 3, 5, "below minimum"),
        ("6", 3, 5, "above maximum"),
        ("5-3", 3, 5, "beyond end of range"),
        ("*/0", 0, 0, "should be a positive number"),
    ];
    for (expr, min, max, message) in rows {
        let error = range_bits(expr, &bounds(*min, *max)).unwrap_err();
        assert!(error.to_string().contains(message), "{expr}: {error}");
    }
}

#[test]
fn fields_are_the_union_of_their_comma_separated_ranges() {
    let rows: &[(&str, u64)] = &[
        ("5", 1 << 5),
        ("5,6", 1 << 5 | 1 << 6),
        ("5,6,7", 1 << 5 | 1 << 6 | 1 << 7),
        ("1,5-7/2,3", 1 << 1 | 1 << 5 | 1 << 7 | 1 << 3),
    ];
    for (expr, expected) in rows {
        assert_eq!(field_bits(expr, &bounds(1, 7)), Ok(*expected), "{expr}");
    }
}

#[test]
fn every_value_of_a_field_sets_robfigs_masks() {
    let all = |bounds: &Bounds| bits(bounds.min, bounds.max, 1);
    assert_eq!(all(&MINUTES), 0xfffffffffffffff);
    assert_eq!(all(&HOURS), 0xffffff);
    assert_eq!(all(&DAYS_OF_MONTH), 0xfffffffe);
    assert_eq!(all(&MONTHS), 0x1ffe);
    assert_eq!(all(&DAYS_OF_WEEK), 0x7f);
    assert_eq!(bits(0, 0, 1), 0x1);
    assert_eq!(bits(1, 1, 1), 0x2);
    assert_eq!(bits(1, 5, 2), 0x2a);
    assert_eq!(bits(1, 4, 2), 0xa);
}

#[test]
fn a_standard_spec_parses_to_its_bit_sets() {
    let all = |bounds: &Bounds| bits(bounds.min, bounds.max, 1) | STAR_BIT;
    let expected = Schedule {
        every: None,
        minute: 1 << 5,
        hour: all(&HOURS),
        day_of_month: all(&DAYS_OF_MONTH),
        month: all(&MONTHS),
        day_of_week: all(&DAYS_OF_WEEK),
    };
    assert_eq!(Schedule::parse("5 * * * *"), Ok(expected));
    assert_eq!(Schedule::parse("5 * * * ?"), Ok(expected));
}

// robfig's TestParseSchedule `@every` rows and TestConstantDelayNext: Go durations, at least a
// second, whole seconds, the next activation a delay after the whole second.
#[test]
fn every_is_a_constant_delay_of_whole_seconds() {
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    let rows: &[(&str, &str, &str)] = &[
        ("@every 5m", "2012-07-09T14:45:00Z", "2012-07-09T14:50:00Z"),
        ("@every 15m", "2012-07-09T14:59:59Z", "2012-07-09T15:14:59Z"),
        ("@every 1h30m", "2012-07-09T23:35:00Z", "2012-07-10T01:05:00Z"),
        ("@every 1.5h", "2012-07-09T23:35:00Z", "2012-07-10T01:05:00Z"),
        ("@every 500ms", "2012-07-09T14:45:00Z", "2012-07-09T14:45:01Z"),
        ("@every 1500ms", "2012-07-09T14:45:00Z", "2012-07-09T14:45:01Z"),
        ("@every 1h", "2012-07-09T14:45:00.5Z", "2012-07-09T15:45:00Z"),
        ("@every -1h", "2012-07-09T14:45:00Z", "2012-07-09T14:45:01Z"),
    ];
    for (spec, from, want) in rows {
        let schedule = Schedule::parse(spec).unwrap_or_else(|error| panic!("{spec}: {error}"));
        assert_eq!(schedule.next(at(from), &TimeZone::UTC), Some(at(want)), "{spec} after {from}");
    }
    assert_eq!(parse_go_duration("1h2m3.5s"), Some(3_723_500_000_000));
    assert_eq!(parse_go_duration("2562047h47m16.854775807s"), Some(i128::from(i64::MAX)));
    assert_eq!(parse_go_duration("2562048h"), None, "beyond i64 nanoseconds");
    assert_eq!(parse_go_duration("1"), None, "a unit is needed");
}

#[test]
fn bad_schedules_fail_with_robfigs_and_kubernetes_messages() {
    let rows: &[(&str, &str)] = &[
        ("", "empty spec string"),
        ("5 j * * *", "failed to parse int from j: strconv.Atoi: parsing \"j\": invalid syntax"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("* 5 * * * *", "expected exactly 5 fields, found 6: [* 5 * * * *]"),
        ("@unrecognized", "unrecognized descriptor: @unrecognized"),
        ("@every 5x", "failed to parse duration @every 5x: time: invalid duration \"5x\""),
        ("@every ", "failed to parse duration @every : time: invalid duration \"\""),
        ("TZ=UTC 0 * * * *", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("CRON_TZ=America/New_York 0 * * * *", "cannot use TZ or CRON_TZ in schedule"),
        ("xyz", "expected exactly 5 fields, found 1: [xyz]"),
        ("60 0 * * *", "end of range (60) above maximum (59): 60"),
        ("0 24 * * *", "end of range (24) above maximum (23): 24"),
        ("0 0 * * XYZ", "failed to parse int from XYZ"),
        ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("obvious error schedule", "expected exactly 5 fields, found 3: [obvious error schedule]"),
    ];
    for (spec, message) in rows {
        let error = Schedule::parse(spec).unwrap_err();
        assert!(error.to_string().starts_with(message), "{spec:?}: {error}");
    }
}

/// A robfig test time: `Mon Jul 9 15:00 2012` style in UTC.
fn utc(text: &str) -> Timestamp {
    let civil = jiff::civil::DateTime::strptime("%a %b %-d %H:%M %Y", text)
        .or_else(|_| jiff::civil::DateTime::strptime("%a %b %-d %H:%M:%S %Y", text))
        .unwrap();
    civil.to_zoned(TimeZone::UTC).unwrap().timestamp()
}

fn new_york() -> TimeZone {
    jiff::tz::db().get("America/New_York").unwrap()
}

#[test]
fn activation_matches_robfigs_table() {
    let rows: &[(&str, &str, bool)] = &[
        ("Mon Jul 9 15:00 2012", "0/15 * * * *", true),
        ("Mon Jul 9 15:45 2012", "0/15 * * * *", true),
        ("Mon Jul 9 15:40 2012", "0/15 * * * *", false),
        ("Mon Jul 9 15:05 2012", "5/15 * * * *", true),
        ("Mon Jul 9 15:20 2012", "5/15 * * * *", true),
        ("Mon Jul 9 15:50 2012", "5/15 * * * *", true),
        ("Sun Jul 15 15:00 2012", "0/15 * * Jul *", true),
        ("Sun Jul 15 15:00 2012", "0/15 * * Jun *", false),
        ("Sun Jul 15 08:30 2012", "30 08 ? Jul Sun", true),
        ("Sun Jul 15 08:30 2012", "30 08 15 Jul ?", true),
        ("Mon Jul 16 08:30 2012", "30 08 ? Jul Sun", false),
        ("Mon Jul 16 08:30 2012", "30 08 15 Jul ?", false),
        ("Mon Jul 9 15:00 2012", "@hourly", true),
        ("Mon Jul 9 15:04 2012", "@hourly", false),
        ("Mon Jul 9 15:00 2012", "@daily", false),
        ("Mon Jul 9 00:00 2012", "@daily", true),
        ("Mon Jul 9 00:00 2012", "@weekly", false),
        ("Sun Jul 8 00:00 2012", "@weekly", true),
        ("Sun Jul 8 01:00 2012", "@weekly", false),
        ("Sun Jul 8 00:00 2012", "@monthly", false),
        ("Sun Jul 1 00:00 2012", "@monthly", true),
        // Both day fields restricted: either may match.
        ("Sun Jul 15 00:00 2012", "* * 1,15 * Sun", true),
        ("Fri Jun 15 00:00 2012", "* * 1,15 * Sun", true),
        ("Wed Aug 1 00:00 2012", "* * 1,15 * Sun", true),
        // One day field is a star: both must match.
        ("Sun Jul 15 00:00 2012", "* * * * Mon", false),
        // robfig v3.0.1, as Kubernetes vendors it, drops the star of a `*/n` step above 1, so
        // the day fields here are read with "either matches" (robfig's own table, written for
        // an earlier parser, expects `false`).
        ("Sun Jul 15 00:00 2012", "* * */10 * Sun", true),
        ("Mon Jul 9 00:00 2012", "* * 1,15 * *", false),
        ("Sun Jul 15 00:00 2012", "* * 1,15 * *", true),
        ("Sun Jul 15 00:00 2012", "* * */2 * Sun", true),
    ];
    for (time, spec, expected) in rows {
        let schedule = Schedule::parse(spec).unwrap();
        let at = utc(time);
        let next = schedule.next(at - jiff::SignedDuration::from_secs(1), &TimeZone::UTC);
        assert_eq!(next == Some(at), *expected, "{spec} at {time}: {next:?}");
    }
}

#[test]
fn next_matches_robfigs_table() {
    let rows: &[(&str, &str, &str)] = &[
        ("Mon Jul 9 14:45 2012", "0/15 * * * *", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 14:59 2012", "0/15 * * * *", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 14:59:59 2012", "0/15 * * * *", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 15:45 2012", "20-35/15 * * * *", "Mon Jul 9 16:20 2012"),
        ("Mon Jul 9 23:46 2012", "*/15 * * * *", "Tue Jul 10 00:00 2012"),
        ("Mon Jul 9 23:45 2012", "20-35/15 * * * *", "Tue Jul 10 00:20 2012"),
        ("Mon Jul 9 23:35 2012", "0 0 9 Apr-Oct ?", "Thu Aug 9 00:00 2012"),
        // Aug 1 is a `*/5` day and, as above, either day field may match (robfig's table: Aug 6).
        ("Mon Jul 9 23:35 2012", "0 0 */5 Apr,Aug,Oct Mon", "Wed Aug 1 00:00 2012"),
        ("Mon Jul 9 23:35 2012", "0 0 */5 Oct Mon", "Mon Oct 1 00:00 2012"),
        ("Mon Jul 9 23:35 2012", "0 0 * Feb Mon", "Mon Feb 4 00:00 2013"),
        ("Mon Jul 9 23:35 2012", "0 0 * Feb Mon/2", "Fri Feb 1 00:00 2013"),
        ("Mon Dec 31 23:59:45 2012", "* * * * *", "Tue Jan 1 00:00 2013"),
        ("Mon Jul 9 23:35 2012", "0 0 29 Feb ?", "Mon Feb 29 00:00 2016"),
    ];
    for (time, spec, expected) in rows {
        let next = Schedule::parse(spec).unwrap().next(utc(time), &TimeZone::UTC);
        assert_eq!(next, Some(utc(expected)), "{spec} after {time}");
    }
}

#[test]
fn next_across_daylight_saving_changes_in_new_york_matches_robfig() {
    let rows: &[(&str, &str, &str)] = &[
        // 2am EST becomes 3am EDT.
        ("2012-03-11T00:00:00-05:00", "30 2 11 Mar ?", "2013-03-11T02:30:00-04:00"),
        ("2012-03-11T00:00:00-05:00", "0 * * * ?", "2012-03-11T01:00:00-05:00"),
        ("2012-03-11T01:00:00-05:00", "0 * * * ?", "2012-03-11T03:00:00-04:00"),
        ("2012-03-11T03:00:00-04:00", "0 * * * ?", "2012-03-11T04:00:00-04:00"),
        ("2012-03-11T04:00:00-04:00", "0 * * * ?", "2012-03-11T05:00:00-04:00"),
        ("2012-03-11T00:00:00-05:00", "0 1 * * ?", "2012-03-11T01:00:00-05:00"),
        ("2012-03-11T01:00:00-05:00", "0 1 * * ?", "2012-03-12T01:00:00-04:00"),
        ("2012-03-11T00:00:00-05:00", "0 2 * * ?", "2012-03-12T02:00:00-04:00"),
        // 2am EDT becomes 1am EST.
        ("2012-11-04T00:00:00-04:00", "30 2 04 Nov ?", "2012-11-04T02:30:00-05:00"),
        ("2012-11-04T01:45:00-04:00", "30 1 04 Nov ?", "2012-11-04T01:30:00-05:00"),
        ("2012-11-04T00:00:00-04:00", "0 * * * ?", "2012-11-04T01:00:00-04:00"),
        ("2012-11-04T01:00:00-04:00", "0 * * * ?", "2012-11-04T01:00:00-05:00"),
        ("2012-11-04T01:00:00-05:00", "0 * * * ?", "2012-11-04T02:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", "0 1 * * ?", "2012-11-04T01:00:00-04:00"),
        ("2012-11-04T01:00:00-04:00", "0 1 * * ?", "2012-11-04T01:00:00-05:00"),
        ("2012-11-04T01:00:00-05:00", "0 1 * * ?", "2012-11-05T01:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", "0 2 * * ?", "2012-11-04T02:00:00-05:00"),
        ("2012-11-04T02:00:00-05:00", "0 2 * * ?", "2012-11-05T02:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", "0 3 * * ?", "2012-11-04T03:00:00-05:00"),
        ("2012-11-04T03:00:00-05:00", "0 3 * * ?", "2012-11-05T03:00:00-05:00"),
    ];
    for (time, spec, expected) in rows {
        let after: Timestamp = time.parse().unwrap();
        let next = Schedule::parse(spec).unwrap().next(after, &new_york());
        assert_eq!(next, Some(expected.parse().unwrap()), "{spec} after {time}");
    }
}

#[test]
fn unsatisfiable_schedules_have_no_next_time() {
    for spec in ["0 0 30 Feb ?", "0 0 31 Apr ?"] {
        assert_eq!(Schedule::parse(spec).unwrap().next(utc("Mon Jul 9 23:35 2012"), &TimeZone::UTC), None, "{spec}");
    }
}

#[test]
fn month_and_weekday_names_are_read_without_regard_to_case() {
    let lower = Schedule::parse("0 0 * jan-mar mon-fri").unwrap();
    let upper = Schedule::parse("0 0 * JAN-MAR MON-FRI").unwrap();
    let numeric = Schedule::parse("0 0 * 1-3 1-5").unwrap();
    assert_eq!(lower, numeric);
    assert_eq!(upper, numeric);
}

#[test]
fn every_macro_means_the_schedule_robfig_gives_it() {
    let pairs = [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ];
    let start = utc("Mon Jul 9 23:35 2012");
    for (descriptor, spec) in pairs {
        let (macro_schedule, plain) = (Schedule::parse(descriptor).unwrap(), Schedule::parse(spec).unwrap());
        let mut at = (start, start);
        for _ in 0..5 {
            at = (macro_schedule.next(at.0, &TimeZone::UTC).unwrap(), plain.next(at.1, &TimeZone::UTC).unwrap());
            assert_eq!(at.0, at.1, "{descriptor}");
        }
    }
}
