//! The vocabulary of an answer: the six layers of a phone line, the seven verdicts, and how a
//! single layer fared.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One layer of the chain a person checks when the phone is dead, lowest first.
///
/// The order matters: diagnosis blames the lowest layer that fails, because a broken lower
/// layer makes every layer above it look broken too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// This computer: an up interface with an address and a default route.
    Device,
    /// The home network: the default gateway (router) answers.
    HomeNetwork,
    /// The router's own view: its WAN link and connection, and its phone registrations.
    Router,
    /// The internet access: DNS works and independent anchors answer.
    Internet,
    /// The VoIP provider: the registrar resolves and answers SIP.
    Provider,
    /// The account: credentials accepted and a phone/router registered.
    Account,
}

impl Layer {
    /// All layers, lowest first.
    pub const ALL: [Layer; 6] = [
        Layer::Device,
        Layer::HomeNetwork,
        Layer::Router,
        Layer::Internet,
        Layer::Provider,
        Layer::Account,
    ];

    /// The snake_case name used in JSON, config and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Device => "device",
            Layer::HomeNetwork => "home_network",
            Layer::Router => "router",
            Layer::Internet => "internet",
            Layer::Provider => "provider",
            Layer::Account => "account",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one-word answer to "does my line work?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every checked layer works.
    Healthy,
    /// Works, but slow or losing packets.
    Degraded,
    /// The internet works but the provider's SIP service does not answer (or answers 5xx).
    ProviderOutage,
    /// The provider rejects the login, or no phone/router is registered on the line.
    AccountProblem,
    /// The router answers but the internet beyond it does not.
    InternetDown,
    /// This computer or the home network has no connection.
    LocalProblem,
    /// Not checked yet, paused, or just woke from sleep.
    Unknown,
}

impl Verdict {
    /// All verdicts, best first.
    pub const ALL: [Verdict; 7] = [
        Verdict::Healthy,
        Verdict::Degraded,
        Verdict::AccountProblem,
        Verdict::ProviderOutage,
        Verdict::InternetDown,
        Verdict::LocalProblem,
        Verdict::Unknown,
    ];

    /// The snake_case name used in JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "degraded",
            Verdict::ProviderOutage => "provider_outage",
            Verdict::AccountProblem => "account_problem",
            Verdict::InternetDown => "internet_down",
            Verdict::LocalProblem => "local_problem",
            Verdict::Unknown => "unknown",
        }
    }

    /// The process exit code `dialtone check` uses for this verdict (documented in the README).
    ///
    /// 0 only for a healthy line; 2 is left to clap for usage errors and 3 to config errors.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Healthy => 0,
            Verdict::Degraded => 10,
            Verdict::AccountProblem => 11,
            Verdict::ProviderOutage => 12,
            Verdict::InternetDown => 13,
            Verdict::LocalProblem => 14,
            Verdict::Unknown => 15,
        }
    }

    /// Whether this verdict means the line is usable (healthy or merely degraded).
    pub fn is_working(self) -> bool {
        matches!(self, Verdict::Healthy | Verdict::Degraded)
    }

    /// Whether this verdict opens (or continues) an outage episode: the line does not work and
    /// dialtone knows why. The history, the outage log and the recovery notice all ask this.
    pub fn is_outage(self) -> bool {
        !self.is_working() && self != Verdict::Unknown
    }

    /// Rank used by hysteresis: a higher rank is a worse state. `Unknown` ranks lowest
    /// because it is "no information", never an alarm.
    pub fn severity(self) -> u8 {
        match self {
            Verdict::Unknown => 0,
            Verdict::Healthy => 1,
            Verdict::Degraded => 2,
            Verdict::AccountProblem => 3,
            Verdict::ProviderOutage => 4,
            Verdict::InternetDown => 5,
            Verdict::LocalProblem => 6,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one layer fared in one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerStatus {
    /// The layer works.
    Ok,
    /// The layer does not work.
    Failed,
    /// The layer works, but over a threshold (latency, loss, retransmissions, one anchor down).
    Degraded,
    /// Not checked: not configured, or a lower layer failed so the result would mean nothing.
    Skipped,
}

/// Exit code for configuration errors (bad file, bad flag values beyond clap's own checks).
pub const EXIT_CONFIG_ERROR: u8 = 3;
/// Exit code when the check could not run at all (e.g. a socket could not be bound).
pub const EXIT_RUNTIME_ERROR: u8 = 4;
/// Exit code of `dialtone watch` when another dialtone process already watches the account.
pub const EXIT_ALREADY_WATCHED: u8 = 5;
