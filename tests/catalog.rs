//! The provider catalog: the shipped file is valid, lookups work, user files merge, and broken
//! user files give errors that name the file and the entry.

use dialtone::cli::providers::{run, ProvidersArgs};
use dialtone_core::catalog::{Catalog, CatalogError, ChannelKind, Origin, BUILTIN_TOML};
use dialtone_core::locale::Lang;
use std::collections::HashMap;

#[test]
fn builtin_catalog_loads_and_every_link_is_https_or_tel() {
    let catalog = Catalog::builtin().expect("built-in catalog is valid");
    let ids: Vec<&str> = catalog.providers().iter().map(|p| p.id.as_str()).collect();
    for id in [
        "1und1",
        "telekom",
        "vodafone-dsl",
        "vodafone-kabel",
        "o2",
        "sipgate",
        "easybell",
        "m-net",
        "netcologne",
        "congstar",
        "dusnet",
        "custom",
    ] {
        assert!(ids.contains(&id), "missing provider {id}");
    }
    for provider in catalog.providers() {
        for channel in &provider.channels {
            let url = url::Url::parse(&channel.url).expect("well-formed URL");
            if channel.kind == ChannelKind::Hotline {
                assert_eq!(url.scheme(), "tel", "{}: {}", provider.id, channel.url);
            } else {
                assert_eq!(url.scheme(), "https", "{}: {}", provider.id, channel.url);
                assert!(url.host_str().is_some());
            }
        }
        for feed in &provider.feeds {
            assert_eq!(url::Url::parse(&feed.url).expect("URL").scheme(), "https");
        }
    }
}

#[test]
fn every_sip_domain_maps_to_exactly_one_provider() {
    let catalog = Catalog::builtin().expect("valid");
    let mut owners: HashMap<String, Vec<String>> = HashMap::new();
    for provider in catalog.providers() {
        let hosts = provider
            .sip_domains
            .iter()
            .map(|d| d.value.clone())
            .chain(provider.registrars.iter().map(|r| r.host.clone()));
        for host in hosts {
            owners.entry(host).or_default().push(provider.id.clone());
        }
    }
    assert!(owners.len() >= 15, "suspiciously few domains: {owners:?}");
    for (host, ids) in &owners {
        assert_eq!(ids.len(), 1, "{host} claimed by {ids:?}");
        // The lookup agrees with the declaration (wildcards tested with a concrete subdomain).
        let probe = host.replace("*.", "89.");
        let found = catalog.find_by_domain(&probe).map(|p| p.id.clone());
        assert_eq!(found.as_ref(), Some(&ids[0]), "lookup of {probe}");
    }
}

#[test]
fn lookup_by_registrar_domain() {
    let catalog = Catalog::builtin().expect("valid");
    let id = |input: &str| catalog.find_by_domain(input).map(|p| p.id.as_str());
    assert_eq!(id("sip.1und1.de"), Some("1und1"));
    assert_eq!(id("SIP.1UND1.DE."), Some("1und1"));
    assert_eq!(id("sip:49301234567@1und1.de;transport=udp"), Some("1und1"));
    assert_eq!(id("tls-sip.1und1.de:5061"), Some("1und1"));
    assert_eq!(id("30.sip.arcor.de"), Some("vodafone-dsl"));
    assert_eq!(id("sip.arcor.de"), Some("vodafone-dsl"));
    assert_eq!(id("tel.t-online.de"), Some("telekom"));
    assert_eq!(id("sips:secure.dus.net"), Some("dusnet"));
    assert_eq!(id("sip.sipgate.de"), Some("sipgate"));
    // Not a suffix trick: "evil1und1.de" is not under 1und1.de.
    assert_eq!(id("evil1und1.de"), None);
    assert_eq!(id("sip.example.net"), None);
    assert_eq!(id(""), None);
}

