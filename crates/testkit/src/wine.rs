//! Windows programs under wine, the one Windows this machine has: a private wine prefix per
//! harness on an Xvfb display of its own, the cross-built `.exe` copied into it beside the
//! test-only `bcryptprimitives.dll` shim, and commands that run it there.
//!
//! **The shim.** Rust ≥ 1.78 programs import `ProcessPrng` from `bcryptprimitives.dll`, which
//! Windows 10/11 have and wine 8.0 lacks, so without it the program does not start at all. A
//! stub built here with mingw forwards it to `RtlGenRandom`. It lives only in the test prefix,
//! never in what is shipped.
//!
//! **What wine is not.** wine runs every program as one user, has no WebView2, no WinRT toasts
//! and its own implementations of the IP Helper and security APIs: a pass here shows the
//! program starts, finds its files, talks over loopback and serves its pipe; it does not prove
//! behaviour that depends on real Windows' ACL checks or shell.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Rust target the Windows build uses.
pub const TARGET: &str = "x86_64-pc-windows-gnu";

/// The 64-bit loader: the plain `wine` launcher tries the 32-bit one first and fails.
const WINE64: &str = "/usr/lib/wine/wine64";
/// The wine server, stopped with the prefix.
const WINESERVER: &str = "/usr/lib/wine/wineserver";
/// The MinGW-w64 compiler the shim is built with.
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

const SHIM_C: &str = "#include <windows.h>\n#include <ntsecapi.h>\n\
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return RtlGenRandom(data, (ULONG)len); }\n";
const SHIM_DEF: &str = "LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n";

