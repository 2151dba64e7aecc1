//! Kubernetes quantities (`resource.Quantity`, e.g. `2Gi`, `1.5G`, `1e9`)
//! converted exactly to a whole number of bytes, for `Model.spec.memory`.
//!
//! Grammar (Kubernetes'): `[+-]digits[.digits]suffix`, where the suffix is
//! binary (`Ki Mi Gi Ti Pi Ei`, powers of 1024), decimal (`n u m "" k M G T P
//! E`) or an exponent (`e`/`E` followed by a signed integer). The arithmetic
//! is exact integer arithmetic (no floating point, no rounding): `1.5Gi` is
//! 1610612736 bytes, `100m` is a tenth of a byte and therefore an error.
//!
//! Stricter than Go's parser, on purpose: negative quantities are rejected
//! (Seldon wraps them around to huge uint64 values), a quantity needs at
//! least one digit (Go reads `Ki` or `-` as zero), and fractions of a byte are
//! rejected exactly instead of first being rounded up to milli-units. The
//! largest accepted value is 2^63-1, the largest quantity Kubernetes can
//! represent (and the int64 Seldon converts through).

/// Why a quantity is not a whole number of bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The empty string.
    #[error("empty quantity")]
    Empty,
    /// No digits before the suffix (e.g. `Gi`, `-`, `.`).
    #[error("no digits in the number")]
    NoDigits,
    /// The suffix is none of Kubernetes' (e.g. `1K`, `1gb`, `1 Gi`).
    #[error(
        "unknown suffix {0:?} (expected one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent like e9)"
    )]
    UnknownSuffix(String),
    /// More significant digits than exact arithmetic here supports.
    #[error("more than {MAX_SIGNIFICANT_DIGITS} significant digits")]
    TooManyDigits,
    /// A negative quantity (`-0` is fine).
    #[error("negative quantities are not allowed")]
    Negative,
    /// A fraction of a byte (e.g. `100m`, `0.5`).
    #[error("not a whole number of bytes")]
    NotWholeBytes,
    /// More than 2^63-1 bytes.
    #[error("larger than {} bytes", i64::MAX)]
    TooLarge,
}

/// Significant digits of the number part accepted (the mantissa must fit a u128).
const MAX_SIGNIFICANT_DIGITS: usize = 38;

/// Decimal suffixes and their powers of ten.
const DECIMAL_SUFFIXES: [(&str, i128); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

/// Binary suffixes and their powers of two.
const BINARY_SUFFIXES: [(&str, u32); 6] = [
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];

/// Converts a Kubernetes quantity to a whole number of bytes.
pub fn quantity_to_bytes(quantity: &str) -> Result<u64, QuantityError> {
    if quantity.is_empty() {
        return Err(QuantityError::Empty);
    }
    let (negative, rest) = match quantity.as_bytes()[0] {
        b'-' => (true, &quantity[1..]),
        b'+' => (false, &quantity[1..]),
        _ => (false, quantity),
    };
    let int_len = digit_prefix_len(rest);
    let (int_digits, rest) = rest.split_at(int_len);
    let (frac_digits, suffix) = match rest.strip_prefix('.') {
        Some(after_dot) => after_dot.split_at(digit_prefix_len(after_dot)),
        None => ("", rest),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(QuantityError::NoDigits);
    }
    let (mut exp10, exp2) = parse_suffix(suffix)?;

    // The number is int_digits.frac_digits = digits * 10^-len(frac_digits).
    // Reduce it to significand * 10^exp10 with no leading or trailing zeros.
    let frac_len = i128::try_from(frac_digits.len()).map_err(|_| QuantityError::TooManyDigits)?;
    exp10 -= frac_len;
    let all_digits = format!("{int_digits}{frac_digits}");
    let significant = all_digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        // Zero, whatever its sign, suffix or exponent.
        return Ok(0);
    }
    if negative {
        return Err(QuantityError::Negative);
    }
    if trimmed.len() > MAX_SIGNIFICANT_DIGITS {
        return Err(QuantityError::TooManyDigits);
    }
    let trailing_zeros = i128::try_from(significant.len() - trimmed.len())
        .map_err(|_| QuantityError::TooManyDigits)?;
    exp10 += trailing_zeros;
    let significand: u128 = trimmed.parse().map_err(|_| QuantityError::TooManyDigits)?;

    let bytes = scale(significand, exp10, exp2)?;
    u64::try_from(bytes)
        .ok()
        .filter(|b| i64::try_from(*b).is_ok())
        .ok_or(QuantityError::TooLarge)
}

