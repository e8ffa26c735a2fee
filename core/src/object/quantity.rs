//! Resource quantities (`100m`, `1Gi`, `1e3`): parsing, exact arithmetic, canonical formatting.
//!
//! A [`Quantity`] is an exact count of nano-units (an `i128`) plus the [`Format`] it was written
//! in, which is all Kubernetes' `resource.Quantity` can observably hold: parsing rounds anything
//! finer than a nano-unit up (away from zero), so nano precision loses nothing. Values are
//! compared by amount only; the format decides how a value is written back out.
//!
//! Two deliberate differences from apimachinery, both at its edges: magnitudes beyond
//! `i128::MAX` nano-units (about 1.7e29 units) are refused with [`QuantityError::OutOfRange`]
//! instead of carried in arbitrary precision, and [`Display`](fmt::Display) always writes the
//! canonical form, where Kubernetes' `String()` hands back the text it parsed when that text
//! already looked canonical (so `+1` stays `+1` there and is `1` here).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The regular expression Kubernetes quotes when a quantity is malformed.
const QUANTITY_PATTERN: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// Nano-units in one unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;

/// The largest value a binary-suffixed quantity may parse to (Kubernetes' `maxAllowed`, 2^63-1).
const BINARY_SI_UNITS_MAX: i128 = i64::MAX as i128;

/// The most significant digits a quantity with a binary suffix and more than nine decimal places
/// may carry; only such inputs need exact long arithmetic, and this bounds its cost.
pub const QUANTITY_DIGITS_MAX: usize = 4096;

/// Why a string is not a quantity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text does not have the shape of a number followed by a suffix.
    #[error("quantities must match the regular expression '{QUANTITY_PATTERN}'")]
    FormatWrong,
    /// The number part could not be read.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not one Kubernetes knows (or its exponent does not fit 32 bits).
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The value is too large to hold exactly (beyond about 1.7e29 units).
    #[error("quantity is too large: its magnitude must be below 1.7e29")]
    OutOfRange,
}

/// How a quantity is written out: the three suffix families of Kubernetes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Powers of ten with SI letters: `n u m "" k M G T P E` (`12M` is 12 * 10^6).
    #[default]
    DecimalSI,
    /// Powers of 1024: `Ki Mi Gi Ti Pi Ei` (`12Mi` is 12 * 2^20).
    BinarySI,
    /// Powers of ten as an exponent: `12e6`.
    DecimalExponent,
}

/// A Kubernetes resource quantity: an exact amount plus the format it is written in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quantity {
    /// The amount in nano-units; never `i128::MIN`, so negation is always exact.
    nanos: i128,
    /// How the amount is written out.
    format: Format,
}

impl Quantity {
    /// Zero, written `0`.
    pub const ZERO: Quantity = Quantity { nanos: 0, format: Format::DecimalSI };

