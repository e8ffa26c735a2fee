//! Watch streams arrive in order: every frame a component receives on one watch carries a
//! higher resourceVersion than the one before (bookmarks included, never lower).

use std::collections::BTreeMap;

use coxswain_core::client::RequestId;
use serde_json::Value;

use super::Violation;
use crate::engine::hosts::HostId;

/// The last resourceVersion each open watch delivered.
#[derive(Debug, Default)]
pub struct WatchOrder {
    last: BTreeMap<(HostId, RequestId), u64>,
}

impl WatchOrder {
    /// Checks one frame as it is delivered.
    pub fn frame(
        &mut self,
        host: HostId,
        id: RequestId,
        frame: &Value,
        host_name: &str,
        now: u64,
    ) -> Option<Violation> {
        let kind = frame.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind == "ERROR" {
            return None;
        }
        // `get`, not `pointer`: a pointer allocates each of its tokens, on every frame.
        let version = frame
            .get("object")
            .and_then(|object| object.get("metadata"))
            .and_then(|metadata| metadata.get("resourceVersion"))
            .and_then(Value::as_str)
            .and_then(|text| text.parse::<u64>().ok())?;
        let last = self.last.entry((host, id)).or_insert(0);
        let in_order = if kind == "BOOKMARK" { version >= *last } else { version > *last };
        if !in_order {
            return Some(Violation {
                rule: "watch streams are ordered",
                message: format!(
                    "{host_name} received a {kind} frame at resourceVersion {version} after {} on watch {id}",
                    *last
                ),
                objects: Vec::new(),
                at: now,
            });
        }
        *last = version;
        None
    }

    /// Forgets a watch that ended.
    pub fn closed(&mut self, host: HostId, id: RequestId) {
        self.last.remove(&(host, id));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn frame(kind: &str, version: u64) -> Value {
        json!({"type": kind, "object": {"metadata": {"resourceVersion": version.to_string()}}})
    }

    #[test]
    fn a_frame_older_than_the_last_one_is_a_violation() {
        let mut order = WatchOrder::default();
        let host = HostId(1);
        assert_eq!(order.frame(host, 7, &frame("ADDED", 5), "node-0", 0), None);
        assert_eq!(order.frame(host, 7, &frame("BOOKMARK", 5), "node-0", 0), None);
        assert_eq!(order.frame(host, 7, &frame("MODIFIED", 6), "node-0", 0), None);
        let violation = order.frame(host, 7, &frame("MODIFIED", 6), "node-0", 9).expect("a repeat");
        assert_eq!(violation.rule, "watch streams are ordered");
        order.closed(host, 7);
        assert_eq!(order.frame(host, 7, &frame("ADDED", 2), "node-0", 0), None);
    }
}
