//! A scripted FRITZ!Box on loopback: no FRITZ!Box exists here, so a small HTTP server answers
//! with documents and SOAP shaped as AVM's published TR-064 documents describe them ("TR-064 –
//! First Steps" and the X_VoIP service description): `tr64desc.xml` with the services nested in
//! the device list and the box's `UDN` and serial number, `igddesc.xml` for the IGD part, HTTP
//! digest (MD5, qop=auth, realm "F!Box SOAP-Auth"), `GetMaxVoIPNumbers`,
//! `X_AVM-DE_GetVoIPStatus` per account with SOAP fault 713 past the last one,
//! `X_AVM-DE_GetVoIPAccount` (which carries the box's SIP password in `NewVoIPPassword`),
//! HTTP 503 bursts and an oversized description.
//!
//! The same server plays a *stranger*: another network's gateway with its own identity, which
//! offers MD5 digest without `qop` and its own nonce (what an offline cracker would ask for).
//! Every request that carried an `Authorization` header is counted, on any path, so a test can
//! show that none reached it.
//!
//! [`FritzBox::with_tls`] adds the box's TLS port (a self-signed certificate for `fritz.box`,
//! as a FRITZ!Box has), named by `DeviceInfo:GetSecurityPort`; without it that action is
//! unknown here (404), as on a box without https. No traffic leaves loopback.

use md5::{Digest, Md5};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The box user dialtone logs in with.
pub const ROUTER_USER: &str = "dialtone";
/// That user's password.
pub const ROUTER_PASSWORD: &str = "box-Pa55word-7q";
/// What the box's `X_AVM-DE_GetVoIPAccount` returns as the SIP password.
pub const BOX_SIP_PASSWORD: &str = "SIP-from-the-box-x9Z";
/// The digest realm of TR-064.
pub const REALM: &str = "F!Box SOAP-Auth";
/// The home box's nonce.
pub const NONCE: &str = "4F1A6C0B2D9E8877";
/// The home box's UDN (its identity in `tr64desc.xml`).
pub const HOME_UDN: &str = "uuid:739f2409-bccb-40e7-8e6c-3431c4a7d0e1";
/// A stranger's UDN.
pub const STRANGER_UDN: &str = "uuid:00000000-dead-beef-0000-5742a11c0de5";

/// What the scripted box does, and what it saw.
#[derive(Default)]
pub struct Script {
    /// (number, AVM status word) per account index.
    pub accounts: Vec<(String, String)>,
    /// Answer this many control requests with 503 first.
    pub busy: u32,
    /// Serve a tr64desc.xml of this many bytes instead of the real one.
    pub huge_description: Option<usize>,
    /// "Statusinformationen über UPnP übertragen" off: the IGD actions answer UPnP error 606.
    pub igd_hidden: bool,
    /// The `UDN` in `tr64desc.xml` (empty: [`HOME_UDN`]).
    pub udn: String,
    /// Play another network's gateway: MD5 digest without `qop`, its own nonce.
    pub stranger: bool,
    /// How long each X_VoIP request is held before it is answered (to see overlaps).
    pub delay: Duration,
    /// Requests (any path) that carried an Authorization header.
    pub authorized: u32,
    /// Of those, the ones that came over plain http.
    pub authorized_plain: u32,
    /// The TLS port `GetSecurityPort` names ([`FritzBox::with_tls`]).
    pub security_port: Option<u16>,
    /// Control requests rejected for a wrong password.
    pub rejected: u32,
    /// Control requests answered 503.
    pub answered_busy: u32,
    /// X_VoIP requests with an Authorization header being answered right now, and the most
    /// there ever were at once.
    pub in_flight: u32,
    /// See `in_flight`.
    pub max_in_flight: u32,
    /// Every request line.
    pub requests: Vec<String>,
}

