//! The HTML of the report: escaping, the page's style sheet, and a table of text cells as HTML.
//! A leaf: every section uses it, it uses none of them.

use std::fmt::Write;

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}table{border-collapse:collapse;font-size:12.5px;margin:8px 0}
td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}th{background:#f6f6f6}
td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}.grid2{display:grid;grid-template-columns:repeat(2,600px);gap:12px 16px}
svg{background:#fff;border:1px solid #e4e4e4;border-radius:4px}svg .title{font-size:14px;font-weight:600;fill:#222}
svg .tick{font-size:11px;fill:#555}svg .axis{font-size:12px;fill:#333}svg .legend{font-size:11px;fill:#333}
svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#bbb}svg .band{fill:#009E73;fill-opacity:.12}
svg .marker{stroke:#D55E00;stroke-width:1.5;stroke-dasharray:4 3}svg .note{font-size:11px;fill:#444}svg .empty{fill:#999}
.pass{color:#0a7a3a;font-weight:600}.fail{color:#b00020;font-weight:600}.note{color:#555;font-size:12.5px}
"#;

/// An HTML table of text cells.
pub(super) fn html_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table><tr>");
    for c in header {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>");
    for cells in rows {
        h.push_str("<tr>");
        for c in cells {
            let _ = write!(h, "<td>{}</td>", esc(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}
