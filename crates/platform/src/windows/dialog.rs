//! The system's message box (`MessageBoxW`): modal, with its own message loop, so it needs no
//! window or event loop of ours. Brought to the front and kept on top, since the dashboard
//! that shows it has no window of its own to bring it there.
#![allow(unsafe_code)] // One Win32 call on two NUL-terminated UTF-16 strings that outlive it.

use crate::dialog::DialogError;
use crate::windows::security::wide;
use std::ffi::OsStr;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    MessageBoxW, IDYES, MB_ICONWARNING, MB_SETFOREGROUND, MB_TOPMOST, MB_YESNO,
};

pub(crate) fn ask_yes_no(title: &str, text: &str) -> Result<bool, DialogError> {
    let title = wide(OsStr::new(title));
    let text = wide(OsStr::new(text));
    // SAFETY: both pointers are NUL-terminated UTF-16 buffers alive for the whole call; a null
    // owner window is documented (the box then has no owner).
    let answer = unsafe {
        MessageBoxW(
            std::ptr::null_mut(),
            text.as_ptr(),
            title.as_ptr(),
            MB_YESNO | MB_ICONWARNING | MB_SETFOREGROUND | MB_TOPMOST,
        )
    };
    if answer == 0 {
        return Err(DialogError {
            detail: std::io::Error::last_os_error().to_string(),
        });
    }
    Ok(answer == IDYES)
}
