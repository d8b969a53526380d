//! Reading feed documents with a real XML reader (quick-xml): the XML 1.0 rules feed parsers
//! forgive, and the elements a test looks at.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// The entities XML predefines; any other named reference is undeclared.
const PREDEFINED: [(&str, char); 5] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
];

/// One element as read: its qualified name, attributes (unescaped) and text (references
/// resolved, CDATA included, child elements' text too).
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub text: String,
}

impl Element {
    /// An attribute's value, or "" when absent.
    pub fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map_or("", String::as_str)
    }
}

/// Reads `doc` whole: every element with its attributes and text, in document order, or what
/// makes it not well-formed XML 1.0 (a forbidden character, raw or as a reference, an undeclared
/// entity, a `<` in an attribute value, `]]>` in text, mismatched or unclosed tags, not exactly
/// one root, text outside it).
pub fn read(doc: &str) -> Result<Vec<Element>, String> {
    if let Some((at, c)) = doc
        .char_indices()
        .find(|(_, c)| gazette::normalize::text::is_forbidden(*c))
    {
        return Err(format!(
            "forbidden character U+{:04X} at byte {at}",
            u32::from(c)
        ));
    }
    let mut reader = Reader::from_str(doc);
    reader.config_mut().check_end_names = true;
    let mut elements: Vec<Element> = Vec::new();
    // Indexes into `elements` of the open ones.
    let mut open: Vec<usize> = Vec::new();
    let mut roots = 0;
    let text_outside = |open: &[usize], text: &str| {
        if open.is_empty() && !text.trim().is_empty() {
            Err(format!("text outside the root: {text:?}"))
        } else {
            Ok(())
        }
    };
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {at}: {e}"))?;
        match event {
            Event::Start(start) => {
                if open.is_empty() {
                    roots += 1;
                }
                elements.push(element(&start, at)?);
                open.push(elements.len() - 1);
            }
            Event::Empty(start) => {
                if open.is_empty() {
                    roots += 1;
                }
                elements.push(element(&start, at)?);
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(text) => {
                let text = text.xml10_content();
                text_outside(&open, &text)?;
                if text.contains("]]>") {
                    return Err("`]]>` in text".into());
                }
                push_text(&mut elements, &open, &text);
            }
            Event::CData(data) => {
                let data: &str = &data;
                let data = data.to_string();
                text_outside(&open, &data)?;
                push_text(&mut elements, &open, &data);
            }
            Event::GeneralRef(reference) => {
                let c = resolve(&reference)?;
                text_outside(&open, "&")?;
                push_text(&mut elements, &open, &c.to_string());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        let names: Vec<&str> = open.iter().map(|i| elements[*i].name.as_str()).collect();
        return Err(format!("unclosed elements {names:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(elements)
}

/// A start tag's name and attributes, each value checked and unescaped.
fn element(start: &quick_xml::events::BytesStart<'_>, at: u64) -> Result<Element, String> {
    let mut element = Element {
        name: start.name().as_ref().to_string(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("at byte {at}: {e}"))?;
        let raw = attr.value.to_string();
        if raw.contains('<') {
            return Err(format!("`<` in an attribute value: {raw:?}"));
        }
        check_references(&raw)?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("at byte {at}: {e}"))?;
        element
            .attrs
            .insert(attr.key.as_ref().to_string(), value.into_owned());
    }
    Ok(element)
}

fn push_text(elements: &mut [Element], open: &[usize], text: &str) {
    for i in open {
        elements[*i].text.push_str(text);
    }
}

/// The character a reference stands for; an undeclared entity or a reference to a character
/// XML forbids is an error.
fn resolve(reference: &quick_xml::events::BytesRef<'_>) -> Result<char, String> {
    let name: &str = reference;
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if !gazette::normalize::text::is_forbidden(c) => Ok(c),
            _ => Err(format!("reference `&{name};` to a forbidden character")),
        };
    }
    PREDEFINED
        .iter()
        .find(|(entity, _)| *entity == name)
        .map(|(_, c)| *c)
        .ok_or_else(|| format!("entity `&{name};` is not declared in XML"))
}

/// The references in a raw attribute value, each checked as in text.
fn check_references(raw: &str) -> Result<(), String> {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        rest = &rest[amp + 1..];
        let semi = rest
            .find(';')
            .ok_or_else(|| format!("a bare `&` in an attribute: {raw:?}"))?;
        resolve(&quick_xml::events::BytesRef::new(&rest[..semi]))?;
        rest = &rest[semi + 1..];
    }
    Ok(())
}

/// Reads `doc`, panicking with the document when it is not well-formed.
pub fn elements(name: &str, doc: &str) -> Vec<Element> {
    read(doc)
        .unwrap_or_else(|e| panic!("{name}: not well-formed XML: {e}\n--- document ---\n{doc}"))
}