/// A running scripted box (its threads live as long as the test process).
pub struct FritzBox {
    /// Its address.
    pub addr: std::net::SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FritzBox {
    /// A box on a free loopback port with these accounts ((number, AVM status word)).
    pub fn start(accounts: &[(&str, &str)]) -> FritzBox {
        FritzBox::start_at("127.0.0.1:0", accounts)
    }

    /// A box listening on `addr` (e.g. `127.0.0.2:49000`, where `router.url = "auto"` looks
    /// for a gateway's description).
    pub fn start_at(addr: &str, accounts: &[(&str, &str)]) -> FritzBox {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local address: {e}"));
        let script = Arc::new(Mutex::new(Script {
            accounts: accounts
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
            ..Script::default()
        }));
        let shared = script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let script = shared.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    serve(stream, false, &script);
                });
            }
        });
        FritzBox { addr, script }
    }

    /// Opens the box's TLS port (on the same address, a free port) and names it in
    /// `GetSecurityPort`.
    pub fn with_tls(self) -> FritzBox {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert = CertificateDer::from_pem_slice(include_bytes!("fritzbox/box-cert.pem"))
            .unwrap_or_else(|e| panic!("the stand-in's certificate: {e}"));
        let key = PrivateKeyDer::from_pem_slice(include_bytes!("fritzbox/box-key.pem"))
            .unwrap_or_else(|e| panic!("the stand-in's key: {e}"));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .unwrap_or_else(|e| panic!("the stand-in's TLS set-up: {e}"));
        let config = Arc::new(config);
        let listener = TcpListener::bind((self.addr.ip(), 0))
            .unwrap_or_else(|e| panic!("bind the TLS port: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local address: {e}"))
            .port();
        self.script().security_port = Some(port);
        let shared = self.script.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (script, config) = (shared.clone(), config.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let Ok(session) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    serve(rustls::StreamOwned::new(session, stream), true, &script);
                });
            }
        });
        self
    }

    /// Another network's gateway at `addr`: a box of another identity that asks for MD5
    /// digest without `qop`.
    pub fn stranger_at(addr: &str) -> FritzBox {
        let fritz = FritzBox::start_at(addr, &[("4989000000", "registered")]);
        {
            let mut s = fritz.script();
            s.udn = STRANGER_UDN.into();
            s.stranger = true;
        }
        fritz
    }

    /// Its base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The script, to change or read.
    pub fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The digest parameters of an `Authorization: Digest …` header.
fn digest_params(value: &str) -> Vec<(String, String)> {
    let rest = value.trim().strip_prefix("Digest").unwrap_or("");
    let mut out = Vec::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.split_once('=') {
            out.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
        }
    }
    out
}

fn authorized(header: &str) -> bool {
    let p = digest_params(header);
    let get = |k: &str| {
        p.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ha1 = md5_hex(&format!("{}:{REALM}:{ROUTER_PASSWORD}", get("username")));
    let ha2 = md5_hex(&format!("POST:{}", get("uri")));
    let want = md5_hex(&format!(
        "{ha1}:{}:{}:{}:{}:{ha2}",
        get("nonce"),
        get("nc"),
        get("cnonce"),
        get("qop")
    ));
    get("username") == ROUTER_USER && get("nonce") == NONCE && get("response") == want
}

fn respond(stream: &mut impl Write, status: &str, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A SOAP answer of the X_VoIP service.
pub fn soap(action: &str, args: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>\
         <u:{action}Response xmlns:u=\"urn:dslforum-org:service:X_VoIP:1\">{args}</u:{action}Response>\
         </s:Body></s:Envelope>"
    )
}

/// A SOAP fault with a UPnP error.
pub fn fault(code: u32, description: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
         <s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>\
         <UPnPError xmlns=\"urn:dslforum-org:control-1-0\"><errorCode>{code}</errorCode>\
         <errorDescription>{description}</errorDescription></UPnPError></detail></s:Fault>\
         </s:Body></s:Envelope>"
    )
}

