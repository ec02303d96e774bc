//! The rules for the telephony layers: the provider's registrar (its name, its answers to
//! OPTIONS) and the account (the REGISTER query, the router's own registrations). Each judges
//! its layer alone; [`super::diagnose`] applies the bottom-up rule.

use super::fact::{self, server_failed, DnsResult, Fact, Measure, TargetRef};
use super::{Assessment, Thresholds};
use crate::observation::{
    AccountObservation, AccountOutcome, DnsOutcome, ProviderObservation, Resolution, SipExchange,
    SipOutcome,
};
use crate::router::{RouterObservation, VoipStatus};
use crate::verdict::{Layer, LayerStatus, Verdict};
use chrono::{DateTime, Utc};

/// The evidence one SIP transaction leaves.
pub(super) fn exchange_fact(exchange: &SipExchange) -> Fact {
    let target = TargetRef::from(&exchange.target);
    let method = exchange.method.clone();
    match &exchange.outcome {
        SipOutcome::Response {
            code,
            reason,
            rtt,
            retry_after,
        } => Fact::SipResponse {
            method,
            target,
            code: *code,
            reason: reason.clone(),
            rtt_ms: fact::millis(*rtt),
            transmissions: exchange.transmissions,
            retry_after: *retry_after,
        },
        SipOutcome::Timeout => Fact::SipTimeout {
            method,
            target,
            transmissions: exchange.transmissions,
            elapsed_ms: fact::millis(exchange.elapsed),
        },
        SipOutcome::TransportFailed { kind, detail } => Fact::SipTransportFailed {
            method,
            target,
            kind: *kind,
            detail: detail.to_string(),
        },
    }
}

/// The response code of an exchange, when the server sent one.
pub(super) fn response_code(exchange: &SipExchange) -> Option<u16> {
    match exchange.outcome {
        SipOutcome::Response { code, .. } => Some(code),
        _ => None,
    }
}

/// The provider layer, with what dialtone knows of the registrar from earlier rounds: a red
/// icon is a fact, so silence from a registrar never heard from here is "cannot tell", and a
/// registrar that ignores OPTIONS but answers the REGISTER query is alive.
pub(super) fn assess_provider(
    provider: Option<&ProviderObservation>,
    account: Option<&AccountObservation>,
    round_started: DateTime<Utc>,
    th: &Thresholds,
) -> Assessment {
    let mut a = assess_registrar(provider, th);
    let (Some(provider), true) = (provider, a.status == LayerStatus::Failed) else {
        return a;
    };
    let Some(known) = provider.acquaintance else {
        return a;
    };
    // Timeouts only: no byte and no ICMP error came back from any target.
    let silent = !provider.exchanges.is_empty()
        && provider
            .exchanges
            .iter()
            .all(|x| matches!(x.outcome, SipOutcome::Timeout));
    let register_answered = account
        .and_then(|acc| acc.exchange.as_ref())
        .is_some_and(|x| matches!(x.outcome, SipOutcome::Response { .. }));
    if silent && !known.answered_options && register_answered {
        a.evidence.push(Fact::RegistrarIgnoresOptions {
            registrar: provider.registrar.clone(),
        });
        a.status = LayerStatus::Ok;
        return a;
    }
    // A registrar that answers OPTIONS as a rule, silent to them this round while it answered
    // the login in the same round, is reachable: its silence is lost datagrams (every
    // retransmission of a check can go missing on a lossy path), not an outage. Red would not
    // be a fact, so the layer reads degraded and says why. Only an answer from this round
    // counts: logins are rare, so a round usually carries the last query's, from before the
    // registrar went silent.
    let answered_this_round =
        register_answered && account.is_some_and(|acc| acc.checked_at >= round_started);
    if silent && answered_this_round {
        a.evidence.insert(
            0,
            Fact::RegistrarAnsweredLoginOnly {
                registrar: provider.registrar.clone(),
            },
        );
        a.status = LayerStatus::Degraded;
        return a;
    }
    let name_not_found = matches!(
        &provider.resolution,
        Resolution::Failed {
            outcome: DnsOutcome::NotFound { .. },
            ..
        }
    );
    let never_answered = !known.answered_options && !known.answered_register;
    if never_answered && (silent || (name_not_found && !known.resolved)) {
        a.evidence.insert(
            0,
            Fact::RegistrarNeverAnswered {
                registrar: provider.registrar.clone(),
                name_not_found,
            },
        );
        a.verdict_if_failed = Verdict::Unknown;
    }
    a
}

