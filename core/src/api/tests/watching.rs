//! watch: events in order, selector transitions, bookmarks, 410 Gone.

use serde_json::json;

use super::*;
use crate::api::WatchStream;
use crate::store::Store;

fn open(server: &mut ApiServer<MemoryStore>, path: &str) -> Box<WatchStream> {
    match server.handle(&ApiRequest::new(Method::Get, path), now()) {
        ApiResponse::Watch(stream) => stream,
        other => panic!("not a watch: {:?}", other.status()),
    }
}

fn types(frames: &[serde_json::Value]) -> Vec<String> {
    frames
        .iter()
        .map(|frame| {
            format!(
                "{} {}",
                frame["type"].as_str().unwrap(),
                frame["object"]["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn a_watch_from_a_list_revision_sees_later_changes_in_order() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({"app": "web"})));
    let (_, list) = get(&mut server, "/api/v1/namespaces/default/pods");
    let revision = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let mut stream =
        open(&mut server, &format!("/api/v1/namespaces/default/pods?watch=true&resourceVersion={revision}"));
    post(&mut server, "/api/v1/namespaces/default/pods", pod("b", json!({"app": "web"})));
    send(&mut server, ApiRequest::new(Method::Delete, "/api/v1/namespaces/default/pods/a"));
    assert_eq!(types(&stream.poll(server.store())), ["ADDED b", "DELETED a"]);
    assert!(stream.poll(server.store()).is_empty());
}

#[test]
fn a_watch_without_a_revision_starts_with_the_current_objects() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({})));
    let mut stream = open(&mut server, "/api/v1/namespaces/default/pods?watch=1");
    assert_eq!(types(&stream.poll(server.store())), ["ADDED a"]);
}

#[test]
fn objects_entering_and_leaving_a_label_selection_are_added_and_deleted() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({"app": "db"})));
    let revision = server.store().current_revision();
    let mut stream = open(
        &mut server,
        &format!("/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&resourceVersion={revision}"),
    );
    let relabel = |value: &str| {
        ApiRequest::new(Method::Patch, "/api/v1/namespaces/default/pods/a").with_body(
            "application/merge-patch+json",
            json!({"metadata": {"labels": {"app": value}}}).to_string().into_bytes(),
        )
    };
    send(&mut server, relabel("web"));
    send(&mut server, relabel("web2"));
    assert_eq!(types(&stream.poll(server.store())), ["ADDED a", "DELETED a"]);
}

#[test]
fn bookmarks_only_when_allowed() {
    let mut server = server();
    let revision = server.store().current_revision();
    let plain = open(&mut server, &format!("/api/v1/pods?watch=1&resourceVersion={revision}"));
    assert!(plain.bookmark().is_none());
    let with = open(&mut server, &format!("/api/v1/pods?watch=1&resourceVersion={revision}&allowWatchBookmarks=true"));
    assert_eq!(with.bookmark().unwrap()["type"], "BOOKMARK");
}

#[test]
fn a_compacted_revision_ends_the_watch_with_410_gone() {
    let mut server = server();
    post(&mut server, "/api/v1/namespaces/default/pods", pod("a", json!({})));
    let current = server.store().current_revision();
    server.store_mut().compact(current).unwrap();
    // As kube-apiserver: the watch is accepted and its first (and last) event is the 410 ERROR.
    let mut watch = open(&mut server, "/api/v1/pods?watch=1&resourceVersion=1");
    let frames = watch.poll(server.store());
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["type"], "ERROR");
    assert_eq!(frames[0]["object"]["code"], 410, "{frames:?}");
    assert_eq!(frames[0]["object"]["reason"], "Expired");
    assert!(watch.finished, "the stream ends after the ERROR");
}
