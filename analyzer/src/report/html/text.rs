//! Text that reaches the page: escaped, clipped, named.

use super::*;

/// Characters shown as `\u{..}` escapes: controls (but newline and tab), bidi controls, line
/// separators and invisible formatting characters, which could hide or reorder what a reader sees.
pub(super) fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// Text escaped for HTML text and attribute contexts (`& < > " '` as entities) with [`hidden`]
/// characters shown as escapes.
pub(super) struct Esc<'a>(pub(super) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let rep: Option<&str> = match c {
                '&' => Some("&amp;"),
                '<' => Some("&lt;"),
                '>' => Some("&gt;"),
                '"' => Some("&quot;"),
                '\'' => Some("&#39;"),
                c if hidden(c) => None,
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            match rep {
                Some(r) => f.write_str(r)?,
                None => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            start = i + c.len_utf8();
        }
        f.write_str(&s[start..])
    }
}

/// At most `n` characters of `s`, with `…` when cut.
pub(super) fn clip(s: &str, n: usize) -> Cow<'_, str> {
    match s.char_indices().nth(n) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let end = s
                .char_indices()
                .nth(n.saturating_sub(1))
                .map_or(s.len(), |(i, _)| i);
            Cow::Owned(format!("{}…", &s[..end]))
        }
    }
}

/// At most `n` characters of the end of `s`, with `…` when cut (for paths).
pub(super) fn clip_tail(s: &str, n: usize) -> Cow<'_, str> {
    let count = s.chars().count();
    if count <= n {
        return Cow::Borrowed(s);
    }
    let skip = count - n.saturating_sub(1);
    let start = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("…{}", &s[start..]))
}

pub(super) fn sev_name(s: Severity) -> &'static str {
    s.as_str()
}

pub(super) fn edge_name(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Forked => "forked",
        EdgeKind::Executed => "executed",
        EdgeKind::Read => "read",
        EdgeKind::Wrote => "wrote",
        EdgeKind::Deleted => "deleted",
        EdgeKind::Renamed => "renamed",
        EdgeKind::Chmod => "chmod",
        EdgeKind::Touched => "touched",
        EdgeKind::Connected => "connected",
        EdgeKind::Bound => "bound",
        EdgeKind::SentTo => "sent to",
        EdgeKind::Accepted => "accepted",
        EdgeKind::Resolved => "resolved",
    }
}

/// `command-and-control` -> `Command and Control`.
pub(super) fn tactic_title(short: &str) -> String {
    short
        .split('-')
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && w == "and" {
                w.to_string()
            } else {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

pub(super) fn basename(p: &str) -> &str {
    p.rsplit('/').find(|s| !s.is_empty()).unwrap_or(p)
}

/// A technique id, linked to its attack.mitre.org page when it is in the catalogue (the URL comes
/// from the catalogue, never from the report).
pub(super) fn technique_link(o: &mut String, id: &str) {
    match mitre_mapping::lookup(id) {
        Some(t) => {
            let _ = write!(
                o,
                "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\" title=\"{}\">{}</a>",
                Esc(t.url),
                Esc(&t.full_name()),
                Esc(id)
            );
        }
        None => {
            let _ = write!(o, "<code>{}</code>", Esc(id));
        }
    }
}
