//! UPnP Internet Gateway Device, no login: find the router's description (the gateway's
//! `http://GW:49000/igddesc.xml` first, as a FRITZ!Box serves it; SSDP M-SEARCH with a bounded
//! wait as the fallback, since a FRITZ!Box sends no NOTIFY), then ask
//! `WANCommonInterfaceConfig:GetCommonLinkProperties`, `WANIPConnection:GetStatusInfo` and
//! `GetExternalIPAddress` (three requests a round once the description is known). Works with
//! any IGD; the tests use Debian's miniupnpd.

use super::soap::{arg, OutArgs, RequestError, RouterHttp};
use super::xml::{device_and_services, Element};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use url::Url;

/// The port a FRITZ!Box serves its descriptions on.
pub const DESCRIPTION_PORT: u16 = 49000;
/// The SSDP multicast group and port.
const SSDP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)), 1900);
/// Largest SSDP datagram read.
const MAX_SSDP: usize = 2048;

/// A located IGD: its description URL, model and the control URLs of the two services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Igd {
    /// Where the description was read.
    pub description: Url,
    /// `modelName` (or `friendlyName`) of the root device.
    pub model: Option<String>,
    /// `WANIPConnection` (or `WANPPPConnection`): service type and control URL.
    pub connection: Option<(String, Url)>,
    /// `WANCommonInterfaceConfig`: service type and control URL.
    pub common: Option<(String, Url)>,
}

/// Reads an IGD out of a parsed description; `Err` with what is missing.
pub fn read_description(description: &Url, doc: &Element) -> Result<Igd, String> {
    if doc.name != "root" {
        return Err(format!(
            "not a UPnP device description (root <{}>)",
            doc.name
        ));
    }
    let base = doc
        .child_text("URLBase")
        .and_then(|b| Url::parse(b).ok())
        .unwrap_or_else(|| description.clone());
    let (model, services) = device_and_services(doc, "a UPnP description without a <device>")?;
    let find = |prefixes: &[&str]| -> Option<(String, Url)> {
        prefixes.iter().find_map(|prefix| {
            services.iter().find_map(|s| {
                let st = s.child_text("serviceType")?;
                if !st.starts_with(prefix) {
                    return None;
                }
                let control = base.join(s.child_text("controlURL")?).ok()?;
                // The control URL must stay on the router that served the description: a
                // description cannot send dialtone's requests elsewhere.
                (control.host_str() == description.host_str()
                    && matches!(control.scheme(), "http" | "https"))
                .then(|| (st.to_string(), control))
            })
        })
    };
    let connection = find(&[
        "urn:schemas-upnp-org:service:WANIPConnection:",
        "urn:schemas-upnp-org:service:WANPPPConnection:",
    ]);
    let common = find(&["urn:schemas-upnp-org:service:WANCommonInterfaceConfig:"]);
    if connection.is_none() && common.is_none() {
        return Err("the description lists no WAN connection service".into());
    }
    Ok(Igd {
        description: description.clone(),
        model,
        connection,
        common,
    })
}

/// Fetches and reads the description at `url`.
pub async fn describe(http: &RouterHttp, url: &Url) -> Result<Igd, RequestError> {
    let doc = http.description(url).await?;
    read_description(url, &doc).map_err(|detail| RequestError::Malformed {
        op: "GET".into(),
        url: url.to_string(),
        detail,
    })
}

/// The FRITZ!Box-style description URL on the gateway.
pub fn gateway_url(gateway: IpAddr) -> Option<Url> {
    let host = match gateway {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    Url::parse(&format!("http://{host}:{DESCRIPTION_PORT}/igddesc.xml")).ok()
}

/// Sends one SSDP M-SEARCH for an IGD and waits at most `wait` for the gateway's answer.
/// Answers from other hosts are ignored (another device on the LAN is not the router).
pub async fn search(gateway: IpAddr, wait: Duration) -> Result<Url, String> {
    let IpAddr::V4(_) = gateway else {
        return Err("SSDP search only over IPv4".into());
    };
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .await
        .map_err(|e| format!("SSDP: binding a UDP socket: {e}"))?;
    // UDA's default TTL for SSDP: the home network, never beyond.
    let _ = socket.set_multicast_ttl_v4(2);
    let mx = wait.as_secs().clamp(1, 5);
    let request = format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
         MX: {mx}\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
    );
    socket
        .send_to(request.as_bytes(), SSDP)
        .await
        .map_err(|e| format!("SSDP: sending M-SEARCH: {e}"))?;
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; MAX_SSDP];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no SSDP answer from {gateway} within {:.1} s",
                wait.as_secs_f64()
            ));
        }
        match tokio::time::timeout(left, socket.recv_from(&mut buf)).await {
            Err(_) => continue,
            Ok(Err(e)) => return Err(format!("SSDP: receiving: {e}")),
            Ok(Ok((len, from))) => {
                if from.ip() != gateway {
                    tracing::debug!("SSDP answer from {from} ignored: not the gateway");
                    continue;
                }
                let text = String::from_utf8_lossy(&buf[..len]);
                if let Some(location) = location(&text) {
                    match Url::parse(location) {
                        Ok(url)
                            if url.scheme() == "http"
                                && url.host_str() == Some(gateway.to_string().as_str()) =>
                        {
                            return Ok(url)
                        }
                        _ => tracing::debug!("SSDP LOCATION {location:?} ignored"),
                    }
                }
            }
        }
    }
}