/// The provider layer from this round's DNS and OPTIONS alone.
pub(super) fn assess_registrar(
    provider: Option<&ProviderObservation>,
    th: &Thresholds,
) -> Assessment {
    let verdict = Verdict::ProviderOutage;
    let Some(provider) = provider else {
        return Assessment::not_probed(Layer::Provider, verdict);
    };
    let mut a = Assessment::new(verdict);
    match &provider.resolution {
        Resolution::Failed { outcome, name } => {
            a.evidence.push(Fact::Dns {
                name: name.clone(),
                result: DnsResult::from(outcome),
            });
            a.fail();
        }
        Resolution::Resolved { targets, path, rtt } => {
            a.evidence.push(Fact::RegistrarResolved {
                registrar: provider.registrar.clone(),
                path: path.clone(),
                targets: targets.len(),
                rtt_ms: fact::millis(*rtt),
            });
        }
    }
    if a.status == LayerStatus::Failed {
        return a;
    }
    if provider.exchanges.is_empty() {
        a.evidence.push(Fact::NoSipTarget {
            registrar: provider.registrar.clone(),
        });
        a.fail();
        return a;
    }
    a.evidence
        .extend(provider.exchanges.iter().map(exchange_fact));

    // Any response below 500 proves the service alive; a 5xx/6xx means the server itself says
    // it cannot serve; no response at all means we gave up.
    let alive = provider
        .exchanges
        .iter()
        .find(|x| response_code(x).is_some_and(|code| !server_failed(code)));
    let judged = alive.or_else(|| {
        provider
            .exchanges
            .iter()
            .find(|x| response_code(x).is_some())
    });
    if let Some(exchange) = judged {
        if let SipOutcome::Response { rtt, .. } = exchange.outcome {
            a.latency_ms = Some(fact::millis(rtt));
        }
    }
    let Some(exchange) = alive else {
        a.fail();
        return a;
    };
    // Latency is judged only on an unambiguous sample (Karn's rule). The round trip counts
    // from the first transmission, so after a retransmission it includes the T1 (500 ms)
    // wait and says nothing about the path: one lost datagram, which the retransmission
    // threshold below tolerates, would otherwise degrade the line through this check anyway.
    // Loss is what the retransmission count measures.
    if let (Some(rtt_ms), true) = (a.latency_ms, exchange.transmissions <= 1) {
        a.check_limit(Measure::SipRtt, rtt_ms, th.sip_rtt_ms as f64);
    }
    let retransmissions = exchange.transmissions.saturating_sub(1);
    a.check_limit(
        Measure::Retransmissions,
        f64::from(retransmissions),
        f64::from(th.retransmissions),
    );
    let stray: u32 = provider.exchanges.iter().map(|x| x.ignored).sum();
    if stray > 0 {
        a.evidence.push(Fact::StrayMessages { count: stray });
        if stray >= th.stray_messages {
            a.evidence.push(Fact::OverThreshold {
                measure: Measure::StrayMessages,
                value: f64::from(stray),
                limit: f64::from(th.stray_messages),
            });
            a.degrade();
        }
    }
    a
}

/// The registrar is silent to dialtone, but the router is registered with it: the provider
/// serves this line, so its failure is only a degradation.
pub(super) fn trust_router_registration(
    provider: &mut Assessment,
    observed: Option<&ProviderObservation>,
    router: Option<&RouterObservation>,
) {
    let Some(router) = router.filter(|r| r.reachable) else {
        return;
    };
    let numbers = router
        .voip
        .iter()
        .filter(|v| v.status.is_registered())
        .count();
    if provider.status != LayerStatus::Failed || numbers == 0 {
        return;
    }
    // A registrar that has answered this computer and now refuses or stays silent is failing:
    // the router's "registered" only lasts until its next renewal (minutes), so it is evidence,
    // not a reprieve. It vouches for the line only where the registrar never answered here
    // (one that ignores probes).
    let heard_before = observed
        .and_then(|p| p.acquaintance)
        .is_some_and(|k| k.answered_options || k.answered_register);
    if heard_before {
        provider
            .evidence
            .push(Fact::RouterRegisteredUntilRenewal { numbers });
        return;
    }
    provider.status = LayerStatus::Degraded;
    provider
        .evidence
        .insert(0, Fact::RouterStillRegistered { numbers });
}

