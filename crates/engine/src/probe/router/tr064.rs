//! FRITZ!Box TR-064 with a login (a box user with the "phone" right is enough): the phone
//! numbers the router registers with the provider, from `tr64desc.xml` and the service
//! `urn:dslforum-org:service:X_VoIP:1`.
//!
//! Per round: `X_AVM-DE_GetVoIPStatus(NewVoIPAccountIndex)` for index 0, 1, … until the box
//! answers SOAP fault 713 (SpecifiedArrayIndexInvalid) or [`MAX_ACCOUNTS`] is reached, capped
//! by `GetMaxVoIPNumbers` (asked once). The numbers come from `X_AVM-DE_GetVoIPAccount`, asked
//! once per index and remembered; that action also returns the SIP password
//! (`NewVoIPPassword`), which the XML parser drops before any value is read. A box without
//! `X_AVM-DE_GetVoIPStatus` (firmware before 2021) is "too old to tell", not an error of the
//! line.

use super::soap::{arg, Login, RequestError, RouterHttp};
use super::xml::Element;
use dialtone_core::router::{VoipAccount, VoipStatus};
use std::collections::HashMap;
use url::Url;

/// Most accounts asked per round (a FRITZ!Box has at most 20; homes use one to three).
pub const MAX_ACCOUNTS: u32 = 10;
/// The UPnP error code that ends the enumeration.
pub const FAULT_INDEX_INVALID: u32 = 713;
/// The UPnP error code of an action the box does not know.
pub const FAULT_INVALID_ACTION: u32 = 401;

/// A located TR-064 description with its VoIP service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tr064 {
    /// Where the description was read.
    pub description: Url,
    /// `modelName` of the root device.
    pub model: Option<String>,
    /// `X_VoIP`: service type and control URL.
    pub voip: (String, Url),
    /// `DeviceInfo`: service type and control URL, for `GetSecurityPort` (no login needed).
    pub device_info: Option<(String, Url)>,
    /// Who the box is: the root device's `UDN`, else its `serialNumber` (`None` when it says
    /// neither). The router login goes only to the box it was first accepted by.
    pub identity: Option<String>,
}

/// The longest identity kept (a UDN is `uuid:` and 36 characters).
const MAX_IDENTITY: usize = 80;

/// The root device's identity: its `UDN`, else its `serialNumber`.
fn identity(doc: &Element) -> Option<String> {
    let device = doc.child("device")?;
    ["UDN", "serialNumber"].iter().find_map(|name| {
        device
            .child_text(name)
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
            .map(|v| v.chars().take(MAX_IDENTITY).collect())
    })
}

/// The TR-064 description URL for a base URL (scheme, host, port).
pub fn description_url(base: &Url) -> Option<Url> {
    if base.path().ends_with("tr64desc.xml") {
        return Some(base.clone());
    }
    base.join("/tr64desc.xml").ok()
}

/// Reads the VoIP service out of `tr64desc.xml` (services are nested in the device list:
/// the whole tree is walked).
pub fn read_description(url: &Url, doc: &Element) -> Result<Tr064, String> {
    if doc.name != "root" {
        return Err(format!(
            "not a TR-064 device description (root <{}>)",
            doc.name
        ));
    }
    let (model, services) =
        super::xml::device_and_services(doc, "a TR-064 description without a <device>")?;
    // Only controls on the description's own host: a description cannot send the login on.
    let service = |prefix: &str| {
        services.iter().find_map(|s| {
            let st = s.child_text("serviceType")?;
            if !st.starts_with(prefix) {
                return None;
            }
            let control = url.join(s.child_text("controlURL")?).ok()?;
            (control.host_str() == url.host_str()).then(|| (st.to_string(), control))
        })
    };
    let voip = service("urn:dslforum-org:service:X_VoIP:")
        .ok_or("the TR-064 description has no X_VoIP service (no telephony on this box?)")?;
    Ok(Tr064 {
        description: url.clone(),
        model,
        voip,
        device_info: service("urn:dslforum-org:service:DeviceInfo:"),
        identity: identity(doc),
    })
}

