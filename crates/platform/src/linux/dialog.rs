//! No message box on Linux: the one caller, the dashboard without a web view runtime, cannot
//! occur here, because the dashboard links WebKitGTK and does not start without it. Saying so
//! as an error keeps the caller's fallback (its log line) the only word.

use crate::dialog::DialogError;

pub(crate) fn ask_yes_no(_title: &str, _text: &str) -> Result<bool, DialogError> {
    Err(DialogError {
        detail: "this system has no message box of dialtone's".into(),
    })
}
