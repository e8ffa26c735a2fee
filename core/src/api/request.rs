//! Request and response values: what an HTTP request to the API server carries, and what the
//! answer is, as plain data. The HTTP server and the simulator both build these; neither decides
//! anything about them.

use serde_json::Value;

use super::watch::WatchStream;

/// The HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET: get, list, watch.
    Get,
    /// POST: create.
    Post,
    /// PUT: update.
    Put,
    /// PATCH: patch.
    Patch,
    /// DELETE: delete, deletecollection.
    Delete,
}

impl Method {
    /// Parses an HTTP method name; `None` for methods the API server does not serve.
    pub fn parse(name: &str) -> Option<Method> {
        match name.to_ascii_uppercase().as_str() {
            "GET" | "HEAD" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    /// The method's HTTP name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One API request.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The path, without the query (`/api/v1/namespaces/default/pods`).
    pub path: String,
    /// The query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers; names compare case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A JSON value as compact JSON bytes: the text `value.to_string()` gives, written straight into
/// the buffer rather than through `Display`'s formatter (which cost as much again).
pub fn to_json_bytes(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail: its map keys are strings.
    serde_json::to_vec(value).unwrap_or_default()
}

impl ApiRequest {
    /// A request with no query, headers or body.
    pub fn new(method: Method, path: &str) -> ApiRequest {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        ApiRequest { method, path: path.to_string(), query: parse_query(query), headers: Vec::new(), body: Vec::new() }
    }

    /// The same request with a JSON body and `Content-Type: application/json`.
    pub fn with_json(self, body: &Value) -> ApiRequest {
        self.with_body("application/json", to_json_bytes(body))
    }

    /// The same request with a body of the given content type.
    pub fn with_body(mut self, content_type: &str, body: Vec<u8>) -> ApiRequest {
        self.headers.push(("Content-Type".into(), content_type.into()));
        self.body = body;
        self
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> ApiRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// The value of one `Warning` header for a warning's text, as kube-apiserver writes it: code
/// 299, agent `-`, the text quoted as Go's `strconv.Quote` does (`299 - "unknown field \"x\""`).
/// kubectl prints each such header as `Warning: <text>`; a bare text is not shown.
pub fn warning_header_value(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 8);
    quoted.push_str("299 - \"");
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            control if control.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(control))),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// The answer to a request.
#[derive(Debug)]
pub enum ApiResponse {
    /// A complete JSON answer.
    Json {
        /// HTTP status code.
        status: u16,
        /// The body.
        body: Value,
        /// `Warning` headers (`299 - "unknown field ..."`), as Kubernetes sends them.
        warnings: Vec<String>,
        /// Other headers the shell must send, such as `Retry-After` on a 429.
        headers: Vec<(String, String)>,
    },
    /// A complete JSON answer already encoded: a Table of thousands of rows is written straight
    /// to bytes, since building it as a [`Value`] first cost more than the rows themselves.
    /// Only answers no component reads (Tables for kubectl) take this form.
    Encoded {
        /// HTTP status code.
        status: u16,
        /// The body, JSON text.
        body: Vec<u8>,
    },
    /// A watch: the shell keeps the connection open and polls the stream for events.
    Watch(Box<WatchStream>),
}

impl ApiResponse {
    /// A JSON answer with no warnings.
    pub fn json(status: u16, body: Value) -> ApiResponse {
        ApiResponse::Json { status, body, warnings: Vec::new(), headers: Vec::new() }
    }

    /// A JSON answer with `Warning` headers.
    pub fn with_warnings(status: u16, body: Value, warnings: Vec<String>) -> ApiResponse {
        ApiResponse::Json { status, body, warnings, headers: Vec::new() }
    }

    /// The answer to a failed request: its `Status`, with the headers that go with it.
    pub fn error(error: &super::status::ApiError) -> ApiResponse {
        ApiResponse::Json {
            status: error.code(),
            body: error.to_status(),
            warnings: Vec::new(),
            headers: error.headers(),
        }
    }

    /// The first value of a response header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self {
            ApiResponse::Json { headers, .. } => {
                headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
            }
            ApiResponse::Encoded { .. } | ApiResponse::Watch(_) => None,
        }
    }

    /// The status code (200 for a watch).
    pub fn status(&self) -> u16 {
        match self {
            ApiResponse::Json { status, .. } | ApiResponse::Encoded { status, .. } => *status,
            ApiResponse::Watch(_) => 200,
        }
    }

    /// The JSON body, if this is a [`ApiResponse::Json`] answer.
    pub fn body(&self) -> Option<&Value> {
        match self {
            ApiResponse::Json { body, .. } => Some(body),
            ApiResponse::Encoded { .. } | ApiResponse::Watch(_) => None,
        }
    }

    /// The status and JSON body of any answer but a watch, decoding an encoded one (tests and
    /// in-process readers that want one shape).
    pub fn into_json(self) -> Result<(u16, Value), Box<WatchStream>> {
        match self {
            ApiResponse::Json { status, body, .. } => Ok((status, body)),
            ApiResponse::Encoded { status, body } => {
                Ok((status, serde_json::from_slice(&body).expect("an encoded answer is JSON the server wrote")))
            }
            ApiResponse::Watch(stream) => Err(stream),
        }
    }
}

/// Splits and percent-decodes a query string (`a=1&b=x%2Cy`); `+` is a space.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+`; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        decoded.push(byte);
                        index += 2;
                    }
                    None => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `TestNewWarningHeader`-style rows (`staging/src/k8s.io/apimachinery/pkg/util/net/http_test.go`).
    #[test]
    fn warnings_are_quoted_as_kube_apiserver_sends_them() {
        assert_eq!(warning_header_value("unknown field \"spec.x\""), r#"299 - "unknown field \"spec.x\"""#);
        assert_eq!(warning_header_value("a\\b\nc"), r#"299 - "a\\b\nc""#);
    }

    #[test]
    fn queries_are_split_and_decoded() {
        let query = parse_query("labelSelector=app%3Dweb%2Ctier+in+%28a%29&limit=500&watch");
        assert_eq!(
            query,
            vec![
                ("labelSelector".to_string(), "app=web,tier in (a)".to_string()),
                ("limit".to_string(), "500".to_string()),
                ("watch".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn headers_compare_case_insensitively() {
        let request = ApiRequest::new(Method::Get, "/api?x=1").with_header("Accept", "application/json");
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(request.query_param("x"), Some("1"));
    }
}