#[test]
fn unconfirmed_values_are_marked_and_unknown_ones_absent() {
    let catalog = Catalog::builtin().expect("valid");
    let one = catalog.get("1und1").expect("1&1");
    // PROVIDERS.md: registrar sip.1und1.de is a secondary-source value.
    assert!(one.registrars.iter().all(|r| !r.verified));
    let x = one
        .channels
        .iter()
        .find(|c| c.kind == ChannelKind::X)
        .expect("X channel");
    assert!(!x.verified, "the @1und1 handle is secondary-source");
    // easybell's registrars are confirmed first-party.
    let easybell = catalog.get("easybell").expect("easybell");
    assert!(easybell.registrars.iter().all(|r| r.verified));
    // Telekom's X account is confirmed.
    let telekom = catalog.get("telekom").expect("telekom");
    assert!(telekom
        .channels
        .iter()
        .any(|c| c.kind == ChannelKind::X && c.verified && c.url.contains("Telekom_hilft")));
    // No German hotline was confirmed, so none is shipped.
    assert!(catalog
        .providers()
        .iter()
        .all(|p| p.channels.iter().all(|c| c.kind != ChannelKind::Hotline)));
    // Crowd pages are never presented as confirmed.
    assert!(catalog
        .providers()
        .iter()
        .flat_map(|p| &p.channels)
        .filter(|c| c.kind == ChannelKind::Crowd)
        .all(|c| !c.verified && c.label.contains("not official")));
    assert!(!one.fully_verified());
}

#[test]
fn user_file_replaces_and_adds_entries() {
    let user = r#"
[[provider]]
id = "1und1"
name = "1&1 (mine)"
registrars = [{ host = "sip.1und1.de" }]
channels = [{ kind = "hotline", label = "Hotline", url = "tel:+49721-9600" }]
feeds = [{ kind = "statuspage", url = "https://status.example.net" }]

[[provider]]
id = "acme"
name = "ACME VoIP"
registrars = ["sip.acme.example"]
"#;
    // Registrars must be tables, so the plain-string form above is rejected with the file name.
    let err =
        Catalog::from_sources(BUILTIN_TOML, Some(("mine.toml", user))).expect_err("must fail");
    assert!(
        matches!(err, CatalogError::Parse { ref file, .. } if file == "mine.toml"),
        "{err}"
    );

    let user = user.replace(
        r#"registrars = ["sip.acme.example"]"#,
        r#"registrars = [{ host = "sip.acme.example" }]"#,
    );
    let catalog = Catalog::from_sources(BUILTIN_TOML, Some(("mine.toml", &user))).expect("valid");
    let mine = catalog.get("1und1").expect("replaced");
    assert_eq!(mine.name, "1&1 (mine)");
    assert!(
        mine.registrars[0].verified,
        "the user's own values count as confirmed"
    );
    assert_eq!(catalog.origin("1und1"), Some(&Origin::User));
    assert_eq!(catalog.origin("telekom"), Some(&Origin::Builtin));
    assert_eq!(
        catalog
            .find_by_domain("sip.acme.example")
            .map(|p| p.id.as_str()),
        Some("acme")
    );
    // The replaced entry no longer claims 1und1.de, so that domain is now unknown.
    assert_eq!(catalog.find_by_domain("x.1und1.de"), None);
}

fn user_error(text: &str) -> String {
    let err = Catalog::from_sources(BUILTIN_TOML, Some(("/home/u/providers.toml", text)))
        .expect_err("must be rejected");
    let message = err.to_string();
    assert!(message.contains("/home/u/providers.toml"), "{message}");
    message
}

