//! `reports/index.html`: one self-contained page (inline CSS and JS, no network).

use super::{Counts, Report};
use std::fmt::Write;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}
td.l,th.l{text-align:left}
table.sum td:first-child{min-width:26em}
.bar{display:flex;width:240px;height:12px;background:#f3f3f3;border:1px solid #ccc}
.bar span{display:block;height:100%}
.passing{background:#2e9d4c}.partial{background:#a4d65e}.failing{background:#d33}.stub{background:#999}
.unmapped{background:#e8e8e8}.not_applicable{background:#9bc1e6}
.pill{padding:0 6px;border-radius:8px;font-size:12px;color:#fff}
.pill.unmapped{color:#333}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
#filters{margin:1em 0}#filters input{width:28em}
#tests td{font-family:ui-monospace,monospace;font-size:12px}
#tests td.msg{max-width:40em;white-space:pre-wrap;word-break:break-word;font-family:inherit}
";

const SCRIPT: &str = "
function applyFilter(){
  var q=document.getElementById('q').value.toLowerCase();
  var st=document.getElementById('status').value;
  var kd=document.getElementById('kind').value;
  var rows=document.querySelectorAll('#tests tbody tr');var shown=0;
  for(var i=0;i<rows.length;i++){
    var r=rows[i];
    var ok=(!st||r.dataset.status===st)&&(!kd||r.dataset.kind===kd)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);
    r.style.display=ok?'':'none';if(ok)shown++;
  }
  document.getElementById('shown').textContent=shown+' shown';
}
// A link ending in #q=WORDS opens the table filtered by WORDS.
if(location.hash.indexOf('#q=')===0){
  document.getElementById('q').value=decodeURIComponent(location.hash.slice(3));applyFilter();
}
";

fn bar(c: &Counts) -> String {
    let total = f64::from(c.total.max(1));
    let mut out = String::from("<div class=\"bar\">");
    for (class, n) in [
        ("passing", c.passing),
        ("partial", c.partial),
        ("failing", c.failing),
        ("stub", c.stub),
        ("not_applicable", c.not_applicable),
        ("unmapped", c.unmapped),
    ] {
        if n > 0 {
            let _ = write!(
                out,
                "<span class=\"{class}\" style=\"width:{:.3}%\" title=\"{n} {class}\"></span>",
                f64::from(n) * 100.0 / total
            );
        }
    }
    out.push_str("</div>");
    out
}

fn summary_row(out: &mut String, label: &str, c: &Counts) {
    let _ = writeln!(
        out,
        "<tr><td class=\"l\">{label}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        bar(c),
        c.total,
        c.passing,
        c.partial,
        c.failing,
        c.stub,
        c.unmapped,
        c.not_applicable,
        c.percent_text()
    );
}

const SUMMARY_HEAD: &str = "<table class=\"sum\"><thead><tr><th class=\"l\"></th><th class=\"l\">progress</th><th>total</th><th>passing</th><th>partial</th><th>failing</th><th>stub</th><th>unmapped</th><th>n/a</th><th>parity</th></tr></thead><tbody>\n";

pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(r.tests.len() * 300 + 20_000);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>natsd parity with nats-server {tag}</title><style>{STYLE}</style></head><body>\n\
         <h1>natsd parity with nats-server {tag}</h1>\n\
         <p>Upstream commit <code>{commit}</code>. Parity = passing / (total &minus; not applicable), over <code>Test*</code> functions; a partial port (one that checks only part of its Go test) never counts as passing.",
        tag = escape(&r.upstream.tag),
        commit = escape(&r.upstream.commit)
    );
    if let Some(run) = &r.latest_run {
        let _ = write!(
            out,
            " Latest run: revision <code>{}</code>, {} passed, {} failed, {} ignored.",
            escape(&run.git_revision),
            run.passed,
            run.failed,
            run.ignored
        );
    }
    out.push_str("</p>\n<p class=\"legend\">");
    for s in [
        "passing",
        "partial",
        "failing",
        "stub",
        "not_applicable",
        "unmapped",
    ] {
        let _ = write!(out, "<span class=\"{s}\"></span>{s}");
    }
    out.push_str("</p>\n<h2>Tracks</h2>\n");
    out.push_str(SUMMARY_HEAD);
    for t in &r.tracks {
        summary_row(
            &mut out,
            &format!(
                "<a href=\"#track-{}\">{}. {}</a>",
                t.slug,
                t.number,
                escape(&t.title)
            ),
            &t.counts,
        );
    }
    summary_row(&mut out, "<b>all tests</b>", &r.totals);
    summary_row(&mut out, "benchmarks", &r.benchmarks);
    summary_row(&mut out, "fuzz", &r.fuzz);
    out.push_str("</tbody></table>\n");
    for t in &r.tracks {
        let _ = writeln!(
            out,
            "<h2 id=\"track-{}\">{}. {}</h2>",
            t.slug,
            t.number,
            escape(&t.title)
        );
        out.push_str(SUMMARY_HEAD);
        for path in &t.files {
            if let Some(f) = r.file(path) {
                if f.counts.total > 0 {
                    summary_row(
                        &mut out,
                        &format!("<code>{}</code>", escape(path)),
                        &f.counts,
                    );
                }
            }
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str(
        "<h2 id=\"all\">Every Go test</h2>\n<div id=\"filters\">\
         <input id=\"q\" type=\"search\" placeholder=\"search id, Rust file, message\" oninput=\"applyFilter()\"> \
         <select id=\"status\" onchange=\"applyFilter()\"><option value=\"\">any status</option>\
         <option>passing</option><option>partial</option><option>failing</option><option>stub</option>\
         <option>unmapped</option><option>not_applicable</option></select> \
         <select id=\"kind\" onchange=\"applyFilter()\"><option value=\"\">any kind</option>\
         <option>test</option><option>benchmark</option><option>fuzz</option></select> ",
    );
    let _ = writeln!(
        out,
        "<span id=\"shown\">{} shown</span></div>",
        r.tests.len()
    );
    out.push_str(
        "<table id=\"tests\"><thead><tr><th class=\"l\">Go test</th><th class=\"l\">kind</th>\
         <th class=\"l\">track</th><th class=\"l\">status</th><th class=\"l\">Rust</th>\
         <th class=\"l\">message</th></tr></thead><tbody>\n",
    );
    for t in &r.tests {
        let status = t.status.as_str();
        let mut msg = t.message.clone();
        if let Some(what) = &t.partial {
            if !msg.is_empty() {
                msg.push_str("; ");
            }
            msg.push_str("partial: ");
            msg.push_str(what);
        }
        if let Some(why) = &t.opt_in {
            if !msg.is_empty() {
                msg.push_str("; ");
            }
            msg.push_str("opt-in: ");
            msg.push_str(why);
        }
        let _ = writeln!(
            out,
            "<tr data-status=\"{status}\" data-kind=\"{kind}\"><td class=\"l\">{id}:{line}</td><td class=\"l\">{kind}</td>\
             <td class=\"l\">{track}</td><td class=\"l\"><span class=\"pill {status}\">{status}</span></td>\
             <td class=\"l\">{rust}</td><td class=\"l msg\">{msg}</td></tr>",
            kind = escape(&t.kind),
            id = escape(&t.id),
            line = t.line,
            track = escape(t.track.as_deref().unwrap_or("")),
            rust = escape(t.rust_location.as_deref().unwrap_or("")),
            msg = escape(&msg),
        );
    }
    let _ = write!(
        out,
        "</tbody></table>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}
