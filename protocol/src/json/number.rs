//! Numbers as JavaScript writes them (`Number#toString`, which `JSON.stringify` uses).

use serde_json::Number;

/// The text JavaScript gives a JSON number (`String(n)`, which is also what `JSON.stringify`
/// writes). Integers keep their exact digits, even beyond 2^53 where JavaScript would round.
pub fn number_text(number: &Number) -> String {
    if let Some(unsigned) = number.as_u64() {
        unsigned.to_string()
    } else if let Some(signed) = number.as_i64() {
        signed.to_string()
    } else {
        // A serde_json number is always one of u64, i64 or a finite f64.
        js_float_text(number.as_f64().unwrap_or(0.0))
    }
}

/// ECMAScript `Number::toString(x)` for a finite `x` (ECMA-262 §6.1.6.1.20): the shortest
/// digits that read back as `x`, in plain notation for exponents -7 < n <= 21, otherwise as
/// `d.ddde±n`. Non-finite values cannot occur in JSON; they print as `null` like JS would.
pub fn js_float_text(value: f64) -> String {
    if !value.is_finite() {
        return "null".to_owned();
    }
    if value == 0.0 {
        return "0".to_owned(); // also -0, as in JavaScript
    }
    let (digits, n) = shortest_digits(value.abs());
    let k = digits.len() as i32;

    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent = n - 1;
        out.push('e');
        out.push(if exponent >= 0 { '+' } else { '-' });
        out.push_str(&exponent.abs().to_string());
    }
    out
}

/// The shortest digits `d1…dk` that read back as `value` (> 0), and `n`, the position of the
/// decimal point: `value ≈ 0.d1…dk × 10^n`.
///
/// Rust's `{:e}` gives the shortest digits, but when two k-digit candidates are exactly as
/// close to `value` it takes the upper one, where ECMAScript takes the even one
/// (`1388467131260411.25` is `…411.2` in JavaScript): such ties are corrected here.
fn shortest_digits(value: f64) -> (String, i32) {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let n = exponent + 1;
    match even_tie_candidate(value, digits.len()) {
        Some(tie) => tie,
        None => (digits, n),
    }
}

/// When `value` lies exactly halfway between two `k`-digit decimals that both read back as
/// `value`, the even one, as `shortest_digits` returns it; `None` otherwise.
fn even_tie_candidate(value: f64, k: usize) -> Option<(String, i32)> {
    // A tie needs the exact decimal expansion of `value` to be k+1 digits ending in 5.
    let (exact, exponent) = exact_decimal(value)?;
    if exact % 10 != 5 || exact.to_string().len() != k + 1 {
        return None;
    }
    let lower = exact / 10;
    let even = if lower % 2 == 0 { lower } else { lower + 1 };
    let candidate_exponent = exponent + 1; // value of the candidate: even × 10^candidate_exponent
    if format!("{even}e{candidate_exponent}").parse::<f64>().ok()? != value {
        return None;
    }
    let text = even.to_string();
    let digits = text.trim_end_matches('0');
    let n = candidate_exponent + text.len() as i32;
    Some((digits.to_owned(), n))
}

/// `value` (> 0, finite) as `significand × 10^exponent` exactly, with no trailing zero in the
/// significand, when the significand has at most 19 digits (the only case a tie can occur).
fn exact_decimal(value: f64) -> Option<(u128, i32)> {
    let bits = value.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut mantissa, mut power_of_two) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | (1 << 52), biased - 1075),
    };
    if mantissa == 0 {
        return None;
    }
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    power_of_two += zeros as i32;
    const LIMIT: u128 = 10_000_000_000_000_000_000; // 10^19
    if power_of_two >= 0 {
        // mantissa × 2^p: move common factors of 2 and 5 into the power of ten.
        let (mut significand, mut twos, mut tens) = (u128::from(mantissa), power_of_two, 0);
        while twos > 0 && significand % 5 == 0 {
            significand /= 5;
            twos -= 1;
            tens += 1;
        }
        if twos > 64 {
            return None;
        }
        let significand = significand << twos; // < 2^53 × 2^64 fits in u128
        (significand < LIMIT).then_some((significand, tens))
    } else {
        // mantissa / 2^p = mantissa × 5^p / 10^p, odd, so without trailing zeros.
        let fives = power_of_two.unsigned_abs();
        if fives > 27 {
            return None; // 5^28 > 10^19
        }
        let significand = u128::from(mantissa) * 5u128.pow(fives);
        (significand < LIMIT).then_some((significand, power_of_two))
    }
}
