//! The router's own view of the line: what a UPnP IGD (any router, no login) and a FRITZ!Box's
//! TR-064 interface (optional login) said in one round, as plain data, plus the small pure rules
//! that read it (is the link up, which NAT is this, is a number registered).
//!
//! The probe keeps the router's own words (`"Up"`, `"Disconnected"`, `"ERROR_NO_CARRIER"`) so the
//! evidence can quote them; the methods here normalise them for the diagnosis and the JSON.
//! Nothing here ever holds a password: the TR-064 parser drops `NewVoIPPassword` before a value
//! reaches these structs.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// An uptime below this many seconds is shown as "reconnected recently".
pub const RECENT_RECONNECT_SECS: u64 = 600;

/// What the router said in one round. `None` fields: not asked, or not answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RouterObservation {
    /// Where it was asked: the description URL (or the address that was tried).
    pub url: String,
    /// Whether the router answered any status request at all.
    pub reachable: bool,
    /// Its model name from the device description, e.g. `FRITZ!Box 7590`.
    pub model: Option<String>,
    /// `WANCommonInterfaceConfig:GetCommonLinkProperties` → `NewPhysicalLinkStatus` as sent
    /// (`Up`, `Down`, `Initializing`, `Unavailable`).
    pub link: Option<String>,
    /// `WANIPConnection:GetStatusInfo` → `NewConnectionStatus` as sent (`Connected`,
    /// `Disconnected`, `Connecting`, …).
    pub connection: Option<String>,
    /// `NewLastConnectionError` as sent (`ERROR_NONE` is dropped by the probe).
    pub last_error: Option<String>,
    /// `NewUptime`: seconds the WAN connection has been up.
    pub uptime_s: Option<u64>,
    /// `GetExternalIPAddress` → `NewExternalIPAddress` as sent; `Some("")` when the router
    /// answered with an empty address (DS-Lite: no public IPv4 of its own).
    pub external_ipv4: Option<String>,
    /// Phone numbers the router registers with the provider (FRITZ!Box TR-064 only).
    pub voip: Vec<VoipAccount>,
    /// The one thing that went wrong, when something did (a finding, not a crash).
    pub error: Option<RouterError>,
    /// The provider recognised (from the catalog) by the registrar of the router's accounts.
    #[serde(default)]
    pub provider_name: Option<String>,
}

/// One of the router's phone accounts, as `X_VoIP:X_AVM-DE_GetVoIPStatus` reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoipAccount {
    /// `NewVoIPAccountIndex`.
    pub index: u32,
    /// The phone number, when the router said.
    pub number: Option<String>,
    /// Its registration state.
    pub status: VoipStatus,
    /// The registrar the router registers this number with (`NewVoIPRegistrar`).
    #[serde(default)]
    pub registrar: Option<String>,
}

/// `NewX_AVM-DE_VoIPStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoipStatus {
    /// The account is switched off in the router.
    Disabled,
    /// The router could not register it with the provider.
    NotRegistered,
    /// Registered with the provider.
    Registered,
    /// Registered and in a call right now.
    Connected,
    /// The router does not know (or sent a word not in AVM's list).
    Unknown,
}

impl VoipStatus {
    /// Parses AVM's words (`disabled`, `not registered`, `registered`, `connected`, `unknown`).
    pub fn from_router(word: &str) -> VoipStatus {
        match word.trim().to_ascii_lowercase().as_str() {
            "disabled" => VoipStatus::Disabled,
            "not registered" | "not_registered" | "notregistered" => VoipStatus::NotRegistered,
            "registered" => VoipStatus::Registered,
            "connected" => VoipStatus::Connected,
            _ => VoipStatus::Unknown,
        }
    }

    /// Whether the number can take calls.
    pub fn is_registered(self) -> bool {
        matches!(self, VoipStatus::Registered | VoipStatus::Connected)
    }

    /// The snake_case word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            VoipStatus::Disabled => "disabled",
            VoipStatus::NotRegistered => "not_registered",
            VoipStatus::Registered => "registered",
            VoipStatus::Connected => "connected",
            VoipStatus::Unknown => "unknown",
        }
    }
}

/// Something that kept the router from telling (or made its answer unusable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterError {
    /// What kind of problem.
    pub kind: RouterErrorKind,
    /// Which request and what happened, e.g. `GET /igddesc.xml: timed out after 2.0 s`.
    pub detail: String,
}

/// Categories of router problems; each is worded in both languages by the diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouterErrorKind {
    /// No IGD answered (no description at port 49000, no SSDP reply).
    NoAnswer,
    /// The router answered, but not with usable XML/SOAP (malformed, too large, too deep,
    /// wrong namespace, a SOAP fault).
    BadAnswer,
    /// The IGD exists but refuses its status actions (on a FRITZ!Box: "Statusinformationen über
    /// UPnP übertragen" is off).
    StatusHidden,
    /// The router rejected the TR-064 login.
    LoginRejected,
    /// TR-064 login attempts are paused after a rejection, until the router password changes.
    LoginSuspended,
    /// The router answered HTTP 503 (too many requests): dialtone backs off.
    Busy,
    /// The router at this address is not the box the login belongs to (another network's
    /// gateway, or a box that does not say who it is): no login was sent to it.
    WrongRouter,
    /// The login ledger cannot be used: no login was sent ("login checks paused").
    LoginPaused,
}

/// The NAT situation the router's external IPv4 address reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatKind {
    /// A public IPv4 address on the router: inbound calls reach it directly.
    Public,
    /// Carrier-grade NAT (100.64.0.0/10 or a private range on the WAN side).
    Cgnat,
    /// DS-Lite: the router has no IPv4 address of its own (empty answer).
    DsLite,
    /// Not known.
    Unknown,
}

