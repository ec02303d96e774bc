//! The Windows module's decisions about identity and access that need no Windows: pipe names,
//! SIDs, the security descriptors (as SDDL text) the pipe and the private files get, and
//! reading a file's access back from its SDDL. Compiled on every OS under test, so Linux CI runs these tests; the calls into Win32
//! that feed them live beside this file and are compiled on Windows only.

use std::path::{Path, PathBuf};

/// The prefix every named pipe's path starts with on the local machine.
pub(crate) const PIPE_PREFIX: &str = r"\\.\pipe\";

/// The agent's pipe for the user `sid`: one per user, so two people logged in on one computer
/// each reach their own agent.
pub(crate) fn pipe_name(sid: &str) -> PathBuf {
    PathBuf::from(format!("{PIPE_PREFIX}dialtone-{sid}"))
}

/// The pipe an endpoint path means. A pipe path is taken as it is; any other path (an override
/// such as `DIALTONE_SOCKET=C:\Temp\a\agent.sock`, as tests set it to keep agents apart) names
/// a pipe of this user derived from it, because Windows has no pipes in the file system.
/// Backslashes are the one character a pipe name cannot hold.
pub(crate) fn pipe_path(path: &Path, sid: &str) -> PathBuf {
    let text = path.to_string_lossy();
    if text
        .get(..PIPE_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PIPE_PREFIX))
    {
        return path.to_path_buf();
    }
    let flat: String = text
        .chars()
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    PathBuf::from(format!("{PIPE_PREFIX}dialtone-{sid}-{flat}"))
}

/// Where the files that belong with the endpoint go: for a pipe, a directory named after it
/// in the user's local app data (`local`, `%LOCALAPPDATA%`), since a pipe has no directory;
/// for a file path (an override), its own directory, as on Linux.
pub(crate) fn companion_dir(endpoint: &Path, local: Option<&Path>) -> Option<PathBuf> {
    let text = endpoint.to_string_lossy();
    match text.get(..PIPE_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(PIPE_PREFIX) => {
            let pipe = &text[PIPE_PREFIX.len()..];
            Some(local?.join("dialtone").join("run").join(pipe))
        }
        _ => endpoint.parent().map(Path::to_path_buf),
    }
}

/// The named mutex that makes one agent per pipe, in the session's own namespace (`Local\`):
/// Windows documents `FILE_FLAG_FIRST_PIPE_INSTANCE` for the same, but wine ignores it, and a
/// mutex says "someone has it" on both. Object names cannot hold a backslash after the
/// namespace.
pub(crate) fn agent_mutex_name(pipe: &Path) -> String {
    let text = pipe.to_string_lossy();
    let name = text
        .get(..PIPE_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(PIPE_PREFIX))
        .map_or(&*text, |_| &text[PIPE_PREFIX.len()..]);
    format!(r"Local\dialtone-agent-{}", name.replace('\\', "/"))
}