    /// Parses a quantity as Kubernetes' `ParseQuantity` does, rounding anything finer than a
    /// nano-unit up (away from zero).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        let scanned = scan(text.as_bytes())?;
        let (base_two_exponent, decimal_exponent, mut format) = interpret_suffix(scanned.suffix)?;
        let digits = significant_digits(scanned.integer, scanned.fraction);
        let fraction_length = i64::try_from(scanned.fraction.len()).map_err(|_| QuantityError::OutOfRange)?;
        let power = i64::from(decimal_exponent) - fraction_length + 9;
        let mut magnitude = scale_digits(digits, base_two_exponent, power)?;
        if format == Format::BinarySI {
            magnitude = magnitude.min(BINARY_SI_UNITS_MAX * NANOS_PER_UNIT);
            if magnitude > 0 && magnitude < NANOS_PER_UNIT {
                format = Format::DecimalSI;
            }
        }
        let nanos = if scanned.negative { -magnitude } else { magnitude };
        Ok(Quantity { nanos, format })
    }

    /// A whole number of units in the given format (Kubernetes' `NewQuantity`).
    pub fn from_value(value: i64, format: Format) -> Quantity {
        Quantity { nanos: i128::from(value) * NANOS_PER_UNIT, format }
    }

    /// A number of milli-units, in DecimalSI (Kubernetes' `NewMilliQuantity(value, DecimalSI)`).
    pub fn from_milli(value: i64) -> Quantity {
        Quantity { nanos: i128::from(value) * NANOS_PER_MILLI, format: Format::DecimalSI }
    }

    /// A number of nano-units in the given format; the exact internal amount.
    pub fn from_nanos(nanos: i128, format: Format) -> Quantity {
        Quantity { nanos: nanos.max(-i128::MAX), format }
    }

    /// The same amount written in another format.
    pub fn with_format(self, format: Format) -> Quantity {
        Quantity { format, ..self }
    }

    /// The format this quantity is written in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The exact amount in nano-units.
    pub fn as_nanos(&self) -> i128 {
        self.nanos
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The amount in whole units, rounded away from zero (Kubernetes' `Value`); saturates at the
    /// bounds of `i64`.
    pub fn value(&self) -> i64 {
        saturate_to_i64(divide_away_from_zero(self.nanos, NANOS_PER_UNIT))
    }

    /// The amount in milli-units, rounded away from zero (Kubernetes' `MilliValue`); saturates
    /// at the bounds of `i64`.
    pub fn milli_value(&self) -> i64 {
        saturate_to_i64(divide_away_from_zero(self.nanos, NANOS_PER_MILLI))
    }

    /// The amount as a float, for scoring and display where exactness does not matter.
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// The sum, or `None` beyond the representable range. A zero left side takes the format of
    /// the right side, as Kubernetes' `Add` does.
    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        let nanos = self.nanos.checked_add(other.nanos).filter(|sum| *sum != i128::MIN)?;
        let format = if self.nanos == 0 { other.format } else { self.format };
        Some(Quantity { nanos, format })
    }

    /// The difference, or `None` beyond the representable range. A zero left side takes the
    /// format of the right side, as Kubernetes' `Sub` does.
    pub fn checked_sub(self, other: Quantity) -> Option<Quantity> {
        self.checked_add(-other)
    }
}

fn divide_away_from_zero(nanos: i128, divisor: i128) -> i128 {
    let quotient = nanos / divisor;
    if nanos % divisor == 0 { quotient } else { quotient + nanos.signum() }
}

fn saturate_to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// Clamps a saturated sum into the range whose negation is exact.
fn saturating_nanos(nanos: i128) -> i128 {
    nanos.max(-i128::MAX)
}

impl std::ops::Add for Quantity {
    type Output = Quantity;

    /// The sum, saturating at about ±1.7e29 units.
    fn add(self, other: Quantity) -> Quantity {
        let format = if self.nanos == 0 { other.format } else { self.format };
        Quantity { nanos: saturating_nanos(self.nanos.saturating_add(other.nanos)), format }
    }
}

impl std::ops::Sub for Quantity {
    type Output = Quantity;

    /// The difference, saturating at about ±1.7e29 units.
    fn sub(self, other: Quantity) -> Quantity {
        self + (-other)
    }
}

impl std::ops::AddAssign for Quantity {
    fn add_assign(&mut self, other: Quantity) {
        *self = *self + other;
    }
}

impl std::ops::SubAssign for Quantity {
    fn sub_assign(&mut self, other: Quantity) {
        *self = *self - other;
    }
}

impl std::ops::Neg for Quantity {
    type Output = Quantity;

    fn neg(self) -> Quantity {
        Quantity { nanos: -self.nanos, format: self.format }
    }
}

impl std::iter::Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::ZERO, |sum, next| sum + next)
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Quantity) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Quantity) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

/// The parts of a quantity's text, as Kubernetes' scanner splits it.
struct Scanned<'a> {
    negative: bool,
    /// Integer digits without leading zeros (possibly empty).
    integer: &'a [u8],
    /// Digits after the decimal point (possibly empty).
    fraction: &'a [u8],
    /// Everything after the number.
    suffix: &'a [u8],
}

