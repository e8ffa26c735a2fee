//! Event names that never collide. client-go names an event `<object>.<unix nanoseconds in
//! hex>`, so two events about one object at the same instant (two syncs, or a node going Unknown
//! and its pods' writes) get one name and the second create is refused. The namer keeps the
//! Kubernetes form and, for an object already named at that nanosecond or later, takes the next
//! nanosecond instead: deterministic, and unique for everything one recorder names.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

/// Hands out `<object>.<hex nanoseconds>` names, never the same one twice.
#[derive(Clone, Debug, Default)]
pub struct EventNamer {
    /// The newest nanosecond used per object name; entries older than the current instant can
    /// no longer collide and are dropped when time moves on.
    last_used: BTreeMap<String, i128>,
    instant: Option<Timestamp>,
}

impl EventNamer {
    /// A namer that has named nothing.
    pub fn new() -> EventNamer {
        EventNamer::default()
    }

    /// A fresh name for an event about `object_name` recorded at `now`.
    pub fn name(&mut self, object_name: &str, now: Timestamp) -> String {
        let nanos = now.as_nanosecond();
        if self.instant != Some(now) {
            self.instant = Some(now);
            self.last_used.retain(|_, last| *last >= nanos);
        }
        let chosen = match self.last_used.get(object_name) {
            Some(last) if *last >= nanos => last.saturating_add(1),
            _ => nanos,
        };
        self.last_used.insert(object_name.to_owned(), chosen);
        format!("{object_name}.{chosen:x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_events_about_one_object_at_one_instant_get_two_names() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let mut namer = EventNamer::new();
        let first = namer.name("web", now);
        let second = namer.name("web", now);
        assert_eq!(first, format!("web.{:x}", now.as_nanosecond()), "the Kubernetes form");
        assert_eq!(second, format!("web.{:x}", now.as_nanosecond() + 1));
        assert_eq!(namer.name("db", now), format!("db.{:x}", now.as_nanosecond()), "other objects are unaffected");
        let next = now + k8s_openapi::jiff::SignedDuration::from_nanos(1);
        assert_eq!(namer.name("web", next), format!("web.{:x}", now.as_nanosecond() + 2), "still after the bump");
        let later = now + k8s_openapi::jiff::SignedDuration::from_secs(1);
        assert_eq!(namer.name("web", later), format!("web.{:x}", later.as_nanosecond()));
        assert_eq!(namer.last_used.len(), 1, "only the current instant's names are remembered");
    }
}
