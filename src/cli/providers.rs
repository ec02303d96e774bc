//! `dialtone providers [--json]`: lists the provider catalog, with its unconfirmed values marked.

use dialtone_core::catalog::{Catalog, CatalogError, Origin, Provider};
use dialtone_core::locale::Lang;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `dialtone providers`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProvidersArgs {
    /// Print the catalog as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The user's catalog file (default: providers.toml in the config dir).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
}

/// Why `dialtone providers` failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvidersError {
    /// The catalog could not be loaded.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Writing to stdout failed.
    #[error("writing the provider list: {0}")]
    Output(#[from] std::io::Error),
    /// JSON encoding failed.
    #[error("encoding the provider list as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl ProvidersError {
    /// The exit code for this error (a broken catalog file is a configuration error).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ProvidersError::Catalog(_) => ExitCode::from(dialtone_core::verdict::EXIT_CONFIG_ERROR),
            _ => ExitCode::from(dialtone_core::verdict::EXIT_RUNTIME_ERROR),
        }
    }
}

/// Runs `dialtone providers`, writing to `out`.
pub fn run(
    args: &ProvidersArgs,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<ExitCode, ProvidersError> {
    let user_file = args
        .catalog
        .clone()
        .or_else(dialtone_engine::catalog_file::user_file_path);
    let catalog = dialtone_engine::catalog_file::load(user_file.as_deref())?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &catalog)?;
        writeln!(out)?;
    } else {
        write_text(&catalog, lang, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Marks a value that comes from a secondary source.
fn mark(verified: bool) -> &'static str {
    if verified {
        ""
    } else {
        " (?)"
    }
}

fn write_text(catalog: &Catalog, lang: Lang, out: &mut dyn Write) -> std::io::Result<()> {
    for provider in catalog.providers() {
        write_provider(catalog, provider, lang, out)?;
    }
    writeln!(
        out,
        "{}",
        lang.pick(
            "(?) = from a secondary source, not confirmed by the provider.",
            "(?) = aus einer Sekundärquelle, vom Anbieter nicht bestätigt."
        )
    )
}

fn write_provider(
    catalog: &Catalog,
    provider: &Provider,
    lang: Lang,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let user = if catalog.origin(&provider.id) == Some(&Origin::User) {
        lang.pick(" [your file]", " [eigene Datei]")
    } else {
        ""
    };
    let country = provider
        .country
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    writeln!(out, "{}{country}  id={}{user}", provider.name, provider.id)?;
    if !provider.sip_domains.is_empty() {
        let list: Vec<String> = provider
            .sip_domains
            .iter()
            .map(|d| format!("{}{}", d.value, mark(d.verified)))
            .collect();
        writeln!(
            out,
            "  {}: {}",
            lang.pick("SIP domains", "SIP-Domänen"),
            list.join(", ")
        )?;
    }
    if !provider.registrars.is_empty() {
        let list: Vec<String> = provider
            .registrars
            .iter()
            .map(|r| {
                let port = r.port.map(|p| format!(":{p}")).unwrap_or_default();
                let transport = r
                    .transport
                    .map(|t| format!(" {}", t.as_str()))
                    .unwrap_or_default();
                format!("{}{port}{transport}{}", r.host, mark(r.verified))
            })
            .collect();
        writeln!(out, "  Registrar: {}", list.join(", "))?;
    }
    if let Some(isp) = &provider.also_isp {
        let yes_no = if isp.value {
            lang.pick("yes", "ja")
        } else {
            lang.pick("no", "nein")
        };
        writeln!(
            out,
            "  {}: {yes_no}{}",
            lang.pick("Also internet provider", "Auch Internetanbieter"),
            mark(isp.verified)
        )?;
    }
    if let Some(transport) = &provider.default_transport {
        writeln!(
            out,
            "  {}: {}{}",
            lang.pick("Default transport", "Standard-Transport"),
            transport.value.as_str(),
            mark(transport.verified)
        )?;
    }
    for channel in &provider.channels {
        writeln!(
            out,
            "  [{}] {}: {}{}",
            channel.kind,
            channel.label_in(lang),
            channel.url,
            mark(channel.verified)
        )?;
    }
    for feed in &provider.feeds {
        writeln!(
            out,
            "  [{} feed] {}{}",
            match feed.kind {
                dialtone_core::catalog::FeedKind::Statuspage => "statuspage",
                dialtone_core::catalog::FeedKind::Rss => "rss",
                dialtone_core::catalog::FeedKind::Atom => "atom",
            },
            feed.url,
            mark(feed.verified)
        )?;
    }
    if let Some(notes) = &provider.notes {
        writeln!(out, "  {}: {notes}", lang.pick("Note", "Hinweis"))?;
    }
    writeln!(out)
}