/// Splits a quantity into sign, digits and suffix, refusing what does not fit the shape
/// `[+-]?digits[.digits](letters)[+-]?digits`.
fn scan(text: &[u8]) -> Result<Scanned<'_>, QuantityError> {
    let mut position = 0;
    let mut negative = false;
    match text.first() {
        Some(b'-') => {
            negative = true;
            position = 1;
        }
        Some(b'+') => position = 1,
        _ => {}
    }
    while text.get(position) == Some(&b'0') {
        position += 1;
    }
    let integer_end = position + count_digits(&text[position..]);
    let integer = &text[position..integer_end];
    position = integer_end;
    let mut fraction: &[u8] = &[];
    if text.get(position) == Some(&b'.') {
        let fraction_end = position + 1 + count_digits(&text[position + 1..]);
        fraction = &text[position + 1..fraction_end];
        position = fraction_end;
    }
    let suffix = &text[position..];
    let letters = suffix.iter().take_while(|byte| b"eEinumkKMGTP".contains(byte)).count();
    let mut rest = &suffix[letters..];
    if let Some(b'+' | b'-') = rest.first() {
        rest = &rest[1..];
    }
    if count_digits(rest) != rest.len() {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Scanned { negative, integer, fraction, suffix })
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|byte| byte.is_ascii_digit()).count()
}

/// A suffix's power of two, power of ten and format.
fn interpret_suffix(suffix: &[u8]) -> Result<(u32, i32, Format), QuantityError> {
    let known = match suffix {
        b"" => (0, 0, Format::DecimalSI),
        b"n" => (0, -9, Format::DecimalSI),
        b"u" => (0, -6, Format::DecimalSI),
        b"m" => (0, -3, Format::DecimalSI),
        b"k" => (0, 3, Format::DecimalSI),
        b"M" => (0, 6, Format::DecimalSI),
        b"G" => (0, 9, Format::DecimalSI),
        b"T" => (0, 12, Format::DecimalSI),
        b"P" => (0, 15, Format::DecimalSI),
        b"E" => (0, 18, Format::DecimalSI),
        b"Ki" => (10, 0, Format::BinarySI),
        b"Mi" => (20, 0, Format::BinarySI),
        b"Gi" => (30, 0, Format::BinarySI),
        b"Ti" => (40, 0, Format::BinarySI),
        b"Pi" => (50, 0, Format::BinarySI),
        b"Ei" => (60, 0, Format::BinarySI),
        [b'e' | b'E', exponent @ ..] if !exponent.is_empty() => {
            let exponent = std::str::from_utf8(exponent).map_err(|_| QuantityError::Suffix)?;
            let exponent: i64 = exponent.parse().map_err(|_| QuantityError::Suffix)?;
            // Kubernetes keeps the exponent in an int32 that it later negates.
            let exponent = i32::try_from(exponent).ok().filter(|value| *value != i32::MIN);
            (0, exponent.ok_or(QuantityError::Suffix)?, Format::DecimalExponent)
        }
        _ => return Err(QuantityError::Suffix),
    };
    Ok(known)
}

/// The integer and fraction digits as one digit string without leading zeros.
fn significant_digits<'a>(integer: &'a [u8], fraction: &'a [u8]) -> Digits<'a> {
    if integer.is_empty() {
        let zeros = fraction.iter().take_while(|byte| **byte == b'0').count();
        Digits { first: &fraction[zeros..], second: &[] }
    } else {
        Digits { first: integer, second: fraction }
    }
}

/// A digit string held as two slices, so the decimal point never needs copying out.
#[derive(Clone, Copy)]
struct Digits<'a> {
    first: &'a [u8],
    second: &'a [u8],
}

