//! Dates and times a user types: RFC 3339 with an offset, or a local date or time
//! (`2026-03-02`, `2026-03-02 10:05[:SS]`, also with `T`). The error names the value and
//! the accepted forms, not a flag or a form field: each caller adds its own name.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Why a typed time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?}: expected a local date (2026-03-02), a local time (2026-03-02 10:05) or RFC 3339 (2026-03-02T10:05:00+01:00){detail}")]
pub struct TimeError {
    /// What was given.
    pub value: String,
    /// More detail (e.g. a time skipped by a DST change).
    pub detail: &'static str,
}

/// Parses a user's date or time, reading local forms in `tz`.
pub fn parse_local<Tz: TimeZone>(value: &str, tz: &Tz) -> Result<DateTime<Utc>, TimeError> {
    let bad = |detail| TimeError {
        value: value.to_string(),
        detail,
    };
    let text = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN))
    })
    .ok_or_else(|| bad(""))?;
    // In the hour repeated when DST ends, take the earlier reading: a fault report is then
    // dated no later than it happened.
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| bad(" (that local time does not exist: it is skipped by a DST change)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn local_and_rfc3339_forms() {
        let plus_one = FixedOffset::east_opt(3600).expect("offset");
        let ten_past = Utc.with_ymd_and_hms(2026, 3, 2, 9, 5, 0).single();
        assert_eq!(parse_local("2026-03-02 10:05", &plus_one).ok(), ten_past);
        assert_eq!(parse_local(" 2026-03-02T10:05 ", &plus_one).ok(), ten_past);
        assert_eq!(
            parse_local("2026-03-02T10:05:00+01:00", &Utc).ok(),
            ten_past
        );
        let e = parse_local("yesterday", &Utc).expect_err("not a time");
        assert!(e.to_string().starts_with("\"yesterday\": expected"), "{e}");
        assert!(!e.to_string().contains("--"), "no flag names: {e}");
    }
}
