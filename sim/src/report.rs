//! The run report: samples of the cluster over time (pods per node, ready replicas per
//! workload), faults, violations and the scheduler's placements, rendered as one self-contained
//! HTML page with inline SVG (no scripts, nothing fetched).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use coxswain_core::object::kinds::GroupResource;
use coxswain_core::scheduler::Attempt;
use coxswain_core::store::Store;
use serde_json::Value;

use crate::checkers::liveness::{pointer, stored};
use crate::checkers::{SafetyChecker, Violation};
use crate::duration::format_offset;
use crate::outcome::Verdict;
use crate::scenario::{Fault, Scenario};

/// Most placements kept for the report's table.
pub const MAX_REPORTED_PLACEMENTS: usize = 2_000;

/// Most nodes drawn one row each; larger clusters are drawn as minimum, median and maximum.
pub const MAX_NODE_ROWS: usize = 40;

/// Most workloads drawn.
pub const MAX_WORKLOAD_LINES: usize = 24;

/// One placement decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// When.
    pub at: u64,
    /// `namespace/name`.
    pub pod: String,
    /// The node, or none when the pod did not fit.
    pub node: Option<String>,
    /// The scheduler's message (why not, or the decision's explanation).
    pub reason: String,
}

/// One sample of the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// When.
    pub at: u64,
    /// Pods bound to each node.
    pub pods_per_node: BTreeMap<String, i64>,
    /// Ready replicas of each workload (`deployment/ns/name`) and its desired count.
    pub workloads: BTreeMap<String, (i64, i64)>,
}

/// Collects what the report shows while the run goes on.
#[derive(Debug, Default)]
pub struct ReportRecorder {
    samples: Vec<Sample>,
    faults: Vec<(u64, String)>,
    violations: Vec<Violation>,
    placements: Vec<Placement>,
    placements_dropped: u64,
}

/// The report's data, once the run is over.
#[derive(Debug, Default)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The verdict, in words.
    pub verdict: String,
    /// Samples in time order.
    pub samples: Vec<Sample>,
    /// Faults with their times.
    pub faults: Vec<(u64, String)>,
    /// Violations.
    pub violations: Vec<Violation>,
    /// Placements (the first [`MAX_REPORTED_PLACEMENTS`]).
    pub placements: Vec<Placement>,
    /// Placements not kept.
    pub placements_dropped: u64,
}

impl ReportRecorder {
    /// Records a scheduling attempt.
    pub fn scheduling_attempt(&mut self, at: u64, pod: &str, attempt: &Attempt) {
        if self.placements.len() >= MAX_REPORTED_PLACEMENTS {
            self.placements_dropped += 1;
            return;
        }
        let reason = match (&attempt.message, &attempt.trace) {
            (Some(message), _) => message.clone(),
            (None, Some(trace)) => format!("{trace:?}"),
            (None, None) => "fits; highest score".to_string(),
        };
        self.placements.push(Placement { at, pod: pod.to_string(), node: attempt.node.clone(), reason });
    }

    /// Records a fault.
    pub fn fault(&mut self, at: u64, fault: &Fault) {
        self.faults.push((at, format!("{fault:?}")));
    }

    /// Records a violation.
    pub fn violation(&mut self, violation: &Violation) {
        self.violations.push(violation.clone());
    }

    /// Samples the cluster.
    pub fn sample<S: Store>(&mut self, at: u64, store: &S, safety: &SafetyChecker) {
        let mut workloads = BTreeMap::new();
        for (kind, resource, ready, desired) in [
            ("deployment", "deployments", "/status/readyReplicas", "/spec/replicas"),
            ("statefulset", "statefulsets", "/status/readyReplicas", "/spec/replicas"),
            ("daemonset", "daemonsets", "/status/numberReady", "/status/desiredNumberScheduled"),
        ] {
            for object in stored(store, GroupResource { group: "apps", resource }, None, "") {
                let number = |at: &str| pointer(&object, at).and_then(Value::as_i64).unwrap_or(0);
                let name = format!("{kind}/{}/{}", object.namespace(), object.name());
                workloads.insert(name, (number(ready), number(desired)));
            }
        }
        self.samples.push(Sample { at, pods_per_node: safety.pods_per_node(), workloads });
    }