impl Digits<'_> {
    fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        self.first.iter().chain(self.second).map(|byte| byte - b'0')
    }

    fn is_zero(&self) -> bool {
        self.iter().all(|digit| digit == 0)
    }
}

/// `ceil(digits * 2^base_two_exponent * 10^power)` as a magnitude within `i128`.
fn scale_digits(digits: Digits<'_>, base_two_exponent: u32, power: i64) -> Result<i128, QuantityError> {
    if digits.is_zero() {
        return Ok(0);
    }
    // The digits have no leading zero, so the value is at least 10^(len - 1 + power).
    let length = i64::try_from(digits.len()).map_err(|_| QuantityError::OutOfRange)?;
    if length.saturating_add(power) > 40 {
        return Err(QuantityError::OutOfRange);
    }
    let magnitude = if power >= 0 {
        let mut value = digits_to_u128(digits.iter())?;
        for _ in 0..power {
            value = value.checked_mul(10).ok_or(QuantityError::OutOfRange)?;
        }
        value.checked_mul(1 << base_two_exponent).ok_or(QuantityError::OutOfRange)?
    } else if base_two_exponent == 0 {
        let dropped = usize::try_from(power.unsigned_abs()).unwrap_or(usize::MAX).min(digits.len());
        let kept = digits.len() - dropped;
        let value = digits_to_u128(digits.iter().take(kept))?;
        let remainder = digits.iter().skip(kept).any(|digit| digit != 0);
        value + u128::from(remainder)
    } else {
        long_scale(digits, base_two_exponent, power.unsigned_abs())?
    };
    i128::try_from(magnitude).map_err(|_| QuantityError::OutOfRange)
}

fn digits_to_u128(digits: impl Iterator<Item = u8>) -> Result<u128, QuantityError> {
    digits.into_iter().try_fold(0u128, |value, digit| {
        value.checked_mul(10).and_then(|value| value.checked_add(u128::from(digit))).ok_or(QuantityError::OutOfRange)
    })
}

/// `ceil(digits * 2^base_two_exponent / 10^divisor_power)` with exact long arithmetic, for a
/// binary suffix on a number with more than nine decimal places.
fn long_scale(digits: Digits<'_>, base_two_exponent: u32, divisor_power: u64) -> Result<u128, QuantityError> {
    if digits.len() > QUANTITY_DIGITS_MAX {
        return Err(QuantityError::OutOfRange);
    }
    // Little-endian base-2^32 limbs.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 3);
    for digit in digits.iter() {
        multiply_add(&mut limbs, 10, u32::from(digit));
    }
    let mut shift = base_two_exponent;
    while shift > 0 {
        let step = shift.min(31);
        multiply_add(&mut limbs, 1 << step, 0);
        shift -= step;
    }
    let mut remainder_seen = false;
    let mut remaining = divisor_power;
    while remaining > 0 && !limbs.is_empty() {
        let step = remaining.min(9);
        let divisor = 10u32.pow(u32::try_from(step).unwrap_or(9));
        remainder_seen |= divide(&mut limbs, divisor) != 0;
        remaining -= step;
    }
    if limbs.len() > 4 {
        return Err(QuantityError::OutOfRange);
    }
    let value = limbs.iter().rev().fold(0u128, |value, limb| (value << 32) | u128::from(*limb));
    // Once the quotient is zero every further division leaves the same non-zero remainder.
    Ok(value + u128::from(remainder_seen))
}

fn multiply_add(limbs: &mut Vec<u32>, factor: u32, addend: u32) {
    let mut carry = u64::from(addend);
    for limb in limbs.iter_mut() {
        let product = u64::from(*limb) * u64::from(factor) + carry;
        *limb = product as u32;
        carry = product >> 32;
    }
    if carry > 0 {
        limbs.push(carry as u32);
    }
}

/// Divides in place and returns the remainder, trimming high zero limbs.
fn divide(limbs: &mut Vec<u32>, divisor: u32) -> u32 {
    let mut remainder = 0u64;
    for limb in limbs.iter_mut().rev() {
        let current = (remainder << 32) | u64::from(*limb);
        *limb = (current / u64::from(divisor)) as u32;
        remainder = current % u64::from(divisor);
    }
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    remainder as u32
}

