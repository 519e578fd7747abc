//! `/metrics`: the numbers of `/varz`, `/connz`, `/subsz` and `/routez` in the Prometheus
//! text format, named as prometheus-nats-exporter names them (`gnatsd_<endpoint>_<field>`,
//! labelled with `server_id`), so existing dashboards work without the exporter.

use super::{connz, misc, subsz, varz, ConnzOptions, SubszOptions};
use crate::server::ServerShared;
use serde::Serialize;
use std::fmt::Write as _;

/// Renders every metric.
pub fn render(s: &ServerShared) -> String {
    let mut out = String::new();
    let id = s.id.as_str();
    write_numbers(&mut out, "gnatsd_varz", id, &varz::varz(s));
    if let Ok(c) = connz::connz(s, &ConnzOptions::default()) {
        let summary = serde_json::json!({
            "num_connections": c.num_conns,
            "total": c.total,
            "offset": c.offset,
            "limit": c.limit,
        });
        write_numbers(&mut out, "gnatsd_connz", id, &summary);
    }
    if let Ok(sz) = subsz::subsz(s, &SubszOptions::default()) {
        write_numbers(&mut out, "gnatsd_subsz", id, &sz.stats);
    }
    let rz = misc::routez(s);
    write_numbers(
        &mut out,
        "gnatsd_routez",
        id,
        &serde_json::json!({ "num_routes": rz.num_routes }),
    );
    out
}

/// Writes each top-level number of `v`'s JSON as a gauge `<prefix>_<field>`.
fn write_numbers<T: Serialize>(out: &mut String, prefix: &str, server_id: &str, v: &T) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(v) else {
        return;
    };
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort();
    for name in names {
        let Some(n) = fields.get(name).and_then(|v| v.as_f64()) else {
            continue;
        };
        let metric = format!("{prefix}_{name}");
        let _ = writeln!(out, "# HELP {metric} {name}");
        let _ = writeln!(out, "# TYPE {metric} gauge");
        let _ = writeln!(
            out,
            "{metric}{{server_id=\"{}\"}} {}",
            escape_label(server_id),
            fmt_value(n)
        );
    }
}

fn fmt_value(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_gauges() {
        let mut out = String::new();
        write_numbers(
            &mut out,
            "gnatsd_varz",
            "ID\"1",
            &serde_json::json!({"connections": 3, "cpu": 0.5, "name": "x"}),
        );
        assert_eq!(
            out,
            "# HELP gnatsd_varz_connections connections\n\
             # TYPE gnatsd_varz_connections gauge\n\
             gnatsd_varz_connections{server_id=\"ID\\\"1\"} 3\n\
             # HELP gnatsd_varz_cpu cpu\n\
             # TYPE gnatsd_varz_cpu gauge\n\
             gnatsd_varz_cpu{server_id=\"ID\\\"1\"} 0.5\n"
        );
    }
}