    /// The data, once the run is over.
    pub fn finish(self, scenario: &Scenario, seed: u64, verdict: &Verdict) -> Report {
        Report {
            scenario: scenario.name.clone(),
            seed,
            verdict: verdict.describe(),
            samples: self.samples,
            faults: self.faults,
            violations: self.violations,
            placements: self.placements,
            placements_dropped: self.placements_dropped,
        }
    }
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 170.0;
const ROW: f64 = 14.0;

impl Report {
    /// The report as one HTML page; `trace_hash` is shown at the top.
    pub fn to_html(&self, trace_hash: &str) -> String {
        let mut html = String::new();
        let end = self.samples.last().map_or(1, |sample| sample.at.max(1));
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
            escape(&self.scenario)
        );
        let verdict_class = if self.verdict == "PASS" { "pass" } else { "fail" };
        let _ = write!(
            html,
            "<h1>{}</h1><p>seed {} · <span class=\"{verdict_class}\">{}</span> · trace-hash <code>{}</code></p>",
            escape(&self.scenario),
            self.seed,
            escape(&self.verdict),
            escape(trace_hash)
        );
        html.push_str("<h2>Pods per node</h2>\n");
        html.push_str(&self.nodes_svg(end));
        html.push_str("<h2>Ready replicas per workload</h2>\n");
        html.push_str(&self.workloads_svg(end));
        html.push_str(&self.events_list());
        html.push_str(&self.placements_table());
        html.push_str("</body></html>\n");
        html
    }

    fn x(&self, at: u64, end: u64) -> f64 {
        LEFT + (WIDTH - LEFT - 10.0) * at as f64 / end as f64
    }

    fn markers(&self, end: u64, height: f64) -> String {
        let mut svg = String::new();
        for (at, fault) in &self.faults {
            let x = self.x(*at, end);
            let _ = write!(
                svg,
                "<line class=\"fault\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"{height:.1}\"><title>{} {}</title></line>",
                format_offset(*at),
                escape(fault)
            );
        }
        for violation in &self.violations {
            let x = self.x(violation.at, end);
            let _ = write!(
                svg,
                "<line class=\"violation\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"{height:.1}\"><title>{} {}: {}</title></line>",
                format_offset(violation.at),
                escape(violation.rule),
                escape(&violation.message)
            );
        }
        svg
    }