/// `tr64desc.xml` of a box with this UDN.
pub fn tr64desc(udn: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n<root xmlns=\"urn:dslforum-org:device-1-0\"><specVersion><major>1</major><minor>0</minor></specVersion>\
     <device><deviceType>urn:dslforum-org:device:InternetGatewayDevice:1</deviceType>\
     <friendlyName>FRITZ!Box 7590</friendlyName><manufacturer>AVM</manufacturer><modelName>FRITZ!Box 7590</modelName>\
     <UDN>{udn}</UDN>\
     <serviceList><service><serviceType>urn:dslforum-org:service:DeviceInfo:1</serviceType>\
     <serviceId>urn:DeviceInfo-com:serviceId:DeviceInfo1</serviceId><controlURL>/upnp/control/deviceinfo</controlURL>\
     <eventSubURL>/upnp/control/deviceinfo</eventSubURL><SCPDURL>/deviceinfoSCPD.xml</SCPDURL></service>\
     <service><serviceType>urn:dslforum-org:service:X_VoIP:1</serviceType><serviceId>urn:X_VoIP-com:serviceId:X_VoIP1</serviceId>\
     <controlURL>/upnp/control/x_voip</controlURL><eventSubURL>/upnp/control/x_voip</eventSubURL><SCPDURL>/x_voipSCPD.xml</SCPDURL></service>\
     </serviceList><deviceList><device><deviceType>urn:dslforum-org:device:LANDevice:1</deviceType></device>\
     <device><deviceType>urn:dslforum-org:device:WANDevice:1</deviceType></device></deviceList></device></root>")
}

/// `igddesc.xml` of the box.
pub fn igddesc() -> String {
    "<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>\
     <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><friendlyName>FRITZ!Box 7590</friendlyName>\
     <modelName>FRITZ!Box 7590</modelName><deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>\
     <serviceList><service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>\
     <controlURL>/igdupnp/control/WANCommonIFC1</controlURL></service></serviceList><deviceList><device>\
     <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType><serviceList><service>\
     <serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/igdupnp/control/WANIPConn1</controlURL>\
     </service></serviceList></device></deviceList></device></deviceList></device></root>"
        .to_string()
}

/// Leaves the in-flight count when the answer is written, however the handler returns.
struct InFlight<'a>(&'a Arc<Mutex<Script>>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

