//! The `dialtone-dashboard` binary: everything lives in the library so tests can drive it.
// No console window behind the dashboard on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    dialtone_dashboard::run();
}