const DECIMAL_SUFFIXES: [(i32, &str); 10] =
    [(-9, "n"), (-6, "u"), (-3, "m"), (0, ""), (3, "k"), (6, "M"), (9, "G"), (12, "T"), (15, "P"), (18, "E")];

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// Writes a positive magnitude of nano-units in a base-ten format: the largest exponent that is
/// a multiple of three and keeps the mantissa whole (Kubernetes' `AsCanonicalBytes`).
fn write_decimal(out: &mut fmt::Formatter<'_>, magnitude: u128, format: Format) -> fmt::Result {
    let mut mantissa = magnitude;
    let mut exponent: i32 = -9;
    while mantissa.is_multiple_of(10) {
        mantissa /= 10;
        exponent += 1;
    }
    while exponent.rem_euclid(3) != 0 {
        mantissa *= 10;
        exponent -= 1;
    }
    let suffix = DECIMAL_SUFFIXES.iter().find(|(power, _)| *power == exponent).map(|(_, suffix)| *suffix);
    match (format, suffix) {
        (Format::DecimalSI, Some(suffix)) => write!(out, "{mantissa}{suffix}"),
        // DecimalSI has no letter past E; Kubernetes falls back to exponent notation there.
        _ if exponent == 0 => write!(out, "{mantissa}"),
        _ => write!(out, "{mantissa}e{exponent}"),
    }
}

impl fmt::Display for Quantity {
    /// The canonical form, as Kubernetes' `CanonicalizeBytes` writes it.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return out.write_str("0");
        }
        if self.nanos < 0 {
            out.write_str("-")?;
        }
        let magnitude = self.nanos.unsigned_abs();
        let whole = magnitude.is_multiple_of(NANOS_PER_UNIT as u128);
        if self.format != Format::BinarySI || magnitude < 1024 * NANOS_PER_UNIT as u128 || !whole {
            let format = if self.format == Format::BinarySI { Format::DecimalSI } else { self.format };
            return write_decimal(out, magnitude, format);
        }
        let mut mantissa = magnitude / NANOS_PER_UNIT as u128;
        let mut power = 0;
        while mantissa.is_multiple_of(1024) {
            mantissa /= 1024;
            power += 1;
        }
        match BINARY_SUFFIXES.get(power) {
            Some(suffix) => write!(out, "{mantissa}{suffix}"),
            // Past Ei there is no binary letter; Kubernetes writes the exact decimal instead.
            None => write_decimal(out, magnitude, Format::DecimalExponent),
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse(text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// Accepts a string (surrounding whitespace trimmed), a JSON number, or null (zero), as
    /// Kubernetes' `UnmarshalJSON` does.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

struct QuantityVisitor;

impl Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_str("a quantity such as \"100m\" or \"1Gi\", or a number")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Quantity, E> {
        Quantity::parse(text.trim()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Quantity, E> {
        Ok(Quantity::from_value(value, Format::DecimalSI))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Quantity, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Quantity, E> {
        if !value.is_finite() {
            return Err(E::custom(QuantityError::FormatWrong));
        }
        self.visit_str(&value.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::ZERO)
    }

    fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::ZERO)
    }
}

impl TryFrom<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> for Quantity {
    type Error = QuantityError;

    fn try_from(quantity: &k8s_openapi::apimachinery::pkg::api::resource::Quantity) -> Result<Quantity, QuantityError> {
        Quantity::parse(quantity.0.trim())
    }
}

impl From<Quantity> for k8s_openapi::apimachinery::pkg::api::resource::Quantity {
    fn from(quantity: Quantity) -> Self {
        k8s_openapi::apimachinery::pkg::api::resource::Quantity(quantity.to_string())
    }
}

#[cfg(test)]
mod tests;