/// The `LOCATION` header of an SSDP answer.
fn location(answer: &str) -> Option<&str> {
    if !answer.starts_with("HTTP/1.1 200") {
        return None;
    }
    answer.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("location")
            .then(|| value.trim())
    })
}

/// `GetStatusInfo`'s `NewConnectionStatus`, `NewLastConnectionError` (none for `ERROR_NONE`)
/// and `NewUptime`.
pub type ConnectionInfo = (String, Option<String>, Option<u64>);

/// What the three status actions said; each `Err` is kept for the finding.
#[derive(Debug, Default)]
pub struct Status {
    /// `NewPhysicalLinkStatus`.
    pub link: Option<Result<String, RequestError>>,
    /// `NewConnectionStatus`, `NewLastConnectionError`, `NewUptime`.
    pub connection: Option<Result<ConnectionInfo, RequestError>>,
    /// `NewExternalIPAddress`.
    pub external_ipv4: Option<Result<String, RequestError>>,
}

/// Asks the three status actions (concurrently: the round waits for one timeout at most).
pub async fn status(http: &RouterHttp, igd: &Igd) -> Status {
    let link = ask(http, &igd.common, "GetCommonLinkProperties", |args| {
        capped(args, "NewPhysicalLinkStatus", 40)
    });
    let connection = ask(http, &igd.connection, "GetStatusInfo", |args| {
        let status = capped(args, "NewConnectionStatus", 40);
        let error = arg(args, "NewLastConnectionError")
            .filter(|e| !e.is_empty() && *e != "ERROR_NONE")
            .map(|e| e.chars().take(60).collect());
        let uptime = arg(args, "NewUptime").and_then(|u| u.parse().ok());
        (status, error, uptime)
    });
    let external = ask(http, &igd.connection, "GetExternalIPAddress", |args| {
        capped(args, "NewExternalIPAddress", 45)
    });
    let (link, connection, external_ipv4) = tokio::join!(link, connection, external);
    Status {
        link,
        connection,
        external_ipv4,
    }
}

/// Calls `action` (without arguments) on `service` and reads its answer; `None` when the
/// router does not offer the service.
async fn ask<T>(
    http: &RouterHttp,
    service: &Option<(String, Url)>,
    action: &str,
    read: impl FnOnce(&OutArgs) -> T,
) -> Option<Result<T, RequestError>> {
    let (service_type, url) = service.as_ref()?;
    Some(
        http.action(url, service_type, action, &[], None)
            .await
            .map(|args| read(&args)),
    )
}

/// Out-argument `name` as sent, at most `max` characters (a router's strings are shown, not
/// trusted); empty when absent.
fn capped(args: &OutArgs, name: &str, max: usize) -> String {
    arg(args, name)
        .unwrap_or_default()
        .chars()
        .take(max)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::probe::router::xml;

    #[test]
    fn a_fritzbox_style_description_gives_both_services() {
        let url = Url::parse("http://192.168.178.1:49000/igddesc.xml").unwrap();
        let doc = xml::parse(
            "<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>\
             <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>\
             <friendlyName>FRITZ!Box 7590</friendlyName><modelName>FRITZ!Box 7590</modelName>\
             <deviceList><device><deviceList><device><serviceList>\
             <service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>\
             <controlURL>/igdupnp/control/WANCommonIFC1</controlURL></service>\
             <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\
             <controlURL>/igdupnp/control/WANIPConn1</controlURL></service>\
             </serviceList></device></deviceList></device></deviceList></device></root>",
        )
        .unwrap();
        let igd = read_description(&url, &doc).unwrap();
        assert_eq!(igd.model.as_deref(), Some("FRITZ!Box 7590"));
        let (st, control) = igd.connection.unwrap();
        assert_eq!(st, "urn:schemas-upnp-org:service:WANIPConnection:1");
        assert_eq!(
            control.as_str(),
            "http://192.168.178.1:49000/igdupnp/control/WANIPConn1"
        );
    }

    #[test]
    fn control_urls_elsewhere_are_refused() {
        let url = Url::parse("http://192.168.178.1:49000/igddesc.xml").unwrap();
        let doc = xml::parse(
            "<root><device><serviceList><service>\
             <serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>\
             <controlURL>http://203.0.113.9/steal</controlURL></service></serviceList></device></root>",
        )
        .unwrap();
        assert!(read_description(&url, &doc).is_err());
    }

    #[test]
    fn ssdp_location_is_read() {
        let answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nLocation: http://10.77.1.1:49000/rootDesc.xml\r\n\r\n";
        assert_eq!(
            location(answer),
            Some("http://10.77.1.1:49000/rootDesc.xml")
        );
        assert_eq!(location("NOTIFY * HTTP/1.1\r\nLOCATION: x\r\n"), None);
    }
}