fn serve<S: Read + Write>(mut stream: S, tls: bool, script: &Arc<Mutex<Script>>) {
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let len: usize = header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len.min(1 << 20)];
    let _ = reader.read_exact(&mut body);
    drop(reader);
    let body = String::from_utf8_lossy(&body).to_string();
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut s = script
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    s.requests.push(line.trim().to_string());
    if header("authorization").is_some() {
        s.authorized += 1;
        if !tls {
            s.authorized_plain += 1;
        }
    }
    match (line.starts_with("GET"), path.as_str()) {
        (true, "/tr64desc.xml") => {
            let doc = match s.huge_description {
                Some(size) => {
                    let filler = "<service><serviceType>x</serviceType></service>";
                    format!(
                        "<root><device>{}</device></root>",
                        filler.repeat(size / filler.len())
                    )
                }
                None if s.udn.is_empty() => tr64desc(HOME_UDN),
                None => tr64desc(&s.udn),
            };
            drop(s);
            respond(&mut stream, "200 OK", "", &doc);
        }
        (true, "/igddesc.xml") => {
            drop(s);
            respond(&mut stream, "200 OK", "", &igddesc());
        }
        (false, "/upnp/control/deviceinfo") if s.security_port.is_some() => {
            let port = s.security_port.unwrap_or_default();
            drop(s);
            let reply = soap(
                "GetSecurityPort",
                &format!("<NewSecurityPort>{port}</NewSecurityPort>"),
            )
            .replace("service:X_VoIP:1", "service:DeviceInfo:1");
            respond(&mut stream, "200 OK", "", &reply);
        }
        (false, "/igdupnp/control/WANCommonIFC1" | "/igdupnp/control/WANIPConn1")
            if s.igd_hidden =>
        {
            drop(s);
            respond(
                &mut stream,
                "500 Internal Server Error",
                "",
                &fault(606, "Action Not Authorized"),
            );
        }
        (false, "/igdupnp/control/WANCommonIFC1") => {
            drop(s);
            respond(&mut stream, "200 OK", "", &soap("GetCommonLinkProperties", "<NewWANAccessType>DSL</NewWANAccessType><NewLayer1UpstreamMaxBitRate>40000000</NewLayer1UpstreamMaxBitRate><NewLayer1DownstreamMaxBitRate>100000000</NewLayer1DownstreamMaxBitRate><NewPhysicalLinkStatus>Up</NewPhysicalLinkStatus>"));
        }
        (false, "/igdupnp/control/WANIPConn1") => {
            let action = header("soapaction").unwrap_or_default();
            drop(s);
            if action.contains("GetStatusInfo") {
                respond(&mut stream, "200 OK", "", &soap("GetStatusInfo", "<NewConnectionStatus>Connected</NewConnectionStatus><NewLastConnectionError>ERROR_NONE</NewLastConnectionError><NewUptime>86400</NewUptime>"));
            } else {
                respond(
                    &mut stream,
                    "200 OK",
                    "",
                    &soap(
                        "GetExternalIPAddress",
                        "<NewExternalIPAddress>100.72.14.3</NewExternalIPAddress>",
                    ),
                );
            }
        }
        (false, "/upnp/control/x_voip") => {
            if s.busy > 0 {
                s.busy -= 1;
                s.answered_busy += 1;
                drop(s);
                respond(&mut stream, "503 Service Unavailable", "", "");
                return;
            }
            let challenge = if s.stranger {
                "WWW-Authenticate: Digest realm=\"stranger\", nonce=\"0ff11ne\", algorithm=MD5\r\n"
                    .to_string()
            } else {
                format!(
                    "WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"{NONCE}\", algorithm=MD5, qop=\"auth\"\r\n"
                )
            };
            let Some(auth) = header("authorization") else {
                drop(s);
                respond(&mut stream, "401 Unauthorized", &challenge, "");
                return;
            };
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            let delay = s.delay;
            let _leaves = InFlight(script);
            if s.stranger || !authorized(&auth) {
                s.rejected += 1;
                drop(s);
                std::thread::sleep(delay);
                respond(&mut stream, "401 Unauthorized", &challenge, "");
                return;
            }
            let action = header("soapaction").unwrap_or_default();
            let index: usize = body
                .split("<NewVoIPAccountIndex>")
                .nth(1)
                .and_then(|r| r.split('<').next())
                .and_then(|i| i.trim().parse().ok())
                .unwrap_or(0);
            let account = s.accounts.get(index).cloned();
            drop(s);
            std::thread::sleep(delay);
            let reply = if action.contains("GetMaxVoIPNumbers") {
                soap(
                    "GetMaxVoIPNumbers",
                    "<NewMaxVoIPNumbers>20</NewMaxVoIPNumbers>",
                )
            } else if action.contains("X_AVM-DE_GetVoIPStatus") {
                match account {
                    Some((_, status)) => soap(
                        "X_AVM-DE_GetVoIPStatus",
                        &format!("<NewX_AVM-DE_VoIPStatus>{status}</NewX_AVM-DE_VoIPStatus>"),
                    ),
                    None => {
                        respond(
                            &mut stream,
                            "500 Internal Server Error",
                            "",
                            &fault(713, "SpecifiedArrayIndexInvalid"),
                        );
                        return;
                    }
                }
            } else if action.contains("X_AVM-DE_GetVoIPAccount") {
                match account {
                    Some((number, _)) => soap(
                        "X_AVM-DE_GetVoIPAccount",
                        &format!(
                            "<NewVoIPRegistrar>sip.1und1.de</NewVoIPRegistrar><NewVoIPNumber>{number}</NewVoIPNumber>\
                             <NewVoIPUsername>{number}</NewVoIPUsername><NewVoIPPassword>{BOX_SIP_PASSWORD}</NewVoIPPassword>\
                             <NewVoIPOutboundProxy></NewVoIPOutboundProxy><NewVoIPSTUNServer>stun.example.net</NewVoIPSTUNServer>"
                        ),
                    ),
                    None => {
                        respond(&mut stream, "500 Internal Server Error", "", &fault(713, "SpecifiedArrayIndexInvalid"));
                        return;
                    }
                }
            } else {
                respond(
                    &mut stream,
                    "500 Internal Server Error",
                    "",
                    &fault(401, "Invalid Action"),
                );
                return;
            };
            respond(&mut stream, "200 OK", "", &reply);
        }
        _ => {
            drop(s);
            respond(&mut stream, "404 Not Found", "", "");
        }
    }
}
