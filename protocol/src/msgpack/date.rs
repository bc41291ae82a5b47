//! JavaScript `Date` values found in notepack messages, turned into the text `JSON.stringify`
//! makes of them (`Date#toJSON`, i.e. `toISOString`), since that is what a Node node would
//! finally send to its clients.

/// The largest time value a JavaScript `Date` holds: ±8.64e15 ms (±100,000,000 days).
const MAX_TIME: f64 = 8.64e15;

const MS_PER_DAY: i64 = 86_400_000;

/// `new Date(seconds * 1e3 + nanoseconds / 1e6)`, computed in doubles as JavaScript does:
/// `None` when out of range (an "Invalid Date", which `JSON.stringify` writes as `null`).
pub(super) fn from_parts(seconds: i64, nanoseconds: u32) -> Option<i64> {
    time_clip(seconds as f64 * 1e3 + f64::from(nanoseconds) / 1e6)
}

/// `new Date(ms)`.
pub(super) fn from_millis(ms: i64) -> Option<i64> {
    time_clip(ms as f64)
}

/// ECMAScript `TimeClip`: refuse out-of-range values, truncate towards zero.
fn time_clip(time: f64) -> Option<i64> {
    if !time.is_finite() || time.abs() > MAX_TIME {
        return None;
    }
    Some(time.trunc() as i64)
}

/// `Date#toISOString`: `YYYY-MM-DDTHH:mm:ss.sssZ`, the year as `±YYYYYY` outside 0..=9999.
pub(super) fn iso_text(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{}{:06}", if year < 0 { '-' } else { '+' }, year.abs())
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