#[test]
fn channels_on_x_and_crowd_pages_have_german_labels() {
    let catalog = Catalog::builtin().expect("built-in catalog is valid");
    let mut seen = 0;
    for provider in catalog.providers() {
        for channel in &provider.channels {
            if matches!(channel.kind, ChannelKind::X | ChannelKind::Crowd) {
                let de = channel.label_in(Lang::De);
                assert_ne!(
                    de, channel.label,
                    "{}: {} has no German label",
                    provider.id, channel.url
                );
                assert!(
                    !de.contains(" on X") && !de.contains("crowd reports"),
                    "{de}"
                );
                assert_eq!(channel.label_in(Lang::En), channel.label);
                seen += 1;
            }
        }
    }
    assert!(seen >= 7, "only {seen} X/crowd channels");
}

#[test]
fn broken_user_files_name_the_file_and_entry() {
    let msg = user_error(
        r#"[[provider]]
id = "bad"
name = "Bad"
channels = [{ kind = "website", label = "Site", url = "http://bad.example/" }]"#,
    );
    assert!(msg.contains("`bad`") && msg.contains("https"), "{msg}");

    let msg = user_error(
        r#"[[provider]]
id = "bad"
name = "Bad"
channels = [{ kind = "hotline", label = "Call", url = "https://bad.example/" }]"#,
    );
    assert!(msg.contains("tel:"), "{msg}");

    let msg = user_error(
        r#"[[provider]]
id = "bad"
name = "Bad"
feeds = [{ kind = "rss", url = "not a url" }]"#,
    );
    assert!(msg.contains("not a valid URL"), "{msg}");

    // A registrar another provider already owns.
    let msg = user_error(
        r#"[[provider]]
id = "copycat"
name = "Copycat"
registrars = [{ host = "sip.1und1.de" }]"#,
    );
    assert!(msg.contains("copycat") && msg.contains("1und1"), "{msg}");

    let msg = user_error(
        r#"[[provider]]
id = "Bad Id"
name = "x""#,
    );
    assert!(msg.contains("Bad Id"), "{msg}");

    let msg = user_error("[[provider]]\nid = \"x\"\nname = \"x\"\nsurprise = 1\n");
    assert!(msg.contains("surprise"), "{msg}");

    let msg = user_error(
        r#"[[provider]]
id = "bad"
name = "Bad"
channels = [{ kind = "website", label = "Site", label_de = " ", url = "https://bad.example/" }]"#,
    );
    assert!(msg.contains("empty label_de"), "{msg}");

    let msg = user_error("this is = = not toml");
    assert!(msg.contains("parsing"), "{msg}");
}

#[test]
fn missing_user_file_is_fine_unreadable_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let absent = dir.path().join("providers.toml");
    let catalog =
        dialtone_engine::catalog_file::load(Some(&absent)).expect("no file: built-in only");
    assert_eq!(catalog, Catalog::builtin().expect("valid"));
    // A directory where the file should be cannot be read.
    std::fs::create_dir(&absent).expect("mkdir");
    let err = dialtone_engine::catalog_file::load(Some(&absent)).expect_err("must fail");
    assert!(matches!(err, CatalogError::Read { .. }), "{err}");
}

#[test]
fn providers_command_lists_with_marks_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ProvidersArgs {
        json: false,
        catalog: Some(dir.path().join("none.toml")),
    };
    let mut out = Vec::new();
    run(&args, Lang::En, &mut out).expect("runs");
    let text = String::from_utf8(out).expect("utf8");
    assert!(text.contains("1&1 (DE)  id=1und1"), "{text}");
    assert!(text.contains("sip.1und1.de (?)"), "{text}");
    assert!(text.contains("https://x.com/Telekom_hilft\n"), "{text}");
    assert!(text.contains("Other / custom"), "{text}");

    let mut out = Vec::new();
    run(&ProvidersArgs { json: true, ..args }, Lang::De, &mut out).expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let providers = json["providers"].as_array().expect("array");
    let one = providers
        .iter()
        .find(|p| p["id"] == "1und1")
        .expect("1und1");
    assert_eq!(one["registrars"][0]["verified"], false);
    assert_eq!(one["sip_domains"][0]["value"], "1und1.de");
    assert_eq!(one["sip_domains"][0]["verified"], false);
}
