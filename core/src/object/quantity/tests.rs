//! Quantity tests, ported from apimachinery's `quantity_test.go` tables.

use super::*;
use proptest::prelude::*;

use Format::{BinarySI, DecimalExponent, DecimalSI};

/// `mantissa * 10^exponent` in the given format, like the Go tests' `decQuantity`.
fn decimal(mantissa: i64, exponent: i32, format: Format) -> Quantity {
    let power = exponent + 9;
    let nanos = if power >= 0 {
        i128::from(mantissa) * 10i128.pow(power.unsigned_abs())
    } else {
        let divisor = 10i128.pow(power.unsigned_abs());
        assert_eq!(i128::from(mantissa) % divisor, 0, "test value below nano precision");
        i128::from(mantissa) / divisor
    };
    Quantity::from_nanos(nanos, format)
}

fn parse(text: &str) -> Quantity {
    Quantity::parse(text).unwrap_or_else(|error| panic!("{text:?} should parse: {error}"))
}

/// TestQuantityParse: input, expected amount, expected format.
fn parse_table() -> Vec<(&'static str, Quantity)> {
    let max_allowed = Quantity::from_value(i64::MAX, BinarySI);
    vec![
        ("0", decimal(0, 0, DecimalSI)),
        ("0n", decimal(0, 0, DecimalSI)),
        ("0u", decimal(0, 0, DecimalSI)),
        ("0m", decimal(0, 0, DecimalSI)),
        ("0Ki", decimal(0, 0, BinarySI)),
        ("0k", decimal(0, 0, DecimalSI)),
        ("0Mi", decimal(0, 0, BinarySI)),
        ("0M", decimal(0, 0, DecimalSI)),
        ("0Gi", decimal(0, 0, BinarySI)),
        ("0G", decimal(0, 0, DecimalSI)),
        ("0Ti", decimal(0, 0, BinarySI)),
        ("0T", decimal(0, 0, DecimalSI)),
        ("1", decimal(1, 0, DecimalSI)),
        ("1Ki", decimal(1024, 0, BinarySI)),
        ("8Ki", decimal(8 * 1024, 0, BinarySI)),
        ("7Mi", decimal(7 * 1024 * 1024, 0, BinarySI)),
        ("6Gi", decimal(6 * 1024 * 1024 * 1024, 0, BinarySI)),
        ("5Ti", decimal(5 * 1024 * 1024 * 1024 * 1024, 0, BinarySI)),
        ("4Pi", decimal(4 * 1024 * 1024 * 1024 * 1024 * 1024, 0, BinarySI)),
        ("3Ei", decimal(3 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, 0, BinarySI)),
        ("10Ti", decimal(10 * 1024 * 1024 * 1024 * 1024, 0, BinarySI)),
        ("100Ti", decimal(100 * 1024 * 1024 * 1024 * 1024, 0, BinarySI)),
        ("5n", decimal(5, -9, DecimalSI)),
        ("4u", decimal(4, -6, DecimalSI)),
        ("3m", decimal(3, -3, DecimalSI)),
        ("9", decimal(9, 0, DecimalSI)),
        ("8k", decimal(8, 3, DecimalSI)),
        ("50k", decimal(5, 4, DecimalSI)),
        ("7M", decimal(7, 6, DecimalSI)),
        ("6G", decimal(6, 9, DecimalSI)),
        ("5T", decimal(5, 12, DecimalSI)),
        ("40T", decimal(4, 13, DecimalSI)),
        ("300T", decimal(3, 14, DecimalSI)),
        ("2P", decimal(2, 15, DecimalSI)),
        ("1E", decimal(1, 18, DecimalSI)),
        ("1E-3", decimal(1, -3, DecimalExponent)),
        ("1e3", decimal(1, 3, DecimalExponent)),
        ("1E6", decimal(1, 6, DecimalExponent)),
        ("1e9", decimal(1, 9, DecimalExponent)),
        ("1E12", decimal(1, 12, DecimalExponent)),
        ("1e15", decimal(1, 15, DecimalExponent)),
        ("1E18", decimal(1, 18, DecimalExponent)),
        ("1e14", decimal(1, 14, DecimalExponent)),
        ("1e13", decimal(1, 13, DecimalExponent)),
        ("100.035k", decimal(100035, 0, DecimalSI)),
        ("0.001", decimal(1, -3, DecimalSI)),
        ("0.0005k", decimal(5, -1, DecimalSI)),
        ("0.005", decimal(5, -3, DecimalSI)),
        ("0.05", decimal(5, -2, DecimalSI)),
        ("0.5", decimal(5, -1, DecimalSI)),
        ("0.00050k", decimal(5, -1, DecimalSI)),
        ("0.00500", decimal(5, -3, DecimalSI)),
        ("0.05000", decimal(5, -2, DecimalSI)),
        ("0.50000", decimal(5, -1, DecimalSI)),
        ("0.5e0", decimal(5, -1, DecimalExponent)),
        ("0.5e-1", decimal(5, -2, DecimalExponent)),
        ("0.5e-2", decimal(5, -3, DecimalExponent)),
        ("10.035M", decimal(10035, 3, DecimalSI)),
        ("1.2e3", decimal(12, 2, DecimalExponent)),
        ("1.3E+6", decimal(13, 5, DecimalExponent)),
        ("1.40e9", decimal(14, 8, DecimalExponent)),
        ("1.53E12", decimal(153, 10, DecimalExponent)),
        ("1.6e15", decimal(16, 14, DecimalExponent)),
        ("1.7E18", decimal(17, 17, DecimalExponent)),
        ("9.01", decimal(901, -2, DecimalSI)),
        ("8.1k", decimal(81, 2, DecimalSI)),
        ("7.123456M", decimal(7123456, 0, DecimalSI)),
        ("6.987654321G", decimal(6987654321, 0, DecimalSI)),
        ("5.444T", decimal(5444, 9, DecimalSI)),
        ("40.1T", decimal(401, 11, DecimalSI)),
        ("300.2T", decimal(3002, 11, DecimalSI)),
        ("2.5P", decimal(25, 14, DecimalSI)),
        ("1.01E", decimal(101, 16, DecimalSI)),
        ("3.001n", decimal(4, -9, DecimalSI)),
        ("1.1E-9", decimal(2, -9, DecimalExponent)),
        ("0.0000000001", decimal(1, -9, DecimalSI)),
        ("0.0000000005", decimal(1, -9, DecimalSI)),
        ("0.00000000050", decimal(1, -9, DecimalSI)),
        ("0.5e-9", decimal(1, -9, DecimalExponent)),
        ("0.9n", decimal(1, -9, DecimalSI)),
        ("0.00000012345", decimal(124, -9, DecimalSI)),
        ("0.00000012354", decimal(124, -9, DecimalSI)),
        ("9Ei", max_allowed),
        ("9223372036854775807Ki", max_allowed),
        ("12E", decimal(12, 18, DecimalSI)),
        ("100.035Ki", decimal(10243584, -2, BinarySI)),
        ("0.5Mi", decimal(512 * 1024, 0, BinarySI)),
        ("0.05Gi", decimal(536870912, -1, BinarySI)),
        ("0.025Ti", decimal(274877906944, -1, BinarySI)),
        ("0.000000000001Ki", decimal(2, -9, DecimalSI)),
        (".001", decimal(1, -3, DecimalSI)),
        (".0001k", decimal(100, -3, DecimalSI)),
        ("1.", decimal(1, 0, DecimalSI)),
        ("1.G", decimal(1, 9, DecimalSI)),
    ]
}

