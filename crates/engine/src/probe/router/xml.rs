//! Bounded XML for router answers: UPnP device descriptions and SOAP envelopes, read with
//! quick-xml into a small tree with limits on depth, element count and text size, so that a
//! broken or hostile router gives a clear error instead of a crash or a memory blow-up.
//!
//! Names are kept as local names (the prefix dropped); a DOCTYPE is refused outright (no
//! entity tricks). Any element whose name says "password" is dropped while parsing: a
//! FRITZ!Box's `X_AVM-DE_GetVoIPAccount` answers with the SIP password in `NewVoIPPassword`,
//! and it must never reach a struct, a log or a screen.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Deepest nesting accepted (real descriptions nest about 10 deep).
pub const MAX_DEPTH: usize = 32;
/// Most elements accepted in one document (a FRITZ!Box tr64desc.xml has a few hundred).
pub const MAX_ELEMENTS: usize = 20_000;
/// Most text kept per element, in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

/// One element: its local name, its text (concatenated, entity references resolved) and its
/// children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The local name (`serviceType`, not `u:serviceType`).
    pub name: String,
    /// The text directly inside it.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("XML nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More than [`MAX_ELEMENTS`] elements.
    #[error("XML with more than {MAX_ELEMENTS} elements")]
    TooMany,
    /// Not well-formed, or a DOCTYPE.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// No root element.
    #[error("no XML document")]
    Empty,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Every element named `name` below this one (this one included), depth first.
    pub fn descendants<'a>(&'a self, name: &'a str, out: &mut Vec<&'a Element>) {
        if self.name == name {
            out.push(self);
        }
        for child in &self.children {
            child.descendants(name, out);
        }
    }

    /// The first element named `name` below this one, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// Whether an element with this local name must be dropped unread.
fn is_secret(name: &str) -> bool {
    name.to_ascii_lowercase().contains("password")
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.to_string(),
    }
}

/// Parses `text` into its root element, within the limits.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    // Depth inside a dropped (secret) element; its content is skipped entirely.
    let mut skipping = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                if skipping > 0 {
                    skipping += 1;
                    continue;
                }
                let name = local(start.local_name().as_ref());
                if is_secret(&name) {
                    skipping = 1;
                    continue;
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooMany);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                if root.is_some() && stack.is_empty() {
                    return Err(XmlError::Malformed("a second root element".into()));
                }
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                if skipping > 0 {
                    continue;
                }
                let name = local(start.local_name().as_ref());
                if is_secret(&name) {
                    continue;
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooMany);
                }
                let element = Element {
                    name,
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err(XmlError::Malformed("a second root element".into())),
                }
            }
            Event::End(_) => {
                if skipping > 0 {
                    skipping -= 1;
                    continue;
                }
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("an end tag without a start".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => {
                if skipping == 0 {
                    push_text(&mut stack, &t.xml10_content())?;
                }
            }
            Event::CData(t) => {
                if skipping == 0 {
                    push_text(&mut stack, &t.xml10_content())?;
                }
            }
            Event::GeneralRef(r) => {
                if skipping > 0 {
                    continue;
                }
                let resolved = match r
                    .resolve_char_ref()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?
                {
                    Some(c) => c.to_string(),
                    None => match r.as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => {
                            return Err(XmlError::Malformed(format!("unknown entity &{other};")))
                        }
                    },
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => {
                return Err(XmlError::Malformed("a DOCTYPE is not accepted".into()));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed(
            "the document ends inside an element".into(),
        ));
    }
    root.ok_or(XmlError::Empty)
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    if let Some(top) = stack.last_mut() {
        if top.text.len() + text.len() > MAX_TEXT {
            return Err(XmlError::Malformed(format!(
                "text of <{}> longer than {MAX_TEXT} bytes",
                top.name
            )));
        }
        top.text.push_str(text);
    }
    Ok(())
}

/// A UPnP/TR-064 device description's model (`modelName`, else `friendlyName`, at most 80
/// characters) and every `<service>` in it: what both descriptions are read for.
pub fn device_and_services<'a>(
    doc: &'a Element,
    missing: &'static str,
) -> Result<(Option<String>, Vec<&'a Element>), &'static str> {
    let device = doc.child("device").ok_or(missing)?;
    let model = device
        .child_text("modelName")
        .or_else(|| device.child_text("friendlyName"))
        .filter(|m| !m.is_empty())
        .map(|m| m.chars().take(80).collect());
    let mut services = Vec::new();
    doc.descendants("service", &mut services);
    Ok((model, services))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_local_names_text_and_entities() {
        let doc = parse(
            "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"x\"><s:Body><u:R xmlns:u=\"y\">\
             <NewA>a &amp; b&#33;</NewA><NewB/></u:R></s:Body></s:Envelope>",
        )
        .unwrap();
        assert_eq!(doc.name, "Envelope");
        let r = doc.find("R").unwrap();
        assert_eq!(r.child_text("NewA"), Some("a & b!"));
        assert_eq!(r.child_text("NewB"), Some(""));
    }

    #[test]
    fn passwords_are_dropped_while_parsing() {
        let doc = parse(
            "<r><NewVoIPNumber>4930</NewVoIPNumber><NewVoIPPassword>s3cr<x>et</x></NewVoIPPassword>\
             <NewVoIPPassword/></r>",
        )
        .unwrap();
        assert_eq!(doc.children.len(), 1);
        assert!(!format!("{doc:?}").contains("s3cr"));
    }

    #[test]
    fn hostile_documents_are_errors_not_crashes() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
        let many = format!("<r>{}</r>", "<x/>".repeat(MAX_ELEMENTS + 1));
        assert_eq!(parse(&many), Err(XmlError::TooMany));
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse("<!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(parse(""), Err(XmlError::Empty));
        assert!(matches!(parse("<a/><b/>"), Err(XmlError::Malformed(_))));
    }
}
