//! The router layer against a real UPnP IGD: Debian's miniupnpd in the lab's router namespace
//! (client ─ router ─ internet ─ provider, see `dialtone_testkit::lab`), found by dialtone's
//! `--router auto` (the gateway's `:49000/igddesc.xml` is a 404 on miniupnpd, so the SSDP
//! M-SEARCH inside the client namespace finds `rootDesc.xml`).
//!
//! Needs root (namespaces) and miniupnpd (`scripts/lib/setup.sh` installs it); skipped with a
//! message otherwise, failed when `CI` is set (`support::require`).
#![allow(clippy::unwrap_used)]

use dialtone_testkit as support;
use dialtone_testkit::layer;

use serde_json::Value;
use std::time::Duration;
use support::igd::{self, MiniUpnpd};
use support::lab::{Lab, LabOptions, ROUTER_IP};

const FAST: [&str; 7] = [
    "--interval",
    "2",
    "--recheck",
    "1",
    "--timeout",
    "1",
    "--no-history",
];

fn lab_with_igd() -> Option<(Lab, MiniUpnpd)> {
    if !support::require_root("build the router lab (network namespaces)") || !igd::require() {
        return None;
    }
    let lab = Lab::start(LabOptions::default());
    let upnp = MiniUpnpd::start(lab.router(), "r0", &ROUTER_IP.to_string(), "r1", lab.dir());
    Some((lab, upnp))
}

#[test]
fn a_connected_igd_makes_the_router_layer_ok() {
    let Some((lab, _upnp)) = lab_with_igd() else {
        return;
    };
    let (json, code) = lab.check(&["--timeout", "1", "--router", "auto"]);
    assert_eq!(json["verdict"], "healthy", "{json:#}");
    assert_eq!(code, Some(0));
    let router = layer(&json, "router");
    assert_eq!(router["status"], "ok", "{json:#}");
    let evidence = router["evidence"].to_string();
    assert!(evidence.contains("\\\"Connected\\\""), "{evidence}");
    assert!(evidence.contains("/rootDesc.xml"), "{evidence}");
    let view = &json["router"];
    assert_eq!(view["reachable"], true, "{view:#}");
    assert_eq!(view["link"], "up", "{view:#}");
    assert_eq!(view["connection"], "connected", "{view:#}");
    assert_eq!(view["external_ipv4"], igd::EXTERNAL_IP, "{view:#}");
    assert_eq!(view["nat"], "public", "{view:#}");
    assert!(view["uptime_s"].as_u64().is_some(), "{view:#}");
    assert_eq!(view["voip"], serde_json::json!([]), "{view:#}");
    assert_eq!(view["error"], Value::Null, "{view:#}");
    // The layers are in the chain's order: the router between home network and internet.
    assert_eq!(support::layer_names(&json), support::LAYER_ORDER);

    // Switched off: no router object, the layer not checked.
    let (off, _) = lab.check(&["--timeout", "1", "--router", "off"]);
    assert_eq!(off["router"], Value::Null, "{off:#}");
    assert_eq!(layer(&off, "router")["status"], "skipped", "{off:#}");
    assert_eq!(off["verdict"], "healthy", "{off:#}");
}

#[test]
fn the_routers_uplink_cut_is_internet_down_in_the_igds_words() {
    let Some((lab, _upnp)) = lab_with_igd() else {
        return;
    };
    let mut w = lab.watch(&FAST);
    let (_, first) = w.wait_for("healthy", Duration::from_secs(20));
    assert_eq!(layer(&first, "router")["status"], "ok", "{first:#}");

    lab.set_link(lab.router(), "r1", false);
    let (_, change) = w.wait_for("internet_down", Duration::from_secs(20));
    println!("watch: {} — {}", change["summary"], change["reason"]);
    assert_eq!(change["failing_layer"], "router", "{change:#}");
    // The router still answers pings: the home network is fine, the router's own words blame
    // its uplink.
    assert_eq!(layer(&change, "home_network")["status"], "ok", "{change:#}");
    let router = layer(&change, "router");
    assert_eq!(router["status"], "failed", "{change:#}");
    assert!(
        router["evidence"]
            .to_string()
            .contains("the router reports its internet connection as \\\"Disconnected\\\""),
        "{change:#}"
    );
    assert!(
        change["summary"].as_str().unwrap().contains(
            "Your router reports that its internet connection is down (\"Disconnected\")"
        ),
        "{change:#}"
    );
    assert_eq!(change["router"]["connection"], "disconnected", "{change:#}");

    lab.set_link(lab.router(), "r1", true);
    let (_, back) = w.wait_for("healthy", Duration::from_secs(20));
    assert_eq!(back["from"], "internet_down", "{back:#}");
    w.stop();

    // The same cut seen by `check`, in German, on the text face.
    lab.set_link(lab.router(), "r1", false);
    let out = lab
        .dialtone("check")
        .args(["--timeout", "1", "--lang", "de", "--verbose"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert_eq!(out.status.code(), Some(13), "{text}");
    // The plain headline leads; --verbose lists the router's own words per layer.
    assert!(
        text.starts_with("✘ Ihr Router ist nicht mit dem Internet verbunden\n"),
        "{text}"
    );
    assert!(
        text.contains("der Router meldet seine Internetverbindung als „Disconnected“"),
        "{text}"
    );
    lab.set_link(lab.router(), "r1", true);
}
