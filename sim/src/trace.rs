//! The trace of a run: one JSON object per line, in the order things happened, and a SHA-256
//! over every line. The same scenario, seed and build give byte-identical lines and the same
//! hash, which is how determinism is checked and how two runs are compared.

use std::io::{self, Write};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::duration::format_offset;

/// Where trace lines go besides the hash.
pub struct Trace {
    hasher: Sha256,
    lines: u64,
    sink: Option<Box<dyn Write>>,
    sink_error: Option<io::Error>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Trace").field("lines", &self.lines).finish_non_exhaustive()
    }
}

impl Trace {
    /// A trace that is only hashed.
    pub fn hashed() -> Trace {
        Trace { hasher: Sha256::new(), lines: 0, sink: None, sink_error: None }
    }

    /// A trace hashed and written to `sink`.
    pub fn to_writer(sink: Box<dyn Write>) -> Trace {
        Trace { sink: Some(sink), ..Trace::hashed() }
    }

    /// Records one line: `{"t": "HH:MM:SS.mmm", "<kind>": …, fields…}`.
    pub fn record(&mut self, millis: u64, kind: &str, detail: Value, fields: Map<String, Value>) {
        let mut line = Map::new();
        line.insert("t".into(), Value::String(format_offset(millis)));
        line.insert(kind.into(), detail);
        line.extend(fields);
        let mut text = coxswain_core::api::to_json_bytes(&Value::Object(line));
        text.push(b'\n');
        self.hasher.update(&text);
        self.lines += 1;
        if let Some(sink) = &mut self.sink
            && self.sink_error.is_none()
            && let Err(error) = sink.write_all(&text)
        {
            self.sink_error = Some(error);
        }
    }

    /// Lines recorded.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Flushes the sink and returns the hash of every line, in hex; an error if the sink failed.
    pub fn finish(mut self) -> io::Result<String> {
        if let Some(error) = self.sink_error.take() {
            return Err(error);
        }
        if let Some(sink) = &mut self.sink {
            sink.flush()?;
        }
        Ok(self.hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

/// Builds the extra fields of a trace line from pairs.
#[macro_export]
macro_rules! fields {
    ($($key:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = serde_json::Map::new();
        $(map.insert($key.to_string(), serde_json::json!($value));)*
        map
    }};
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_same_lines_hash_the_same_and_any_difference_changes_the_hash() {
        let run = |path: &str| {
            let mut trace = Trace::hashed();
            trace.record(1_500, "request", json!("PUT /api/v1/nodes/a"), fields! {"status" => 200});
            trace.record(2_000, "request", json!(path), fields! {});
            trace.finish().expect("no sink")
        };
        assert_eq!(run("GET /a"), run("GET /a"));
        assert_ne!(run("GET /a"), run("GET /b"));
        assert_eq!(run("GET /a").len(), 64);
    }

    #[test]
    fn lines_are_json_with_time_first() {
        let buffer = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut trace = Trace::to_writer(Box::new(Shared(buffer.clone())));
        trace.record(61_001, "fault", json!("crashNode"), fields! {"node" => "pool-1"});
        trace.finish().expect("written");
        assert_eq!(
            String::from_utf8(buffer.borrow().clone()).expect("utf-8"),
            "{\"t\":\"00:01:01.001\",\"fault\":\"crashNode\",\"node\":\"pool-1\"}\n"
        );
    }
}
