//! The dashboard's exit codes, named in one place so that whoever starts it (the agent's "Open
//! dashboard", a script, a test) can tell the endings apart.

use dialtone_core::verdict::EXIT_CONFIG_ERROR;

/// The window was closed: the normal end of a dashboard.
pub const CLOSED: i32 = 0;

/// The window could not be opened (no display, the webview failed to start).
pub const WINDOW_FAILED: i32 = 1;

/// The agent's socket could not be located (neither `DIALTONE_SOCKET` nor a usable runtime
/// directory): a setup problem, so the code the agent and the CLI give configuration errors.
// A widening cast: `i32::from` is not usable in a constant.
pub const NO_AGENT_SOCKET: i32 = EXIT_CONFIG_ERROR as i32;

/// No web view runtime to show the window in (a Windows without Microsoft's WebView2
/// runtime): said with where to get it, instead of the panic Tauri would end in.
pub const NO_WEBVIEW: i32 = 6;
