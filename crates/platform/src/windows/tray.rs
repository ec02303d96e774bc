//! The tray on Windows: tray-icon's Win32 backend (`Shell_NotifyIcon`), whose hidden window
//! receives the icon's clicks and menu as window messages on the thread that created it, so
//! that thread must pump messages; Explorer's notification area is always there to show it.
//! Windows 11 puts a new icon in the overflow until the user pins it.

#![allow(unsafe_code)] // the message loop's three Win32 calls, on a MSG this function owns.

use crate::tray::TrayHostError;
use std::ops::ControlFlow;
use std::sync::mpsc;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, MsgWaitForMultipleObjects, PeekMessageW, TranslateMessage, MSG, PM_REMOVE,
    QS_ALLINPUT,
};

/// How long the loop sleeps when neither a window message nor a command comes: commands
/// arrive on a channel Windows cannot wait on, so they are looked at this often (a verdict
/// change reaches the tray within it).
const COMMAND_POLL_MS: u32 = 100;

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
        loop {
            match inbox.try_recv() {
                Ok(command) => {
                    if on_command(command).is_break() {
                        return;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        pump_messages();
        // Wakes at once for any window message (a click, the menu), else after the poll time.
        unsafe { MsgWaitForMultipleObjects(0, std::ptr::null(), 0, COMMAND_POLL_MS, QS_ALLINPUT) };
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
