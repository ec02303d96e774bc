//! A fault report as the user typed it (how and when they told the provider), and the one
//! check it passes before the history stores it: the CLI's `log report`, the dashboard's form
//! and the agent's IPC handler all call [`validate`].

use crate::outage::FaultReport;
use chrono::{DateTime, TimeDelta, Utc};

/// The longest report channel, in characters.
pub const MAX_REPORT_CHANNEL: usize = 100;
/// The longest ticket number, in characters.
pub const MAX_REPORT_TICKET: usize = 100;
/// The longest note, in characters.
pub const MAX_REPORT_NOTE: usize = 2000;

/// How far in the future a fault report may be dated: a little clock skew between the user's
/// watch and this computer, not a report that has not happened yet.
pub const MAX_REPORT_AHEAD: TimeDelta = TimeDelta::hours(1);

/// A fault report as the user typed it.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// The episode's id.
    pub episode: i64,
    /// When the provider received the report.
    pub reported_at: DateTime<Utc>,
    /// How it was reported.
    pub channel: String,
    /// The ticket number.
    pub ticket: Option<String>,
    /// The note.
    pub note: Option<String>,
}

/// A field of the report that cannot be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct ReportError {
    /// `episode`, `reported_at`, `channel`, `ticket` or `note`.
    pub field: &'static str,
    /// What is wrong.
    pub detail: String,
}

/// Trims one text field and checks its length and characters; an empty optional field means
/// "not given". Line breaks are allowed in the note only.
fn text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
    required: bool,
    multiline: bool,
) -> Result<Option<String>, ReportError> {
    let invalid = |detail: String| ReportError { field, detail };
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return if required {
            Err(invalid("must not be empty".into()))
        } else {
            Ok(None)
        };
    };
    let chars = value.chars().count();
    if chars > max {
        return Err(invalid(format!("{chars} characters, at most {max}")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(invalid("contains control characters".into()));
    }
    Ok(Some(value.to_string()))
}

/// Checks a fault report relative to `now` and turns it into what the history stores.
/// Whether the episode exists is checked by the history itself.
pub fn validate(input: &ReportInput, now: DateTime<Utc>) -> Result<FaultReport, ReportError> {
    if input.episode <= 0 {
        return Err(ReportError {
            field: "episode",
            detail: format!("{} is not an episode id", input.episode),
        });
    }
    if input.reported_at > now + MAX_REPORT_AHEAD {
        return Err(ReportError {
            field: "reported_at",
            detail: "lies in the future".into(),
        });
    }
    let channel = text(
        "channel",
        Some(&input.channel),
        MAX_REPORT_CHANNEL,
        true,
        false,
    )?
    .unwrap_or_default();
    Ok(FaultReport {
        reported_at: input.reported_at,
        channel,
        ticket: text(
            "ticket",
            input.ticket.as_deref(),
            MAX_REPORT_TICKET,
            false,
            false,
        )?,
        note: text("note", input.note.as_deref(), MAX_REPORT_NOTE, false, true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(channel: &str) -> ReportInput {
        ReportInput {
            episode: 1,
            reported_at: DateTime::<Utc>::UNIX_EPOCH,
            channel: channel.into(),
            ticket: Some("  ".into()),
            note: Some("line one\nline two".into()),
        }
    }

    #[test]
    fn fields_are_trimmed_and_bounded() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let report = validate(&input(" Hotline "), now).expect("valid");
        assert_eq!(report.channel, "Hotline");
        assert_eq!(report.ticket, None, "blank means not given");
        assert_eq!(report.note.as_deref(), Some("line one\nline two"));
        assert_eq!(
            validate(&input(" "), now).map_err(|e| e.field),
            Err("channel")
        );
        let long = "x".repeat(MAX_REPORT_CHANNEL + 1);
        assert_eq!(
            validate(&input(&long), now).map_err(|e| e.field),
            Err("channel")
        );
        assert_eq!(
            validate(&input("a\u{7}b"), now).map_err(|e| e.field),
            Err("channel")
        );
        let mut future = input("Hotline");
        future.reported_at = now + MAX_REPORT_AHEAD + TimeDelta::seconds(1);
        assert_eq!(
            validate(&future, now).map_err(|e| e.field),
            Err("reported_at")
        );
    }
}
