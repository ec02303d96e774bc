//! The tray on Windows: tray-icon's Win32 backend (`Shell_NotifyIcon`), whose hidden window
//! receives the icon's clicks and menu as window messages on the thread that created it, so
//! that thread must pump messages; Explorer's notification area is always there to show it.
//! Windows 11 puts a new icon in the overflow until the user pins it.

#![allow(unsafe_code)] // the message pump's Win32 calls, on a MSG this function owns.

use crate::tray::TrayHostError;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Duration;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, PeekMessageW, TranslateMessage, MSG, PM_REMOVE,
};

/// How often the loop looks for window messages while it waits for commands: a click on the
/// icon or its menu is handled within this. (Waiting on both at once would take
/// `MsgWaitForMultipleObjects` with no handles, which wine answers at once, spinning the loop.)
const MESSAGE_POLL: Duration = Duration::from_millis(50);

pub(crate) fn host_present() -> Result<bool, TrayHostError> {
    // The notification area belongs to the shell; with no shell running there is no desktop
    // to show anything on either.
    Ok(true)
}

pub(crate) fn run_loop<C>(
    inbox: mpsc::Receiver<C>,
    mut on_command: impl FnMut(C) -> ControlFlow<()>,
) {
    loop {
        pump_messages();
        match inbox.recv_timeout(MESSAGE_POLL) {
            Ok(command) => {
                if on_command(command).is_break() {
                    return;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Hands every waiting window message of this thread to its window procedure.
fn pump_messages() {
    let mut msg = MSG::default();
    while unsafe { PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, PM_REMOVE) } != 0 {
        unsafe {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}