/// Whether wine (64-bit) and MinGW-w64 are installed (`scripts/lib/setup.sh`
/// `install_windows_deps`).
pub fn available() -> bool {
    Path::new(WINE64).exists()
        && Command::new(MINGW_GCC)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The cross-built `name.exe` of this workspace's debug profile (`CARGO_TARGET_DIR` honoured):
/// `cargo build --target x86_64-pc-windows-gnu -p dialtone` makes `dialtone.exe` (scripts/test
/// does before the tests).
pub fn exe(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target
        .join(TARGET)
        .join("debug")
        .join(format!("{name}.exe"))
}

/// A wine prefix of its own with programs installed in `bin/`; removed (and its wine server
/// stopped) when dropped.
pub struct Prefix {
    dir: tempfile::TempDir,
    /// The X display of its own (Xvfb) wine's desktop and explorer run on.
    display: String,
    xvfb: std::process::Child,
    /// Programs that live as long as the prefix (the window that keeps wine's desktop).
    children: Vec<std::process::Child>,
}

impl Prefix {
    /// Makes the prefix (a few seconds: wine sets up its registry and `C:`), builds the shim
    /// into `bin/` and copies each of `programs` there.
    pub fn new(programs: &[&Path]) -> Prefix {
        let dir = tempfile::Builder::new()
            .prefix("dialtone-wine-")
            .tempdir()
            .expect("temp dir for the wine prefix");
        // Without a display wine's explorer cannot start, and every program that links user32
        // waits 10 s for it; on a display of its own each starts in a fraction of a second.
        // `-displayfd` makes Xvfb pick a free display and say which: no race with other tests.
        let (xvfb, lines) = crate::spawn_with_lines(Command::new("Xvfb").args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "1024x768x24",
        ]))
        .expect("Xvfb (package xvfb)");
        let (_, line) = lines
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("Xvfb announces its display");
        let mut prefix = Prefix {
            dir,
            display: format!(":{}", line.trim()),
            xvfb,
            children: Vec::new(),
        };
        let bin = prefix.bin();
        std::fs::create_dir_all(&bin).expect("bin dir");
        // A persistent wine server, started with no output of ours: the helper processes wine
        // starts with the prefix (services, explorer) live as long as it does, so they are not
        // started again by each program, inheriting its output pipes, which kept the test
        // waiting for their end (seconds per run) after the program itself had finished.
        // wineboot fails now and then for reasons of wine's own (exit 53 once in a CI run, with
        // six prefixes made at once on two cores); a prefix that did not boot is made again,
        // from nothing, up to three times, and wine's words for each failure are kept.
        let mut failures = Vec::new();
        while let Err(failure) = prefix.boot() {
            failures.push(failure);
            assert!(
                failures.len() < 3,
                "wine could not make a prefix in 3 tries:\n{}",
                failures.join("\n")
            );
            println!(
                "making the wine prefix again after: {}",
                failures.join("; ")
            );
        }
        // One window kept open: wine's desktop process (explorer) ends with the last program
        // that has one, and starting it again costs every later program 10 s (it waits for an
        // RPC service this wine cannot start). Notepad keeps it, and is stopped with the server.
        let keeper = prefix
            .wine_command(Path::new("notepad"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start notepad under wine");
        prefix.children.push(keeper);
        std::fs::write(bin.join("shim.c"), SHIM_C).expect("write shim.c");
        std::fs::write(bin.join("shim.def"), SHIM_DEF).expect("write shim.def");
        let out = Command::new(MINGW_GCC)
            .args([
                "-shared",
                "-o",
                "bcryptprimitives.dll",
                "shim.c",
                "shim.def",
                "-ladvapi32",
            ])
            .current_dir(&bin)
            .output()
            .expect("run x86_64-w64-mingw32-gcc");
        assert!(
            out.status.success(),
            "building the bcryptprimitives shim: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for program in programs {
            let name = program.file_name().expect("a program file name");
            std::fs::copy(program, bin.join(name))
                .unwrap_or_else(|e| panic!("copying {}: {e}", program.display()));
        }
        prefix
    }

    /// Where the programs are (Linux path).
    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// A scratch directory inside the harness (Linux path), for configs and outputs.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join("scratch").join(name);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    /// The X display the prefix's programs run on (for a screenshot).
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The prefix's `C:` drive (Linux path), e.g. to look at `%LOCALAPPDATA%`.
    pub fn drive_c(&self) -> PathBuf {
        self.dir.path().join("prefix/drive_c")
    }

    /// `program` (a name in `bin/`, e.g. `dialtone.exe`) under wine, quiet, in this prefix.
    pub fn command(&self, program: &str) -> Command {
        self.wine_command(&self.bin().join(program))
    }

    /// A program as Windows names it (`reg`, `C:\users\…\uninstall.exe`) under wine, quiet,
    /// in this prefix.
    pub fn windows_command(&self, program: &str) -> Command {
        self.wine_command(Path::new(program))
    }

    /// Starts the prefix's wine server and boots the prefix; on failure, stops the server and
    /// removes what was made, and says what wine said.
    fn boot(&self) -> Result<(), String> {
        let dir = self.dir.path().join("prefix");
        std::fs::create_dir_all(&dir).expect("prefix dir");
        let server = Command::new(WINESERVER)
            .arg("-p")
            .env("WINEPREFIX", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("start wineserver");
        assert!(server.success(), "wineserver -p: {server}");
        // Its words go to a file, not a pipe: the helpers wine starts with the prefix inherit
        // the handle and live on, and a pipe would not end until they do.
        let log = self.dir.path().join("wineboot.log");
        let boot = self
            .wine_command(Path::new("wineboot"))
            .arg("-i")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("wineboot's log"))
            .status()
            .expect("run wineboot");
        if boot.success() {
            return Ok(());
        }
        let _ = Command::new(WINESERVER)
            .arg("-k")
            .env("WINEPREFIX", &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&dir);
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(5).collect();
        Err(format!(
            "wineboot -i: {boot} ({})",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    }

    fn wine_command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(WINE64);
        cmd.arg(program)
            .env("WINEPREFIX", self.dir.path().join("prefix"))
            .env("WINEDEBUG", "-all")
            .env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY");
        cmd
    }
}

/// `path` as a Windows program under wine names it: wine maps `/` to drive `Z:`.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.to_string_lossy().replace('/', "\\"))
}

impl Drop for Prefix {
    fn drop(&mut self) {
        // The server lingers a few seconds after the last program; stop it before the prefix
        // it serves is removed.
        let _ = Command::new(WINESERVER)
            .arg("-k")
            .env("WINEPREFIX", self.dir.path().join("prefix"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_paths_become_drive_z() {
        assert_eq!(
            windows_path(Path::new("/tmp/a b/c.toml")),
            r"Z:\tmp\a b\c.toml"
        );
    }
}
