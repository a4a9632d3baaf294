//! Consent to process a child's biometric data, and what it allows. A leaf of the crate: storage
//! applies it (enrolment refused, templates deleted on withdrawal) and reports show it.
//!
//! The rule (England and Wales, Protection of Freedoms Act 2012 ss. 26-28, which is also what
//! GDPR Art. 9 and Illinois BIPA need in practice): a school may process a child's biometric data
//! only with the written consent of at least one parent, and never while any parent, or the child,
//! objects. So each person's latest event counts: consent is usable when at least one person's
//! latest event is a grant and nobody's latest event is an objection. A withdrawal cancels that
//! person's grant. Events are never rewritten; the history is the record.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ConsentKind {
    #[value(name = "grant", alias = "granted")]
    Granted,
    #[value(name = "withdraw", alias = "withdrawn")]
    Withdrawn,
    #[value(name = "object", alias = "objected")]
    Objected,
}

impl ConsentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentKind::Granted => "granted",
            ConsentKind::Withdrawn => "withdrawn",
            ConsentKind::Objected => "objected",
        }
    }

    /// Also the words an office's roster column may use (`yes`, `no`, `withdrawn`, …).
    pub fn parse(s: &str) -> Option<ConsentKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "granted" | "grant" | "yes" | "y" | "given" | "consent" => Some(ConsentKind::Granted),
            "withdrawn" | "withdraw" => Some(ConsentKind::Withdrawn),
            "objected" | "object" | "objection" | "no" | "n" | "refused" => Some(ConsentKind::Objected),
            _ => None,
        }
    }
}

/// One event as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentEvent {
    pub kind: ConsentKind,
    /// The guardian's name, or "student" for the child's own objection.
    pub by: String,
    pub relation: Option<String>,
    /// When it was given (the form's date), not when it was typed in.
    pub date: NaiveDate,
    pub how: Option<String>,
    pub note: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub recorded_by: String,
}

/// Longest name, relation, means or note a consent event takes.
pub const MAX_FIELD_CHARS: usize = 200;

/// A consent event as a person enters it (CLI or app), checked by `into_event` before anything
/// is written.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsentRequest {
    pub kind: ConsentKind,
    pub by: String,
    pub relation: Option<String>,
    pub date: NaiveDate,
    pub how: Option<String>,
    pub note: Option<String>,
}

impl ConsentRequest {
    /// The event to record, or a sentence saying what is wrong (a future date, nobody named).
    pub fn into_event(self, recorded_by: &str, now: NaiveDateTime) -> Result<ConsentEvent, String> {
        let clean = |what: &str, v: Option<String>| -> Result<Option<String>, String> {
            let v = v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            match &v {
                Some(t) if t.chars().count() > MAX_FIELD_CHARS => Err(format!("{what} is longer than {MAX_FIELD_CHARS} characters")),
                Some(t) if t.chars().any(char::is_control) => Err(format!("{what} has control characters")),
                _ => Ok(v),
            }
        };
        let by = clean("who (--by)", Some(self.by))?.ok_or("say who gave, withdrew or refused consent (--by NAME, or --by student for the child's own objection)")?;
        if self.date > now.date() {
            return Err(format!("the consent date {} is in the future: give the date on the form", self.date));
        }
        Ok(ConsentEvent {
            kind: self.kind,
            by,
            relation: clean("the relation", self.relation)?,
            date: self.date,
            how: clean("how it was given", self.how)?,
            note: clean("the note", self.note)?,
            recorded_at: now,
            recorded_by: clean("who records it", Some(recorded_by.to_string()))?.unwrap_or_else(|| "office".into()),
        })
    }
}

/// A student's consent as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ConsentState {
    /// Nothing on record.
    #[default]
    None,
    Granted,
    Withdrawn,
    Objected,
}

impl ConsentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::None => "none",
            ConsentState::Granted => "granted",
            ConsentState::Withdrawn => "withdrawn",
            ConsentState::Objected => "objected",
        }
    }

    /// Biometric data may be processed (enrolled, recognised).
    pub fn usable(self) -> bool {
        self == ConsentState::Granted
    }
}