impl NatKind {
    /// The snake_case word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NatKind::Public => "public",
            NatKind::Cgnat => "cgnat",
            NatKind::DsLite => "ds_lite",
            NatKind::Unknown => "unknown",
        }
    }
}

/// Classifies the external IPv4 address as the router reported it.
pub fn nat_kind(external_ipv4: Option<&str>) -> NatKind {
    let Some(text) = external_ipv4 else {
        return NatKind::Unknown;
    };
    let text = text.trim();
    if text.is_empty() || text == "0.0.0.0" {
        return NatKind::DsLite;
    }
    match text.parse::<Ipv4Addr>() {
        Ok(ip) => {
            let [a, b, ..] = ip.octets();
            let shared = a == 100 && (64..128).contains(&b);
            if shared || ip.is_private() || ip.is_link_local() {
                NatKind::Cgnat
            } else if ip.is_loopback() || ip.is_unspecified() || ip.is_broadcast() {
                NatKind::Unknown
            } else {
                NatKind::Public
            }
        }
        Err(_) => NatKind::Unknown,
    }
}

impl RouterObservation {
    /// `Some(true)` when the router says its physical WAN link is up, `Some(false)` when it says
    /// anything else, `None` when it did not say.
    pub fn link_up(&self) -> Option<bool> {
        self.link
            .as_deref()
            .map(|word| word.trim().eq_ignore_ascii_case("up"))
    }

    /// `Some(true)` when the router says its WAN connection is `Connected`, `Some(false)` for
    /// any other state, `None` when it did not say.
    pub fn connected(&self) -> Option<bool> {
        self.connection
            .as_deref()
            .map(|word| word.trim().eq_ignore_ascii_case("connected"))
    }

    /// The NAT situation.
    pub fn nat(&self) -> NatKind {
        nat_kind(self.external_ipv4.as_deref())
    }

    /// Accounts the router has switched on (disabled ones say nothing about the line).
    pub fn enabled_voip(&self) -> impl Iterator<Item = &VoipAccount> {
        self.voip
            .iter()
            .filter(|a| a.status != VoipStatus::Disabled)
    }

    /// Whether the router reports at least one number registered with the provider.
    pub fn any_registered(&self) -> bool {
        self.voip.iter().any(|a| a.status.is_registered())
    }

    /// The router's summary as the JSON and the dashboard show it.
    pub fn view(&self) -> RouterView {
        let lower = |s: &Option<String>| s.as_deref().map(|w| w.trim().to_ascii_lowercase());
        RouterView {
            reachable: self.reachable,
            model: self.model.clone(),
            link: lower(&self.link),
            connection: lower(&self.connection),
            uptime_s: self.uptime_s,
            external_ipv4: self
                .external_ipv4
                .clone()
                .filter(|ip| !ip.trim().is_empty()),
            nat: self.nat(),
            voip: self
                .voip
                .iter()
                .map(|a| VoipView {
                    index: a.index,
                    number: a.number.clone(),
                    status: a.status,
                    registrar: a.registrar.clone(),
                })
                .collect(),
            error: self.error.as_ref().map(|e| e.detail.clone()),
        }
    }
}

/// The `router` object of `dialtone check --json` and of the dashboard: normalised words, nulls
/// where unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterView {
    /// Whether the router answered any status request.
    pub reachable: bool,
    /// Model name.
    pub model: Option<String>,
    /// `up`, `down`, … (the router's word, lowercased).
    pub link: Option<String>,
    /// `connected`, `disconnected`, … (the router's word, lowercased).
    pub connection: Option<String>,
    /// Seconds the WAN connection has been up.
    pub uptime_s: Option<u64>,
    /// The router's external IPv4 address; null when it has none or did not say.
    pub external_ipv4: Option<String>,
    /// public | cgnat | ds_lite | unknown.
    pub nat: NatKind,
    /// The router's phone accounts.
    pub voip: Vec<VoipView>,
    /// What went wrong asking it, when something did.
    pub error: Option<String>,
}

/// One phone account in [`RouterView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoipView {
    /// Account index in the router.
    pub index: u32,
    /// The number, when known.
    pub number: Option<String>,
    /// disabled | not_registered | registered | connected | unknown.
    pub status: VoipStatus,
    /// The registrar the router uses for it, when it said.
    pub registrar: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nat_kind_reads_the_external_address() {
        assert_eq!(nat_kind(None), NatKind::Unknown);
        assert_eq!(nat_kind(Some("")), NatKind::DsLite);
        assert_eq!(nat_kind(Some("100.72.1.5")), NatKind::Cgnat);
        assert_eq!(nat_kind(Some("10.1.2.3")), NatKind::Cgnat);
        assert_eq!(nat_kind(Some("100.128.0.1")), NatKind::Public);
        assert_eq!(nat_kind(Some("203.0.113.7")), NatKind::Public);
        assert_eq!(nat_kind(Some("not an address")), NatKind::Unknown);
    }

    #[test]
    fn avm_status_words_parse() {
        assert_eq!(
            VoipStatus::from_router("not registered"),
            VoipStatus::NotRegistered
        );
        assert_eq!(
            VoipStatus::from_router("Registered"),
            VoipStatus::Registered
        );
        assert_eq!(VoipStatus::from_router("weird"), VoipStatus::Unknown);
    }

    #[test]
    fn link_and_connection_words_normalise() {
        let r = RouterObservation {
            link: Some("Up".into()),
            connection: Some("Disconnected".into()),
            ..RouterObservation::default()
        };
        assert_eq!(r.link_up(), Some(true));
        assert_eq!(r.connected(), Some(false));
        let v = r.view();
        assert_eq!(v.connection.as_deref(), Some("disconnected"));
        assert_eq!(v.nat, NatKind::Unknown);
    }
}
