//! Debian's miniupnpd as a real UPnP Internet Gateway Device inside the lab's router namespace.
//!
//! miniupnpd serves its description at `http://LISTEN:PORT/rootDesc.xml` (not the FRITZ!Box's
//! `/igddesc.xml`), so dialtone's `auto` mode finds it the way it finds most non-AVM routers:
//! the gateway's `:49000/igddesc.xml` answers 404 and the SSDP M-SEARCH (multicast inside the
//! lab's client namespace only) brings the LOCATION. It reports the WAN state from its external
//! interface: `GetStatusInfo` says `Connected` while that interface is up and has an address,
//! `Disconnected` once it is down (it asks the kernel with `SIOCGIFFLAGS` on each request), and
//! `GetCommonLinkProperties` says `Up`/`Down` the same way. `-o ADDR` fixes the address it
//! reports (it refuses private and documentation ranges there, so the lab uses a public-looking
//! one that no packet is ever sent to).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The address miniupnpd reports as the router's external IPv4 (never contacted).
pub const EXTERNAL_IP: &str = "85.16.0.7";
/// The port it serves HTTP on (the FRITZ!Box's).
pub const PORT: u16 = 49000;

/// A running miniupnpd; killed on drop.
pub struct MiniUpnpd {
    child: Child,
}

/// Whether miniupnpd is installed (scripts/lib/setup.sh installs `miniupnpd-nftables`), by
/// [`crate::require`]: a test without it is skipped on a developer's machine and fails in CI.
pub fn require() -> bool {
    crate::require(
        Path::new("/usr/sbin/miniupnpd").exists(),
        "miniupnpd (apt install miniupnpd-nftables; scripts/lib/setup.sh does)",
    )
}

impl MiniUpnpd {
    /// Starts miniupnpd in namespace `ns`, listening on `lan_if` (whose address is `lan_ip`),
    /// with `wan_if` as its external interface; waits until it serves its description.
    pub fn start(ns: &str, lan_if: &str, lan_ip: &str, wan_if: &str, dir: &Path) -> MiniUpnpd {
        let conf = dir.join("miniupnpd.conf");
        std::fs::write(
            &conf,
            format!(
                "ext_ifname={wan_if}\nlistening_ip={lan_if}\nhttp_port={PORT}\n\
                 enable_natpmp=no\nenable_upnp=yes\nsecure_mode=yes\nsystem_uptime=no\n\
                 friendly_name=Lab router\n\
                 uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\n\
                 allow 1024-65535 10.77.1.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n"
            ),
        )
        .expect("write miniupnpd.conf");
        let log = std::fs::File::create(dir.join("miniupnpd.log")).expect("miniupnpd log");
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "/usr/sbin/miniupnpd", "-d", "-f"])
            .arg(&conf)
            .args(["-o", EXTERNAL_IP, "-P"])
            .arg(dir.join("miniupnpd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn miniupnpd");
        let mut igd = MiniUpnpd { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = format!("http://{lan_ip}:{PORT}/rootDesc.xml");
        loop {
            let ok = crate::netns::command_in(Some(ns), "curl")
                .args(["-sf", "-m", "1", "-o", "/dev/null", &url])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return igd;
            }
            if let Ok(Some(status)) = igd.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("miniupnpd.log")).unwrap_or_default();
                panic!("miniupnpd exited ({status}): {log}");
            }
            assert!(
                Instant::now() < deadline,
                "miniupnpd did not serve {url} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MiniUpnpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