/// Number of leading ASCII digits of `s`.
fn digit_prefix_len(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// The suffix as (power of ten, power of two).
fn parse_suffix(suffix: &str) -> Result<(i128, u32), QuantityError> {
    if let Some((_, exp2)) = BINARY_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Ok((0, *exp2));
    }
    if let Some((_, exp10)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Ok((*exp10, 0));
    }
    let unknown = || QuantityError::UnknownSuffix(suffix.to_string());
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .filter(|e| {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .ok_or_else(unknown)?;
    // An exponent beyond i64 (Go's limit too) is not a quantity.
    let exponent: i64 = exponent.parse().map_err(|_| unknown())?;
    Ok((i128::from(exponent), 0))
}

/// `significand * 10^exp10 * 2^exp2`, exactly, or why it is not a whole
/// number that fits a u128. `significand` is non-zero and not a multiple of 10.
fn scale(significand: u128, exp10: i128, exp2: u32) -> Result<u128, QuantityError> {
    let shifted = |value: u128, bits: u32| {
        value
            .checked_mul(1u128.checked_shl(bits).ok_or(QuantityError::TooLarge)?)
            .ok_or(QuantityError::TooLarge)
    };
    if exp10 >= 0 {
        let power = u32::try_from(exp10)
            .ok()
            .and_then(|e| 10u128.checked_pow(e))
            .ok_or(QuantityError::TooLarge)?;
        let value = significand
            .checked_mul(power)
            .ok_or(QuantityError::TooLarge)?;
        return shifted(value, exp2);
    }
    // Divide by 10^d = 5^d * 2^d: the twos cancel against the binary suffix
    // first; what is left must divide the significand exactly.
    let d = u32::try_from(-exp10).map_err(|_| QuantityError::NotWholeBytes)?;
    let fives = 5u128.checked_pow(d).ok_or(QuantityError::NotWholeBytes)?;
    if !significand.is_multiple_of(fives) {
        return Err(QuantityError::NotWholeBytes);
    }
    let mut value = significand / fives;
    let cancelled = d.min(exp2);
    let twos_left = d - cancelled;
    if twos_left > 0 {
        let divisor = 1u128
            .checked_shl(twos_left)
            .filter(|_| twos_left < 128)
            .ok_or(QuantityError::NotWholeBytes)?;
        if !value.is_multiple_of(divisor) {
            return Err(QuantityError::NotWholeBytes);
        }
        value /= divisor;
    }
    shifted(value, exp2 - cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(q: &str) -> Result<u64, QuantityError> {
        quantity_to_bytes(q)
    }

    #[test]
    fn plain_and_decimal_suffixes() {
        assert_eq!(bytes("0"), Ok(0));
        assert_eq!(bytes("1"), Ok(1));
        assert_eq!(bytes("+42"), Ok(42));
        assert_eq!(bytes("007"), Ok(7));
        assert_eq!(bytes("1k"), Ok(1_000));
        assert_eq!(bytes("1M"), Ok(1_000_000));
        assert_eq!(bytes("1G"), Ok(1_000_000_000));
        assert_eq!(bytes("1T"), Ok(1_000_000_000_000));
        assert_eq!(bytes("1P"), Ok(1_000_000_000_000_000));
        assert_eq!(bytes("1E"), Ok(1_000_000_000_000_000_000));
        assert_eq!(bytes("1000m"), Ok(1));
        assert_eq!(bytes("5000000u"), Ok(5));
        assert_eq!(bytes("3000000000n"), Ok(3));
    }

    #[test]
    fn binary_suffixes() {
        assert_eq!(bytes("1Ki"), Ok(1 << 10));
        assert_eq!(bytes("1Mi"), Ok(1_048_576));
        assert_eq!(bytes("2Gi"), Ok(2_147_483_648));
        assert_eq!(bytes("1Ti"), Ok(1 << 40));
        assert_eq!(bytes("1Pi"), Ok(1 << 50));
        assert_eq!(bytes("1Ei"), Ok(1 << 60));
        assert_eq!(bytes("7Ei"), Ok(7 << 60));
    }

    #[test]
    fn fractions_that_are_whole_bytes() {
        assert_eq!(bytes("1.5Gi"), Ok(1_610_612_736));
        assert_eq!(bytes("0.5Ki"), Ok(512));
        assert_eq!(bytes("0.25Ki"), Ok(256));
        assert_eq!(bytes("0.0009765625Mi"), Ok(1024));
        assert_eq!(bytes("1.5k"), Ok(1_500));
        assert_eq!(bytes("2.50M"), Ok(2_500_000));
        assert_eq!(bytes(".5k"), Ok(500));
        assert_eq!(bytes("5."), Ok(5));
        assert_eq!(bytes("1.000"), Ok(1));
    }

    #[test]
    fn exponents() {
        assert_eq!(bytes("1e3"), Ok(1_000));
        assert_eq!(bytes("1E3"), Ok(1_000));
        assert_eq!(bytes("1e+3"), Ok(1_000));
        assert_eq!(bytes("12e-1"), Err(QuantityError::NotWholeBytes));
        assert_eq!(bytes("120e-1"), Ok(12));
        assert_eq!(bytes("1.5e9"), Ok(1_500_000_000));
        assert_eq!(bytes("0e99999"), Ok(0));
        assert_eq!(bytes("1e18"), Ok(1_000_000_000_000_000_000));
        assert_eq!(bytes("1e19"), Err(QuantityError::TooLarge));
        assert_eq!(bytes("1e99999"), Err(QuantityError::TooLarge));
        assert_eq!(bytes("1e-99999"), Err(QuantityError::NotWholeBytes));
        assert_eq!(
            bytes("100000000000000000000000000000e-20"),
            Ok(1_000_000_000)
        );
    }

    #[test]
    fn zero_in_any_form() {
        assert_eq!(bytes("-0"), Ok(0));
        assert_eq!(bytes("0.0Gi"), Ok(0));
        assert_eq!(bytes("0m"), Ok(0));
        assert_eq!(bytes(".0"), Ok(0));
    }

    #[test]
    fn fractions_of_a_byte() {
        assert_eq!(bytes("100m"), Err(QuantityError::NotWholeBytes));
        assert_eq!(bytes("0.5"), Err(QuantityError::NotWholeBytes));
        assert_eq!(bytes("1n"), Err(QuantityError::NotWholeBytes));
        assert_eq!(bytes("0.1Ki"), Err(QuantityError::NotWholeBytes));
        assert_eq!(bytes("1.0001k"), Err(QuantityError::NotWholeBytes));
    }

    #[test]
    fn negative_values_are_rejected() {
        assert_eq!(bytes("-1"), Err(QuantityError::Negative));
        assert_eq!(bytes("-1Gi"), Err(QuantityError::Negative));
        assert_eq!(bytes("-100m"), Err(QuantityError::Negative));
    }

    #[test]
    fn int64_is_the_limit() {
        assert_eq!(bytes("9223372036854775807"), Ok(i64::MAX as u64));
        assert_eq!(bytes("9223372036854775808"), Err(QuantityError::TooLarge));
        assert_eq!(bytes("8Ei"), Err(QuantityError::TooLarge));
        assert_eq!(bytes("7.99999999Ei"), Err(QuantityError::NotWholeBytes));
        assert_eq!(bytes("10E"), Err(QuantityError::TooLarge));
        assert_eq!(
            bytes("99999999999999999999999999999999999999"),
            Err(QuantityError::TooLarge)
        );
        assert_eq!(
            bytes("999999999999999999999999999999999999999"),
            Err(QuantityError::TooManyDigits)
        );
    }

    #[test]
    fn garbage() {
        assert_eq!(bytes(""), Err(QuantityError::Empty));
        assert_eq!(bytes("Gi"), Err(QuantityError::NoDigits));
        assert_eq!(bytes("-"), Err(QuantityError::NoDigits));
        assert_eq!(bytes("."), Err(QuantityError::NoDigits));
        assert_eq!(bytes("abc"), Err(QuantityError::NoDigits));
        for (q, suffix) in [
            ("1K", "K"),
            ("1gi", "gi"),
            ("1GB", "GB"),
            ("1 Gi", " Gi"),
            ("1Gi ", "Gi "),
            ("1e", "e"),
            ("1e+", "e+"),
            ("1e1.5", "e1.5"),
            ("1.2.3", ".3"),
            ("1Gi1", "Gi1"),
            ("1e3Ki", "e3Ki"),
            ("1e99999999999999999999", "e99999999999999999999"),
        ] {
            assert_eq!(
                bytes(q),
                Err(QuantityError::UnknownSuffix(suffix.to_string())),
                "{q}"
            );
        }
    }

    #[test]
    fn messages() {
        assert_eq!(
            QuantityError::UnknownSuffix("K".into()).to_string(),
            "unknown suffix \"K\" (expected one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent like e9)"
        );
        assert_eq!(
            QuantityError::TooLarge.to_string(),
            "larger than 9223372036854775807 bytes"
        );
    }
}
