//! LSP types in: positions, edits, capabilities, settings payloads.

use serde_json::Value;
use tower_lsp_server::ls_types::{
    ClientCapabilities, MarkupKind, Position, PositionEncodingKind, TextDocumentContentChangeEvent,
};

use super::documents::Edit;
use crate::line_index::{Encoding, LineCol};

pub fn line_col(p: Position) -> LineCol {
    LineCol { line: p.line, col: p.character }
}

pub fn edit(change: TextDocumentContentChangeEvent) -> Edit {
    Edit { range: change.range.map(|r| (line_col(r.start), line_col(r.end))), text: change.text }
}

/// UTF-16 unless the client offers only UTF-8 and/or UTF-32 (then UTF-8 is preferred: it is
/// free to convert).
pub fn encoding(caps: &ClientCapabilities) -> Encoding {
    let offered = caps.general.as_ref().and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(list) if !list.is_empty() && !list.contains(&PositionEncodingKind::UTF16) => {
            if list.contains(&PositionEncodingKind::UTF8) {
                Encoding::Utf8
            } else if list.contains(&PositionEncodingKind::UTF32) {
                Encoding::Utf32
            } else {
                Encoding::Utf16
            }
        }
        _ => Encoding::Utf16,
    }
}

/// Whether the client renders Markdown in hovers (`textDocument.hover.contentFormat`; a client
/// that declares no list is assumed to, as the specification's default order puts Markdown
/// first in practice).
pub fn markdown_hover(caps: &ClientCapabilities) -> bool {
    let formats = caps.text_document.as_ref().and_then(|t| t.hover.as_ref()).and_then(|h| h.content_format.as_ref());
    formats.is_none_or(|f| f.contains(&MarkupKind::Markdown))
}

/// Whether the client renders Markdown in completion documentation
/// (`textDocument.completion.completionItem.documentationFormat`, as for hovers).
pub fn markdown_completion(caps: &ClientCapabilities) -> bool {
    let formats = caps
        .text_document
        .as_ref()
        .and_then(|t| t.completion.as_ref())
        .and_then(|c| c.completion_item.as_ref())
        .and_then(|i| i.documentation_format.as_ref());
    formats.is_none_or(|f| f.contains(&MarkupKind::Markdown))
}

/// Whether the client takes an `InsertReplaceEdit` in completion items
/// (`textDocument.completion.completionItem.insertReplaceSupport`).
pub fn insert_replace(caps: &ClientCapabilities) -> bool {
    caps.text_document
        .as_ref()
        .and_then(|t| t.completion.as_ref())
        .and_then(|c| c.completion_item.as_ref())
        .and_then(|i| i.insert_replace_support)
        .unwrap_or(false)
}

/// Whether the client renders `synergy/status` itself (`capabilities.experimental.synergyStatus`).
pub fn shows_status(caps: &ClientCapabilities) -> bool {
    caps.experimental.as_ref().and_then(|e| e.get("synergyStatus")).and_then(Value::as_bool).unwrap_or(false)
}

/// A settings payload as a `Config`-shaped object: accepts `{"synergy": {…}}` or `{…}` itself.
/// An empty array counts as "no settings": Lua clients encode an empty table that way.
pub fn settings(value: Option<Value>) -> Option<Value> {
    match value? {
        Value::Array(a) if a.is_empty() => None,
        Value::Object(mut obj) => match obj.remove("synergy") {
            Some(inner @ Value::Object(_)) => Some(inner),
            Some(_) | None if obj.is_empty() => None,
            _ => Some(Value::Object(obj)),
        },
        Value::Null => None,
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tower_lsp_server::ls_types::GeneralClientCapabilities;

    #[test]
    fn negotiates_encoding() {
        let caps = |list: Option<Vec<PositionEncodingKind>>| ClientCapabilities {
            general: Some(GeneralClientCapabilities { position_encodings: list, ..Default::default() }),
            ..Default::default()
        };
        use PositionEncodingKind as K;
        assert_eq!(encoding(&caps(None)), Encoding::Utf16);
        assert_eq!(encoding(&caps(Some(vec![K::UTF8, K::UTF16]))), Encoding::Utf16);
        assert_eq!(encoding(&caps(Some(vec![K::UTF32, K::UTF8]))), Encoding::Utf8);
        assert_eq!(encoding(&caps(Some(vec![K::UTF32]))), Encoding::Utf32);
    }

    #[test]
    fn settings_shapes() {
        assert_eq!(settings(Some(json!({"synergy": {"a": 1}}))), Some(json!({"a": 1})));
        assert_eq!(settings(Some(json!({"a": 1}))), Some(json!({"a": 1})));
        assert_eq!(settings(Some(json!({}))), None);
        assert_eq!(settings(Some(Value::Null)), None);
        // Neovim sends an empty Lua table as `[]`.
        assert_eq!(settings(Some(json!([]))), None);
        assert_eq!(settings(Some(json!({"synergy": []}))), None);
    }
}
