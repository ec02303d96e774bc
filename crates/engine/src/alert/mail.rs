//! E-mail alerts through the `[smtp]` server, with lettre: STARTTLS (required, never a silent
//! fallback to plain), implicit TLS, or none for a relay on the LAN; AUTH when a user is set.
//! The subject is the alert's headline (RFC 2047-encoded by lettre when it has umlauts), the
//! body its text with the provider's links; the Message-ID carries the alert's id, so a mail
//! sent twice after a crash is recognisable as the same one.

use super::outbox::Entry;
use dialtone_core::alert::{SmtpConfig, SmtpSecurity};
use dialtone_core::secret::Secret;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The mail server, ready to send.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl Mailer {
    /// What [`Mailer::new`] would refuse without building anything: the sender's address, a
    /// login without a password. The error names the key at fault.
    pub(crate) fn check(config: &SmtpConfig, password: Option<&Secret>) -> Result<(), String> {
        sender(config)?;
        match (&config.user, password) {
            (Some(user), None) => Err(format!(
                "smtp.user {user:?} has no password (password_env, the keyring, or smtp.password)"
            )),
            _ => Ok(()),
        }
    }

    /// A mailer for `config` with `password` (when it logs in), each SMTP command bounded by
    /// `timeout`. The error names the key at fault.
    pub(crate) fn new(
        config: &SmtpConfig,
        password: Option<&Secret>,
        timeout: Duration,
    ) -> Result<Mailer, String> {
        crate::tls::install_default();
        let host = config.host.trim().to_string();
        let server = format!("{host}:{}", config.port());
        let from = sender(config)?;
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(path) = &config.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("smtp.ca_file {}: {e}", path.display()))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| format!("smtp.ca_file {}: {e}", path.display()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = || {
            tls.clone()
                .build_rustls()
                .map_err(|e| format!("smtp: TLS for {server}: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(config.port())
            .timeout(Some(timeout));
        builder = match config.security {
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
            SmtpSecurity::None => builder.tls(Tls::None),
        };
        if let Some(user) = &config.user {
            let password = password.ok_or_else(|| {
                format!("smtp.user {user:?} has no password (password_env, the keyring, or smtp.password)")
            })?;
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            server,
        })
    }

    /// Sends `entry` to `to`; `Ok` once the server accepted it.
    pub(crate) async fn send(&self, to: &str, entry: &Entry) -> Result<(), String> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| format!("not an address ({e})"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(entry.alert.message.headline.clone())
            .message_id(Some(format!("<{}@dialtone>", entry.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(entry.alert.text.clone())
            .map_err(|e| format!("building the mail: {e}"))?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            let kind = if e.is_permanent() {
                "refused"
            } else if e.is_transient() {
                "deferred"
            } else if e.is_timeout() {
                "no answer in time"
            } else if e.is_tls() {
                "TLS failed"
            } else {
                "failed"
            };
            format!("mail server {}: {kind} ({e})", self.server)
        })
    }
}
/// The sender: `from`, else the login.
fn sender(config: &SmtpConfig) -> Result<Mailbox, String> {
    config
        .from
        .as_deref()
        .or(config.user.as_deref())
        .unwrap_or_default()
        .parse::<Mailbox>()
        .map_err(|e| format!("smtp.from: not an address ({e})"))
}

/// The SMTP password: `password_env`, the config's own `password` (the file's mode was
/// checked when it was loaded), or the keyring entry `smtp:USER@HOST`.
pub(crate) fn smtp_password(
    smtp: &dialtone_core::alert::SmtpConfig,
) -> Result<Option<Secret>, super::AlertSetupError> {
    let Some(user) = &smtp.user else {
        return Ok(None);
    };
    if let Some(var) = &smtp.password_env {
        return crate::secret::from_env(var).map(Some).map_err(|_| {
            super::AlertSetupError::Secret(format!("smtp.password_env: {var} is not set"))
        });
    }
    if let Some(password) = &smtp.password {
        return Ok(Some(Secret::new(password.clone())));
    }
    let account = smtp_keyring_account(smtp).unwrap_or_else(|| format!("smtp:{user}"));
    match crate::secret::from_keyring(&account) {
        Ok(found) => Ok(found),
        Err(e) => {
            tracing::warn!("{e}");
            Ok(None)
        }
    }
}

/// The keyring entry of the SMTP password (`smtp:USER@HOST`, under the service
/// [`crate::secret::KEYRING_SERVICE`]), when `[smtp]` logs in; `dialtone password set
/// --smtp-login` stores it.
pub fn smtp_keyring_account(smtp: &dialtone_core::alert::SmtpConfig) -> Option<String> {
    let user = smtp.user.as_deref()?;
    Some(format!("smtp:{user}@{}", smtp.host.trim()))
}
