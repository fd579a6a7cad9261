//! The little markup of the lessons and captions, turned into HTML: paragraphs separated
//! by blank lines (a line break inside one is a space, so the texts can be indented raw
//! strings), lists whose items start with `- `, `` `code` ``, and LaTeX between `$` signs, rendered as MathML (by `pulldown-latex`) so that a browser shows it without
//! scripts, fonts from the network or images.

use pulldown_latex::config::DisplayMode;
use pulldown_latex::{Parser, RenderConfig, Storage, push_mathml};

use crate::{ExampleError, Result};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// LaTeX as MathML, inline or as a display (block) equation, with the LaTeX kept as an
/// annotation (screen readers and copy-paste get the source).
///
/// # Errors
/// [`ExampleError::Usage`] naming the LaTeX if it does not parse.
pub fn mathml(latex: &str, display: bool) -> Result<String> {
    let storage = Storage::new();
    let events: Vec<_> = Parser::new(latex, &storage)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| ExampleError::Usage(format!("LaTeX {latex:?}: {e}")))?;
    // pulldown-latex writes the annotation as it is given: escape it here
    let source = escape(latex);
    let config = RenderConfig {
        display_mode: if display {
            DisplayMode::Block
        } else {
            DisplayMode::Inline
        },
        annotation: Some(&source),
        ..RenderConfig::default()
    };
    let mut out = String::new();
    push_mathml(
        &mut out,
        events.into_iter().map(Ok::<_, pulldown_latex::ParserError>),
        config,
    )
    .map_err(|e| ExampleError::Usage(format!("LaTeX {latex:?}: {e}")))?;
    Ok(out)
}

/// One line or paragraph of text: runs of white space made one space, HTML-escaped, with
/// `` `code` `` and `$math$`.
///
/// # Errors
/// If a `$` or a backtick is not closed, or the LaTeX does not parse.
pub fn inline(text: &str) -> Result<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(['$', '`']) {
        out.push_str(&escape(&rest[..start]));
        let delimiter = &rest[start..=start];
        let after = &rest[start + 1..];
        let end = after
            .find(delimiter)
            .ok_or_else(|| ExampleError::Usage(format!("unclosed {delimiter} in {text:?}")))?;
        let inner = &after[..end];
        if delimiter == "$" {
            out.push_str(&mathml(inner, false)?);
        } else {
            out.push_str(&format!("<code>{}</code>", escape(inner)));
        }
        rest = &after[end + 1..];
    }
    out.push_str(&escape(rest));
    Ok(out)
}

/// Blocks of text as HTML: paragraphs (`<p>`), and lists (`<ul>`) for blocks whose first
/// line starts with `- ` (each such line starts an item; other lines continue it). Blocks
/// are separated by blank lines; a line break inside a block is a space.
///
/// # Errors
/// As [`inline`].
pub fn blocks(text: &str) -> Result<String> {
    let mut out = String::new();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for block in lines.split(|l| l.is_empty()).filter(|b| !b.is_empty()) {
        if block[0].starts_with("- ") {
            let mut items: Vec<String> = Vec::new();
            for line in block {
                match (line.strip_prefix("- "), items.last_mut()) {
                    (Some(item), _) => items.push(item.to_string()),
                    (None, Some(last)) => {
                        last.push(' ');
                        last.push_str(line);
                    }
                    (None, None) => items.push((*line).to_string()),
                }
            }
            out.push_str("<ul>");
            for item in items {
                out.push_str(&format!("<li>{}</li>", inline(&item)?));
            }
            out.push_str("</ul>\n");
        } else {
            out.push_str(&format!("<p>{}</p>\n", inline(&block.join(" "))?));
        }
    }
    Ok(out)
}

/// The text without its markup: math and code kept as written, without delimiters, white
/// space made single spaces (for `alt` attributes and the terminal).
pub fn plain(text: &str) -> String {
    text.replace(['$', '`'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_becomes_mathml_and_text_is_escaped() {
        let html = inline("if $a < b$ then `x<y` & z").unwrap();
        assert!(html.starts_with("if <math"), "{html}");
        assert!(html.contains("<code>x&lt;y</code> &amp; z"), "{html}");
        assert!(!html.contains("merror"), "{html}");
        let cases = mathml(r"\begin{cases} 1 & z \ge 0 \\ 0 & z < 0 \end{cases}", false).unwrap();
        assert!(
            cases.contains("z &lt; 0") && !cases.contains("z < 0"),
            "{cases}"
        );
        let display = mathml(r"\frac{1}{m}\sum_i x_i", true).unwrap();
        assert!(
            display.contains("display=\"block\"") && display.contains("<mfrac>"),
            "{display}"
        );
    }

    #[test]
    fn bad_markup_is_an_error_not_a_broken_page() {
        assert!(inline("a $b").is_err());
        assert!(inline("a `b").is_err());
        assert!(mathml(r"\frac{1}{", true).is_err());
    }

    #[test]
    fn blocks_make_paragraphs_and_lists() {
        let html = blocks("  One\n  line.\n\n  - first\n    item\n  - second\n").unwrap();
        assert_eq!(
            html,
            "<p>One line.</p>\n<ul><li>first item</li><li>second</li></ul>\n"
        );
        assert_eq!(plain("see $W_2 W_1$ and `fit`"), "see W_2 W_1 and fit");
    }
}