pub(super) fn assess_account(
    account: Option<&AccountObservation>,
    router: Option<&RouterObservation>,
    th: &Thresholds,
) -> Assessment {
    let voip = router
        .filter(|r| r.reachable)
        .map(|r| r.voip.as_slice())
        .unwrap_or_default();
    let mut a = match account {
        Some(account) => assess_register_query(account, th),
        None if voip.is_empty() => {
            return Assessment::not_probed(Layer::Account, Verdict::AccountProblem)
        }
        None => {
            let mut a = Assessment::new(Verdict::AccountProblem);
            if !voip.iter().any(|v| v.status.is_registered()) {
                // Only disabled or unknown accounts: the router could not tell.
                a.status = LayerStatus::Skipped;
            }
            a
        }
    };
    a.evidence.extend(voip.iter().map(|v| Fact::RouterVoip {
        index: v.index,
        number: v.number.clone(),
        status: v.status,
    }));
    if voip.iter().any(|v| v.status == VoipStatus::NotRegistered) {
        a.fail();
    }
    a
}

pub(super) fn assess_register_query(account: &AccountObservation, th: &Thresholds) -> Assessment {
    let mut a = Assessment::new(Verdict::AccountProblem);
    if let Some(exchange) = &account.exchange {
        if let SipOutcome::Response { rtt, .. } = exchange.outcome {
            a.latency_ms = Some(fact::millis(rtt));
        }
    }
    match &account.outcome {
        AccountOutcome::Accepted { bindings } => {
            a.evidence.push(Fact::LoginAccepted {
                aor: account.aor.clone(),
                bindings: bindings.len(),
            });
            a.evidence.extend(bindings.iter().map(|b| Fact::Registered {
                contact: b.contact.clone(),
                expires: b.expires,
            }));
            if bindings.is_empty() {
                a.evidence.push(Fact::NoBinding);
                if th.expect_binding {
                    a.fail();
                }
            }
        }
        AccountOutcome::Rejected { code, reason } => {
            a.evidence.push(Fact::LoginRejected {
                code: *code,
                reason: reason.clone(),
            });
            a.fail();
        }
        AccountOutcome::Suspended { since, code } => {
            a.evidence.push(Fact::AccountSuspended {
                since: *since,
                code: *code,
            });
            a.fail();
        }
        AccountOutcome::Deferred { until, code } => {
            a.evidence.push(Fact::AccountDeferred {
                until: *until,
                code: *code,
            });
            // An old answer, held back as the registrar asked: not news about now. The login
            // waits, and the verdict comes from what this round saw (degraded at most here): a
            // registrar that answers OPTIONS again must not stay red on a 503 from minutes ago.
            a.degrade();
        }
        AccountOutcome::UnsupportedChallenge { detail } => {
            a.evidence.push(Fact::UnsupportedChallenge {
                detail: detail.clone(),
            });
            a.fail();
        }
        AccountOutcome::Paused {
            action,
            path,
            detail,
        } => {
            // Nothing was sent, so nothing is known about the account: the layer is not
            // checked, and says why.
            a.evidence.push(Fact::LoginChecksPaused {
                action: *action,
                path: path.clone(),
                detail: detail.clone(),
            });
            a.status = LayerStatus::Skipped;
        }
        AccountOutcome::NoAnswer => {
            a.evidence.push(Fact::AccountNoAnswer);
            match &account.exchange {
                Some(exchange) => {
                    a.evidence.push(exchange_fact(exchange));
                    if response_code(exchange).is_some_and(server_failed) {
                        // The registrar itself refuses registrations: phones cannot register.
                        a.verdict_if_failed = Verdict::ProviderOutage;
                        a.fail();
                    } else {
                        a.degrade();
                    }
                }
                None => a.degrade(),
            }
        }
    }
    a
}