/// The state from the full history (in any order).
pub fn state(events: &[ConsentEvent]) -> ConsentState {
    // Each person's latest event, by the date given, then the order recorded.
    let mut latest: Vec<&ConsentEvent> = Vec::new();
    for e in events {
        let who = e.by.trim().to_lowercase();
        match latest.iter_mut().find(|l| l.by.trim().to_lowercase() == who) {
            Some(l) if (e.date, e.recorded_at) >= (l.date, l.recorded_at) => *l = e,
            Some(_) => {}
            None => latest.push(e),
        }
    }
    if latest.iter().any(|e| e.kind == ConsentKind::Objected) {
        ConsentState::Objected
    } else if latest.iter().any(|e| e.kind == ConsentKind::Granted) {
        ConsentState::Granted
    } else if latest.is_empty() {
        ConsentState::None
    } else {
        ConsentState::Withdrawn
    }
}

/// Why a student may not be enrolled or recognised, as a sentence naming them; `None` if they may.
pub fn refusal(student_id: &str, name: &str, events: &[ConsentEvent]) -> Option<String> {
    let who = format!("{student_id} ({name})");
    match state(events) {
        ConsentState::Granted => None,
        ConsentState::None => Some(format!(
            "no consent on record for {who}: record a parent's written consent first (`rollcall consent {student_id} grant --by NAME --relation mother|father|guardian --date YYYY-MM-DD`, or Students in the app); until then they are registered by hand"
        )),
        ConsentState::Withdrawn => {
            let last = events.iter().filter(|e| e.kind == ConsentKind::Withdrawn).max_by_key(|e| (e.date, e.recorded_at));
            Some(format!(
                "consent for {who} was withdrawn{}: their face data may not be processed; they are registered by hand",
                last.map(|e| format!(" by {} on {}", e.by, e.date)).unwrap_or_default()
            ))
        }
        ConsentState::Objected => {
            let last = events.iter().filter(|e| e.kind == ConsentKind::Objected).max_by_key(|e| (e.date, e.recorded_at));
            Some(format!(
                "an objection stands for {who}{}: whatever any consent says, their face data may not be processed; they are registered by hand",
                last.map(|e| format!(" ({} on {})", if e.by.eq_ignore_ascii_case("student") { "the student".to_string() } else { e.by.clone() }, e.date)).unwrap_or_default()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: ConsentKind, by: &str, day: u32) -> ConsentEvent {
        let date = NaiveDate::from_ymd_opt(2026, 9, day).unwrap();
        ConsentEvent { kind, by: by.into(), relation: None, date, how: None, note: None, recorded_at: date.and_hms_opt(12, 0, 0).unwrap(), recorded_by: "office".into() }
    }

    #[test]
    fn one_parents_consent_is_enough_and_any_objection_wins() {
        use ConsentKind::*;
        assert_eq!(state(&[]), ConsentState::None);
        assert!(state(&[ev(Granted, "Ana Silva", 1)]).usable());
        // The other parent objects: nothing may be processed, whatever the consent.
        assert_eq!(state(&[ev(Granted, "Ana Silva", 1), ev(Objected, "Rui Silva", 2)]), ConsentState::Objected);
        // The child objects.
        assert_eq!(state(&[ev(Granted, "Ana Silva", 1), ev(Objected, "student", 3)]), ConsentState::Objected);
        // The one who consented withdraws.
        assert_eq!(state(&[ev(Granted, "Ana Silva", 1), ev(Withdrawn, "ana silva", 4)]), ConsentState::Withdrawn);
        // ... while the other parent's consent stands.
        assert!(state(&[ev(Granted, "Ana Silva", 1), ev(Granted, "Rui Silva", 2), ev(Withdrawn, "Ana Silva", 4)]).usable());
        // An objection lifted by the same person, later.
        assert!(state(&[ev(Objected, "Rui Silva", 1), ev(Granted, "Rui Silva", 5)]).usable());
        // Order of recording does not matter: the dates do.
        assert_eq!(state(&[ev(Withdrawn, "Ana Silva", 9), ev(Granted, "Ana Silva", 1)]), ConsentState::Withdrawn);
        assert!(refusal("1042", "Ada", &[]).unwrap().contains("no consent on record for 1042 (Ada)"));
    }
}