    fn nodes_svg(&self, end: u64) -> String {
        let nodes: Vec<String> = self
            .samples
            .iter()
            .flat_map(|sample| sample.pods_per_node.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let max =
            self.samples.iter().flat_map(|sample| sample.pods_per_node.values().copied()).max().unwrap_or(0).max(1);
        let rows: Vec<(String, Vec<(u64, i64)>)> = if nodes.len() <= MAX_NODE_ROWS {
            nodes
                .iter()
                .map(|node| {
                    let series = self
                        .samples
                        .iter()
                        .map(|sample| (sample.at, *sample.pods_per_node.get(node).unwrap_or(&0)))
                        .collect();
                    (node.clone(), series)
                })
                .collect()
        } else {
            let statistic = |pick: fn(&[i64]) -> i64| {
                self.samples
                    .iter()
                    .map(|sample| {
                        let mut counts: Vec<i64> = sample.pods_per_node.values().copied().collect();
                        counts.sort_unstable();
                        (sample.at, if counts.is_empty() { 0 } else { pick(&counts) })
                    })
                    .collect::<Vec<_>>()
            };
            vec![
                ("max".to_string(), statistic(|counts| counts[counts.len() - 1])),
                ("median".to_string(), statistic(|counts| counts[counts.len() / 2])),
                ("min".to_string(), statistic(|counts| counts[0])),
            ]
        };
        let height = ROW * rows.len().max(1) as f64 + 20.0;
        let mut svg = format!("<svg width=\"{WIDTH}\" height=\"{height}\" role=\"img\">");
        for (row, (name, series)) in rows.iter().enumerate() {
            let y = ROW * row as f64;
            let _ = write!(svg, "<text x=\"0\" y=\"{:.1}\">{}</text>", y + ROW - 3.0, escape(name));
            for window in series.windows(2) {
                let ((from, count), (to, _)) = (window[0], window[1]);
                let (x1, x2) = (self.x(from, end), self.x(to, end));
                let shade = (count as f64 / max as f64 * 0.9 + 0.05).min(1.0);
                let _ = write!(
                    svg,
                    "<rect x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill-opacity=\"{shade:.2}\" class=\"cell\"><title>{name} {}: {count} pods</title></rect>",
                    (x2 - x1).max(0.5),
                    ROW - 2.0,
                    format_offset(from)
                );
            }
        }
        svg.push_str(&self.markers(end, height - 20.0));
        svg.push_str(&axis(end, height - 4.0));
        svg.push_str("</svg>\n");
        svg
    }

    fn workloads_svg(&self, end: u64) -> String {
        let names: Vec<String> = self
            .samples
            .iter()
            .flat_map(|sample| sample.workloads.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .take(MAX_WORKLOAD_LINES)
            .collect();
        let max = self
            .samples
            .iter()
            .flat_map(|sample| sample.workloads.values().map(|(ready, desired)| (*ready).max(*desired)))
            .max()
            .unwrap_or(0)
            .max(1);
        let plot = 200.0;
        let height = plot + 20.0 + ROW * names.len() as f64;
        let mut svg = format!("<svg width=\"{WIDTH}\" height=\"{height}\" role=\"img\">");
        let y = |count: i64| plot - plot * count as f64 / max as f64;
        let _ = write!(svg, "<text x=\"0\" y=\"12\">{max}</text><text x=\"0\" y=\"{plot}\">0</text>");
        for (index, name) in names.iter().enumerate() {
            let points: Vec<String> = self
                .samples
                .iter()
                .filter_map(|sample| {
                    sample
                        .workloads
                        .get(name)
                        .map(|(ready, _)| format!("{:.1},{:.1}", self.x(sample.at, end), y(*ready)))
                })
                .collect();
            let hue = (index * 47) % 360;
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"hsl({hue},70%,40%)\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
                points.join(" "),
                escape(name)
            );
            let _ = write!(
                svg,
                "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"hsl({hue},70%,40%)\">{}</text>",
                plot + 20.0 + ROW * (index as f64 + 1.0) - 3.0,
                escape(name)
            );
        }
        svg.push_str(&self.markers(end, plot));
        svg.push_str(&axis(end, plot + 14.0));
        svg.push_str("</svg>\n");
        svg
    }

    fn events_list(&self) -> String {
        let mut html = String::from("<h2>Faults and violations</h2>\n<ul>");
        for (at, fault) in &self.faults {
            let _ = write!(html, "<li>{} fault: {}</li>", format_offset(*at), escape(fault));
        }
        for violation in &self.violations {
            let _ = write!(
                html,
                "<li class=\"fail\">{} <b>{}</b>: {} ({})</li>",
                format_offset(violation.at),
                escape(violation.rule),
                escape(&violation.message),
                escape(&violation.objects.join(", "))
            );
        }
        if self.faults.is_empty() && self.violations.is_empty() {
            html.push_str("<li>none</li>");
        }
        html.push_str("</ul>\n");
        html
    }

    fn placements_table(&self) -> String {
        let mut html = String::from("<h2>Placements</h2>\n<table><tr><th>time</th><th>pod</th><th>node</th></tr>");
        for placement in &self.placements {
            let node = placement.node.as_deref().unwrap_or("(unschedulable)");
            let _ = write!(
                html,
                "<tr title=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&placement.reason),
                format_offset(placement.at),
                escape(&placement.pod),
                escape(node)
            );
        }
        html.push_str("</table>\n");
        if self.placements_dropped > 0 {
            let _ = writeln!(html, "<p>{} more placements not shown.</p>", self.placements_dropped);
        }
        html
    }
}

fn axis(end: u64, y: f64) -> String {
    let mut svg = String::new();
    for tick in 0..=4 {
        let at = end * tick / 4;
        let x = LEFT + (WIDTH - LEFT - 10.0) * tick as f64 / 4.0;
        let _ = write!(svg, "<text x=\"{x:.1}\" y=\"{y:.1}\" class=\"axis\">{}</text>", format_offset(at));
    }
    svg
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}svg{display:block;margin-bottom:1em;font-size:11px}\
.cell{fill:#2563eb}.fault{stroke:#d97706;stroke-width:2}.violation{stroke:#dc2626;stroke-width:3}\
.pass{color:#15803d;font-weight:bold}.fail{color:#dc2626;font-weight:bold}.axis{text-anchor:middle}\
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px}tr:hover{background:#fef3c7}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_escapes_what_it_shows() {
        let report = Report {
            scenario: "a <b> scenario".into(),
            seed: 7,
            verdict: "PASS".into(),
            samples: vec![
                Sample { at: 0, pods_per_node: BTreeMap::from([("n-0".into(), 1)]), workloads: BTreeMap::new() },
                Sample { at: 60_000, pods_per_node: BTreeMap::from([("n-0".into(), 2)]), workloads: BTreeMap::new() },
            ],
            faults: vec![(30_000, "CrashNode(\"n-0\")".into())],
            violations: Vec::new(),
            placements: vec![Placement {
                at: 1,
                pod: "default/p".into(),
                node: Some("n-0".into()),
                reason: "fits".into(),
            }],
            placements_dropped: 0,
        };
        let html = report.to_html("abc");
        assert!(html.contains("a &lt;b&gt; scenario"));
        assert!(html.contains("<svg") && html.contains("class=\"fault\""));
        assert!(html.contains("<tr title=\"fits\">"));
        assert!(!html.contains("<script") && !html.contains("http"));
    }
}