/// Whether `text` is a SID in its string form (`S-1-5-21-…`): the pipe name and the security
/// descriptors are built from it, so anything else (an empty string from a failed lookup) must
/// not get that far.
pub(crate) fn is_sid(text: &str) -> bool {
    let mut parts = text.split('-');
    parts.next() == Some("S") && parts.next() == Some("1") && {
        let rest: Vec<&str> = parts.collect();
        rest.len() >= 2
            && rest
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// The pipe's security descriptor: a protected DACL (nothing inherited) that gives `sid` full
/// access and nobody else any, so another user's process cannot even open the pipe.
pub(crate) fn pipe_sddl(sid: &str) -> String {
    format!("D:P(A;;GA;;;{sid})")
}

/// A private directory's descriptor: only `sid`, inherited by the files and directories made
/// in it later (`OI`/`CI`), so a file SQLite creates there is private from its first byte.
pub(crate) fn private_dir_sddl(sid: &str) -> String {
    format!("D:P(A;OICI;FA;;;{sid})")
}

/// A private file's descriptor: only `sid`.
pub(crate) fn private_file_sddl(sid: &str) -> String {
    format!("D:P(A;;FA;;;{sid})")
}

/// The access a file's descriptor grants, in the Unix bits `fs::access_bits` reports: the
/// owner's `rw` (`rwx` for a directory) when an allow entry names `sid` (or the owner rights),
/// the same for group and others when an allow entry names anyone else; a missing DACL lets
/// everyone in. Deny entries only take away, so they add nothing here. LocalSystem (`SY`) is
/// the operating system itself, which reads every file anyway (as root does a 0600 file on
/// Linux): an entry for it grants no other user anything.
pub(crate) fn access_bits_from_sddl(sddl: &str, sid: &str, is_dir: bool) -> u32 {
    let full: u32 = if is_dir { 0o7 } else { 0o6 };
    let Some(dacl) = sddl.split("D:").nth(1) else {
        // No DACL at all: Windows grants everyone everything.
        return full * 0o111;
    };
    // The DACL ends where the SACL (`S:`) starts.
    let dacl = dacl.split("S:").next().unwrap_or(dacl);
    if dacl.starts_with("NO_ACCESS_CONTROL") {
        return full * 0o111;
    }
    let (mut owner, mut others) = (false, false);
    for ace in dacl.split('(').skip(1) {
        let fields: Vec<&str> = ace.trim_end_matches(')').split(';').collect();
        let (Some(kind), Some(trustee)) = (fields.first(), fields.get(5)) else {
            continue;
        };
        if *kind != "A" || *trustee == "SY" {
            continue;
        }
        // `OW` (owner rights) is the file's owner: the user for files they create.
        if trustee.eq_ignore_ascii_case(sid) || *trustee == "OW" {
            owner = true;
        } else {
            others = true;
        }
    }
    let mut bits = 0;
    if owner {
        bits |= full << 6;
    }
    if others {
        bits |= (full << 3) | full;
    }
    bits
}

/// Win32 errors that creating the first instance of a pipe answers when someone already has
/// it: `ERROR_ACCESS_DENIED` (5, `FILE_FLAG_FIRST_PIPE_INSTANCE` refused) and
/// `ERROR_PIPE_BUSY` (231).
pub(crate) fn pipe_taken(os_error: Option<i32>) -> bool {
    matches!(os_error, Some(5) | Some(231))
}

/// The DPI at 100 % scaling, where a small icon (`SM_CXSMICON`) is 16 px.
const BASE_DPI: u32 = 96;

/// The notification area's icon size in pixels at `dpi`, as Windows scales `SM_CXSMICON`
/// (`MulDiv(16, dpi, 96)`, rounding half up): 16 at 100 %, 20 at 125 %, 24 at 150 %, 32 at
/// 200 %. Used where `GetSystemMetricsForDpi` has no answer; a DPI of 0 (no answer either)
/// counts as 100 %.
#[cfg_attr(not(feature = "tray"), allow(dead_code))]
pub(crate) fn small_icon_px(dpi: u32) -> u32 {
    let dpi = if dpi == 0 { BASE_DPI } else { dpi };
    (16 * dpi + BASE_DPI / 2) / BASE_DPI
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed assertion
    use super::*;

    const SID: &str = "S-1-5-21-3623811015-3361044348-30300820-1013";

    #[test]
    fn each_user_has_a_pipe_of_their_own_and_an_override_maps_onto_one() {
        assert_eq!(
            pipe_name(SID),
            Path::new(r"\\.\pipe\dialtone-S-1-5-21-3623811015-3361044348-30300820-1013")
        );
        assert_ne!(pipe_name(SID), pipe_name("S-1-5-21-1-2-3-1001"));
        // A pipe path is kept, whatever its case.
        let pipe = Path::new(r"\\.\PIPE\mine");
        assert_eq!(pipe_path(pipe, SID), pipe);
        // A file path (a test's DIALTONE_SOCKET) becomes a pipe of this user without backslashes.
        let mapped = pipe_path(Path::new(r"C:\Temp\a\agent.sock"), SID);
        let text = mapped.to_string_lossy().into_owned();
        assert!(text.starts_with(r"\\.\pipe\dialtone-S-1-5-21-"), "{text}");
        assert!(!text[PIPE_PREFIX.len()..].contains('\\'), "{text}");
        assert_ne!(mapped, pipe_path(Path::new(r"C:\Temp\b\agent.sock"), SID));
    }

    #[test]
    fn what_belongs_with_a_pipe_lives_in_local_app_data() {
        let local = Path::new(r"C:\Users\jane\AppData\Local");
        let pipe = pipe_name(SID);
        let dir = companion_dir(&pipe, Some(local)).unwrap();
        assert!(
            dir.starts_with(local.join("dialtone").join("run")),
            "{}",
            dir.display()
        );
        assert!(
            dir.ends_with(format!("dialtone-{SID}")),
            "{}",
            dir.display()
        );
        // No local app data: nowhere, rather than somewhere shared.
        assert_eq!(companion_dir(&pipe, None), None);
        // A file path keeps its own directory.
        let file = Path::new("/tmp/t/agent.sock");
        assert_eq!(
            companion_dir(file, Some(local)),
            Some(PathBuf::from("/tmp/t"))
        );
    }

    #[test]
    fn one_agent_per_pipe_is_a_mutex_named_after_it() {
        let pipe = pipe_name(SID);
        assert_eq!(
            agent_mutex_name(&pipe),
            format!(r"Local\dialtone-agent-dialtone-{SID}")
        );
        let odd = Path::new(r"\\.\pipe\a\b");
        assert_eq!(agent_mutex_name(odd), r"Local\dialtone-agent-a/b");
        assert_ne!(agent_mutex_name(&pipe), agent_mutex_name(odd));
    }

    #[test]
    fn only_sid_strings_are_sids() {
        assert!(is_sid(SID));
        assert!(is_sid("S-1-5-18"));
        for bad in [
            "",
            "S-1",
            "S-1-5",
            "S-1-5-x",
            r"S-1-5-21\..\x",
            "X-1-5-18",
            "S-1-5--18",
        ] {
            assert!(!is_sid(bad), "{bad}");
        }
    }

    #[test]
    fn the_descriptors_grant_the_user_alone() {
        assert_eq!(pipe_sddl(SID), format!("D:P(A;;GA;;;{SID})"));
        assert_eq!(private_dir_sddl(SID), format!("D:P(A;OICI;FA;;;{SID})"));
        assert_eq!(private_file_sddl(SID), format!("D:P(A;;FA;;;{SID})"));
        // What we set reads back as owner-only.
        assert_eq!(
            access_bits_from_sddl(&private_file_sddl(SID), SID, false),
            0o600
        );
        assert_eq!(
            access_bits_from_sddl(&private_dir_sddl(SID), SID, true),
            0o700
        );
    }

    #[test]
    fn access_read_back_from_a_descriptor_shows_other_trustees() {
        // A profile directory's usual inherited entries: the user, SYSTEM and Administrators.
        let profile = format!("O:{SID}G:{SID}D:AI(A;ID;FA;;;{SID})(A;ID;FA;;;SY)(A;ID;FA;;;BA)");
        assert_eq!(access_bits_from_sddl(&profile, SID, false), 0o666);
        assert_eq!(access_bits_from_sddl(&profile, SID, true), 0o777);
        // LocalSystem besides the user (what wine reports for a 0600 file) is still private.
        let with_system = format!("D:(A;;FA;;;SY)(A;;FA;;;{SID})");
        assert_eq!(access_bits_from_sddl(&with_system, SID, false), 0o600);
        // A deny entry for everyone takes nothing from the owner and grants nobody.
        let denied = format!("D:P(D;;FA;;;WD)(A;;FA;;;{SID})");
        assert_eq!(access_bits_from_sddl(&denied, SID, false), 0o600);
        // Owner rights count as the owner; no DACL at all, or a null one, is everyone.
        assert_eq!(access_bits_from_sddl("D:P(A;;FA;;;OW)", SID, false), 0o600);
        assert_eq!(
            access_bits_from_sddl(&format!("O:{SID}"), SID, false),
            0o666
        );
        assert_eq!(
            access_bits_from_sddl("D:NO_ACCESS_CONTROL", SID, true),
            0o777
        );
        // A SACL after the DACL is not read as access.
        let with_sacl = format!("D:P(A;;FA;;;{SID})S:(AU;FA;FA;;;WD)");
        assert_eq!(access_bits_from_sddl(&with_sacl, SID, false), 0o600);
        // Nobody at all.
        assert_eq!(access_bits_from_sddl("D:P", SID, false), 0);
    }

    #[test]
    fn a_refused_first_instance_means_another_agent() {
        assert!(pipe_taken(Some(5)));
        assert!(pipe_taken(Some(231)));
        assert!(!pipe_taken(Some(2)));
        assert!(!pipe_taken(None));
    }

    #[test]
    fn the_small_icon_follows_the_scaling() {
        // 100, 125, 150, 175, 200 and 250 %.
        let sizes: Vec<u32> = [96, 120, 144, 168, 192, 240]
            .into_iter()
            .map(small_icon_px)
            .collect();
        assert_eq!(sizes, [16, 20, 24, 28, 32, 40]);
        assert_eq!(small_icon_px(0), 16, "no answer counts as 100 %");
    }
}