#[test]
fn parsing_matches_the_kubernetes_table_in_value_and_format() {
    for (input, expected) in parse_table() {
        let got = parse(input);
        assert_eq!(got, expected, "{input}: {got} != {expected}");
        assert_eq!(got.format(), expected.format(), "{input}");
    }
}

#[test]
fn a_leading_minus_negates_every_table_entry_and_keeps_its_format() {
    for (input, expected) in parse_table() {
        let got = parse(&format!("-{input}"));
        assert_eq!(got, -expected, "-{input}");
        assert_eq!(got.format(), expected.format(), "-{input}");
    }
}

#[test]
fn a_leading_plus_changes_nothing() {
    for (input, expected) in parse_table() {
        let got = parse(&format!("+{input}"));
        assert_eq!(got, expected, "+{input}");
        assert_eq!(got.format(), expected.format(), "+{input}");
    }
}

#[test]
fn kubernetes_invalid_quantities_are_refused() {
    let invalid =
        ["", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", "1e4294967297", " 1", "1 "];
    for input in invalid {
        assert!(Quantity::parse(input).is_err(), "{input:?} parsed");
    }
}

#[test]
fn errors_use_kubernetes_wording() {
    let message = |input: &str| Quantity::parse(input).unwrap_err().to_string();
    insta::assert_snapshot!(message("aoeu"), @"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    insta::assert_snapshot!(message(""), @"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    insta::assert_snapshot!(message("0.1mi"), @"unable to parse quantity's suffix");
    insta::assert_snapshot!(message("1e"), @"unable to parse quantity's suffix");
    insta::assert_snapshot!(message("1e999999999999"), @"unable to parse quantity's suffix");
    insta::assert_snapshot!(message("1e100"), @"quantity is too large: its magnitude must be below 1.7e29");
}

#[test]
fn an_exponent_must_fit_thirty_two_bits_without_its_minimum() {
    assert_eq!(parse("0e2147483647"), Quantity::ZERO);
    assert_eq!(parse("1E-2147483647"), decimal(1, -9, DecimalExponent));
    assert_eq!(Quantity::parse("1E2147483648"), Err(QuantityError::Suffix));
    assert_eq!(Quantity::parse("1E-2147483648"), Err(QuantityError::Suffix));
    assert_eq!(Quantity::parse("1E2147483647"), Err(QuantityError::OutOfRange));
}

#[test]
fn bare_signs_and_points_read_as_zero_like_kubernetes_scanner() {
    for input in [".", "-.", "+", "-", "0", "-0", "000"] {
        assert!(parse(input).is_zero(), "{input}");
    }
}

/// TestQuantityString: amount, canonical text, an alternate spelling of the same amount.
fn string_table() -> Vec<(Quantity, &'static str, &'static str)> {
    vec![
        (decimal(1024 * 1024 * 1024, 0, BinarySI), "1Gi", "1024Mi"),
        (decimal(300 * 1024 * 1024, 0, BinarySI), "300Mi", "307200Ki"),
        (decimal(6 * 1024, 0, BinarySI), "6Ki", ""),
        (decimal(1001 * 1024 * 1024 * 1024, 0, BinarySI), "1001Gi", "1025024Mi"),
        (decimal(1024 * 1024 * 1024 * 1024, 0, BinarySI), "1Ti", "1024Gi"),
        (decimal(5, 0, BinarySI), "5", "5000m"),
        (decimal(500, -3, BinarySI), "500m", "0.5"),
        (decimal(1, 9, DecimalSI), "1G", "1000M"),
        (decimal(1000, 6, DecimalSI), "1G", "0.001T"),
        (decimal(1000000, 3, DecimalSI), "1G", ""),
        (decimal(1000000000, 0, DecimalSI), "1G", ""),
        (decimal(1, -3, DecimalSI), "1m", "1000u"),
        (decimal(80, -3, DecimalSI), "80m", ""),
        (decimal(1080, -3, DecimalSI), "1080m", "1.08"),
        (decimal(108, -2, DecimalSI), "1080m", "1080000000n"),
        (decimal(10800, -4, DecimalSI), "1080m", ""),
        (decimal(300, 6, DecimalSI), "300M", ""),
        (decimal(1, 12, DecimalSI), "1T", ""),
        (decimal(1, 18, DecimalSI), "1E", ""),
        (decimal(1, 21, DecimalSI), "1e21", "1000E"),
        (decimal(5, 21, DecimalSI), "5e21", "5000E"),
        (decimal(1, 24, DecimalSI), "1e24", "1000000E"),
        (decimal(1234567, 6, DecimalSI), "1234567M", ""),
        (decimal(1234567, -3, BinarySI), "1234567m", ""),
        (decimal(3, 3, DecimalSI), "3k", ""),
        (decimal(1025, 0, BinarySI), "1025", ""),
        (decimal(0, 0, DecimalSI), "0", ""),
        (decimal(0, 0, BinarySI), "0", ""),
        (decimal(1, 9, DecimalExponent), "1e9", ".001e12"),
        (decimal(1, -3, DecimalExponent), "1e-3", "0.001e0"),
        (decimal(1, -9, DecimalExponent), "1e-9", "1000e-12"),
        (decimal(80, -3, DecimalExponent), "80e-3", ""),
        (decimal(300, 6, DecimalExponent), "300e6", ""),
        (decimal(1, 12, DecimalExponent), "1e12", ""),
        (decimal(1, 3, DecimalExponent), "1e3", ""),
        (decimal(3, 3, DecimalExponent), "3e3", ""),
        (decimal(3, 3, DecimalSI), "3k", ""),
        (decimal(0, 0, DecimalExponent), "0", "00"),
        (decimal(1, -9, DecimalSI), "1n", ""),
        (decimal(80, -9, DecimalSI), "80n", ""),
        (decimal(1080, -9, DecimalSI), "1080n", ""),
        (decimal(108, -8, DecimalSI), "1080n", ""),
        (decimal(10800, -10, DecimalSI), "1080n", ""),
        (decimal(1, -6, DecimalSI), "1u", ""),
        (decimal(80, -6, DecimalSI), "80u", ""),
        (decimal(1080, -6, DecimalSI), "1080u", ""),
    ]
}

#[test]
fn display_writes_kubernetes_canonical_form() {
    for (quantity, expected, _) in string_table() {
        assert_eq!(quantity.to_string(), expected, "{quantity:?}");
        assert_eq!(parse(expected), quantity, "{expected} parses back");
    }
}

#[test]
fn alternate_spellings_canonicalize_to_the_same_text() {
    for (_, expected, alternate) in string_table().into_iter().filter(|row| !row.2.is_empty()) {
        assert_eq!(parse(alternate).to_string(), expected, "{alternate}");
    }
}

#[test]
fn negative_amounts_display_with_a_minus_before_the_canonical_form() {
    for (quantity, expected, _) in string_table().into_iter().filter(|row| !row.0.is_zero()) {
        assert_eq!((-quantity).to_string(), format!("-{expected}"));
    }
}

#[test]
fn binary_si_zero_exponent_values_display_as_plain_integers() {
    assert_eq!(Quantity::from_value(2000, BinarySI).to_string(), "2000");
    assert_eq!(Quantity::from_value(-2000, BinarySI).to_string(), "-2000");
}

#[test]
fn binary_si_past_ei_displays_as_exact_decimal_and_round_trips() {
    let two_to_the_seventy = Quantity::from_nanos(parse("1Ei").as_nanos() * 1024, BinarySI);
    assert_eq!(two_to_the_seventy.to_string(), "1180591620717411303424");
    assert_eq!(parse(&two_to_the_seventy.to_string()), two_to_the_seventy);
    let json = serde_json::to_string(&two_to_the_seventy).unwrap();
    assert_eq!(json, "\"1180591620717411303424\"");
}

#[test]
fn parse_then_emit_matches_kubernetes() {
    let table = [
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("1000m", "1"),
        ("1.5Gi", "1536Mi"),
        ("100m", "100m"),
        ("1.5", "1500m"),
    ];
    for (input, expected) in table {
        assert_eq!(parse(input).to_string(), expected, "{input}");
        assert_eq!(parse(&format!("-{input}")).to_string(), format!("-{expected}"), "-{input}");
    }
}

#[test]
fn comparison_is_by_amount() {
    let table = [("0", "0", Ordering::Equal), ("100m", "50m", Ordering::Greater), ("50m", "100m", Ordering::Less)];
    for (left, right, expected) in table {
        assert_eq!(parse(left).cmp(&parse(right)), expected, "{left} vs {right}");
    }
    assert_eq!(parse("10000T").cmp(&parse("100Gi")), Ordering::Greater);
    assert_eq!(parse("1Ki"), parse("1024"));
    assert_eq!(parse("1e3"), parse("1k"));
}

#[test]
fn negation_is_exact_and_keeps_the_format() {
    assert_eq!((-decimal(901, -2, DecimalSI)).to_string(), "-9010m");
    let table = [
        (decimal(0, 0, DecimalSI), decimal(0, 0, DecimalSI)),
        (decimal(10, 0, BinarySI), decimal(-10, 0, BinarySI)),
        (decimal(-10, 0, BinarySI), decimal(10, 0, BinarySI)),
    ];
    for (input, expected) in table {
        assert_eq!(-input, expected);
        assert_eq!((-input).format(), expected.format());
    }
}

#[test]
fn addition_matches_kubernetes_table() {
    let zero = Quantity::ZERO;
    let table = [
        (decimal(10, 0, DecimalSI), decimal(1, 1, DecimalSI), decimal(20, 0, DecimalSI)),
        (decimal(10, 0, DecimalSI), decimal(1, 0, BinarySI), decimal(11, 0, DecimalSI)),
        (decimal(10, 0, BinarySI), decimal(1, 0, DecimalSI), decimal(11, 0, BinarySI)),
        (zero, decimal(50, 0, DecimalSI), decimal(50, 0, DecimalSI)),
        (decimal(50, 0, DecimalSI), zero, decimal(50, 0, DecimalSI)),
        (zero, zero, decimal(0, 0, DecimalSI)),
    ];
    for (left, right, expected) in table {
        let sum = left + right;
        assert_eq!(sum, expected);
        assert_eq!(sum.format(), expected.format());
        assert_eq!(left.checked_add(right), Some(sum));
    }
}

#[test]
fn subtraction_matches_kubernetes_table() {
    let zero = Quantity::ZERO;
    let table = [
        (decimal(10, 0, DecimalSI), decimal(1, 1, DecimalSI), decimal(0, 0, DecimalSI)),
        (decimal(10, 0, DecimalSI), decimal(1, 0, BinarySI), decimal(9, 0, DecimalSI)),
        (decimal(10, 0, BinarySI), decimal(1, 0, DecimalSI), decimal(9, 0, BinarySI)),
        (zero, decimal(50, 0, DecimalSI), decimal(-50, 0, DecimalSI)),
        (decimal(50, 0, DecimalSI), zero, decimal(50, 0, DecimalSI)),
        (zero, zero, decimal(0, 0, DecimalSI)),
    ];
    for (left, right, expected) in table {
        let difference = left - right;
        assert_eq!(difference, expected);
        assert_eq!(difference.format(), expected.format());
        assert_eq!(left.checked_sub(right), Some(difference));
    }
}

#[test]
fn adding_or_subtracting_zero_preserves_the_suffix() {
    for text in ["100m", "1Gi"] {
        let value = parse(text);
        assert_eq!((value + Quantity::ZERO).to_string(), text);
        assert_eq!((Quantity::ZERO + value).to_string(), text);
        assert_eq!((value - Quantity::ZERO).to_string(), text);
        assert_eq!((Quantity::ZERO - value).to_string(), (-value).to_string());
    }
}

#[test]
fn arithmetic_beyond_the_range_saturates_or_reports_none() {
    let huge = Quantity::from_nanos(i128::MAX, DecimalSI);
    assert_eq!(huge.checked_add(Quantity::from_value(1, DecimalSI)), None);
    assert_eq!(huge + huge, huge);
    assert_eq!(-huge - huge, -huge);
    assert_eq!((-huge).checked_sub(Quantity::from_nanos(1, DecimalSI)), None);
}

#[test]
fn value_and_milli_value_round_away_from_zero() {
    let table = [
        ("-.484785E-7466", -1, -1),
        (".484785E-7466", 1, 1),
        ("-.484785E-1", -1, -49),
        (".484785E-1", 1, 49),
        ("-0.0005", -1, -1),
        ("0.0005", 1, 1),
        ("-1500m", -2, -1500),
        ("1500m", 2, 1500),
        ("-9.5000000001Gi", -10200547329, -10200547328108),
        ("9.5000000001Gi", 10200547329, 10200547328108),
        ("-1", -1, -1000),
        ("1", 1, 1000),
        ("0", 0, 0),
    ];
    for (input, value, milli_value) in table {
        assert_eq!(parse(input).value(), value, "{input}");
        assert_eq!(parse(input).milli_value(), milli_value, "{input}");
    }
}

#[test]
fn milli_constructor_matches_kubernetes_table() {
    let table = [
        (1, DecimalSI, "1m"),
        (1000, DecimalSI, "1"),
        (1234000, DecimalSI, "1234"),
        (1024, BinarySI, "1024m"),
        (1000000, DecimalExponent, "1e3"),
        (1024 * 1024, BinarySI, "1048576m"),
    ];
    for (value, format, expected) in table {
        let quantity = Quantity::from_milli(value).with_format(format);
        assert_eq!(quantity.to_string(), expected);
        assert_eq!(parse(expected).milli_value(), value);
    }
}

#[test]
fn value_constructor_matches_kubernetes_table() {
    let table = [
        (1, DecimalSI, "1"),
        (1000, DecimalSI, "1k"),
        (1234000, DecimalSI, "1234k"),
        (1024, BinarySI, "1Ki"),
        (1000000, DecimalExponent, "1e6"),
        (1024 * 1024, BinarySI, "1Mi"),
    ];
    for (value, format, expected) in table {
        let quantity = Quantity::from_value(value, format);
        assert_eq!(quantity.to_string(), expected);
        assert_eq!(parse(expected).value(), value);
    }
}

#[test]
fn value_saturates_at_the_bounds_of_i64() {
    assert_eq!(parse("12E").value(), i64::MAX);
    assert_eq!(parse("-12E").value(), i64::MIN);
    assert_eq!(parse("9Ei").value(), i64::MAX);
}

#[test]
fn floats_match_kubernetes_approximations() {
    let table = [("2Ki", 2048.0), ("1.1Ki", 1126.4), ("1Mi", 1.048576e+06), ("2Gi", 2.147483648e+09), ("12E", 1.2e19)];
    for (input, expected) in table {
        assert_eq!(parse(input).as_f64(), expected, "{input}");
    }
}

#[test]
fn json_accepts_strings_with_whitespace_numbers_and_null() {
    let table = [
        (r#"" 1""#, "1"),
        (r#""1 ""#, "1"),
        ("1", "1"),
        (" 1", "1"),
        ("1 ", "1"),
        ("10", "10"),
        ("-1", "-1"),
        (" -1", "-1"),
        ("0.5", "500m"),
        ("null", "0"),
        ("18446744073709551615", "18446744073709551615"),
    ];
    for (json, expected) in table {
        let quantity: Quantity = serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"));
        assert_eq!(quantity.to_string(), expected, "{json}");
    }
    assert!(serde_json::from_str::<Quantity>(r#""abc""#).is_err());
    assert!(serde_json::from_str::<Quantity>("true").is_err());
}

#[test]
fn json_writes_the_canonical_string() {
    assert_eq!(serde_json::to_string(&parse("1.5Gi")).unwrap(), r#""1536Mi""#);
}

#[test]
fn k8s_openapi_quantities_convert_both_ways() {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Typed;
    let typed = Typed("1500m".to_owned());
    let quantity = Quantity::try_from(&typed).unwrap();
    assert_eq!(quantity, Quantity::from_milli(1500));
    assert_eq!(Typed::from(quantity), Typed("1500m".to_owned()));
    assert_eq!(Quantity::try_from(&Typed("x".to_owned())), Err(QuantityError::FormatWrong));
}

#[test]
fn binary_suffixes_with_many_decimal_places_are_exact() {
    assert_eq!(parse("0.0000000000009765625Ki"), decimal(1, -9, DecimalSI));
    assert_eq!(parse("0.00000000000097656251Ki"), decimal(2, -9, DecimalSI));
    assert_eq!(parse("1.0000000000000000000000000001Ki"), decimal(1024000000001, -9, BinarySI));
}

fn any_format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(DecimalSI), Just(BinarySI), Just(DecimalExponent)]
}

proptest! {
    #[test]
    fn displaying_then_parsing_gives_back_the_amount(
        mantissa in any::<i64>(),
        power in 0u32..=19,
        format in any_format(),
    ) {
        let quantity = Quantity::from_nanos(i128::from(mantissa) * 10i128.pow(power), format);
        // Parsing caps binary-suffixed values at 2^63-1 (Kubernetes #140674), so larger ones
        // cannot come back unchanged.
        prop_assume!(format != BinarySI || quantity.as_nanos().abs() <= BINARY_SI_UNITS_MAX * NANOS_PER_UNIT);
        let text = quantity.to_string();
        prop_assert_eq!(parse(&text), quantity, "{}", text);
    }

    #[test]
    fn binary_amounts_round_trip_through_their_suffix(units in 0i64..(1 << 20), shift in 0u32..=40) {
        let quantity = Quantity::from_nanos((i128::from(units) << shift) * NANOS_PER_UNIT, BinarySI);
        prop_assert_eq!(parse(&quantity.to_string()), quantity);
    }
}