/// Moves the X_VoIP control to https, on the port the box names in
/// `DeviceInfo:GetSecurityPort` (49443 on a FRITZ!Box; the action needs no login), so that the
/// digest login never travels in clear text. Left on http when the box names no port.
pub async fn prefer_tls(http: &RouterHttp, box_: &mut Tr064) {
    let Some((st, control)) = &box_.device_info else {
        return;
    };
    if box_.voip.1.scheme() == "https" {
        return;
    }
    let port = match http.action(control, st, "GetSecurityPort", &[], None).await {
        Ok(out) => arg(&out, "NewSecurityPort")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| *p != 0),
        Err(e) => {
            tracing::debug!("TR-064 GetSecurityPort: {e}; the login stays on http");
            None
        }
    };
    if let Some(port) = port {
        let mut secure = box_.voip.1.clone();
        if secure.set_scheme("https").is_ok() && secure.set_port(Some(port)).is_ok() {
            tracing::debug!("TR-064 login over https, port {port}");
            box_.voip.1 = secure;
        }
    }
}

/// What `X_AVM-DE_GetVoIPAccount` told about one account (asked once per index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountInfo {
    /// `NewVoIPNumber`.
    pub number: Option<String>,
    /// `NewVoIPRegistrar`.
    pub registrar: Option<String>,
}

/// What the VoIP read gave.
#[derive(Debug)]
pub enum VoipRead {
    /// The accounts, index order.
    Accounts(Vec<VoipAccount>),
    /// The box does not have `X_AVM-DE_GetVoIPStatus`.
    TooOld,
}

/// Reads every account's status; `numbers` remembers each index's number across rounds and
/// `max` the box's `GetMaxVoIPNumbers`.
pub async fn read_voip(
    http: &RouterHttp,
    box_: &Tr064,
    login: &Login,
    numbers: &mut HashMap<u32, AccountInfo>,
    max: &mut Option<u32>,
) -> Result<VoipRead, RequestError> {
    let (st, control) = &box_.voip;
    if max.is_none() {
        *max = Some(
            match http
                .action(control, st, "GetMaxVoIPNumbers", &[], Some(login))
                .await
            {
                Ok(args) => arg(&args, "NewMaxVoIPNumbers")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(MAX_ACCOUNTS),
                Err(RequestError::Fault { .. }) => MAX_ACCOUNTS,
                Err(e) => return Err(e),
            }
            .min(MAX_ACCOUNTS),
        );
    }
    let limit = max.unwrap_or(MAX_ACCOUNTS);
    let mut accounts = Vec::new();
    for index in 0..limit {
        let args = [("NewVoIPAccountIndex", index.to_string())];
        let status = match http
            .action(control, st, "X_AVM-DE_GetVoIPStatus", &args, Some(login))
            .await
        {
            Ok(out) => VoipStatus::from_router(arg(&out, "NewX_AVM-DE_VoIPStatus").unwrap_or("")),
            Err(RequestError::Fault { code, .. }) if code == FAULT_INDEX_INVALID => break,
            Err(RequestError::Fault { code, .. }) if code == FAULT_INVALID_ACTION && index == 0 => {
                return Ok(VoipRead::TooOld)
            }
            Err(e) => return Err(e),
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = numbers.entry(index) {
            let info = match http
                .action(control, st, "X_AVM-DE_GetVoIPAccount", &args, Some(login))
                .await
            {
                // Only the number and the registrar are read; the password never got past
                // the parser.
                Ok(out) => {
                    let text = |name: &str, max: usize| {
                        arg(&out, name)
                            .filter(|v| !v.is_empty())
                            .map(|v| v.chars().take(max).collect::<String>())
                    };
                    AccountInfo {
                        number: text("NewVoIPNumber", 32),
                        registrar: text("NewVoIPRegistrar", 255),
                    }
                }
                Err(RequestError::Fault { .. }) => AccountInfo::default(),
                Err(e) => return Err(e),
            };
            slot.insert(info);
        }
        let info = numbers.get(&index).cloned().unwrap_or_default();
        accounts.push(VoipAccount {
            index,
            number: info.number,
            status,
            registrar: info.registrar,
        });
    }
    Ok(VoipRead::Accounts(accounts))
}
