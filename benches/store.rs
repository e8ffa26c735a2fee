//! Benchmarks of the in-memory store against its targets: ≥ 200,000 small-object writes per
//! second on one thread, one write fanned out to 1,000 watchers in ≤ 100 µs, and a labelled
//! list over 150,000 pods in ≤ 50 ms (by label selector, which the store answers from its label
//! index; the same list through an opaque predicate is measured beside it).

use std::hint::black_box;

use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::selector::label::LabelSelector;
use coxswain_core::store::{ListOptions, MemoryStore, Store, WatchCursor, WatchRequest, WatchStart};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const PODS: GroupResource = GroupResource { group: "", resource: "pods" };
const CONFIGMAPS: GroupResource = GroupResource { group: "", resource: "configmaps" };

fn config_map(index: usize) -> Object {
    Object::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("config-{index}"), "namespace": format!("namespace-{}", index % 10)},
        "data": {"key": "value"},
    }))
    .expect("valid object")
}

fn pod(index: usize) -> Object {
    Object::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("pod-{index}"), "namespace": format!("namespace-{}", index % 50),
            "labels": {"app": format!("app-{}", index % 100), "tier": "web"},
        },
        "spec": {"containers": [{"name": "main", "image": "nginx"}], "nodeName": format!("node-{}", index % 1000)},
    }))
    .expect("valid object")
}

fn writes(criterion: &mut Criterion) {
    const WRITES: usize = 10_000;
    let objects: Vec<Object> = (0..WRITES).map(config_map).collect();
    let mut group = criterion.benchmark_group("store_writes");
    group.throughput(Throughput::Elements(WRITES as u64));
    group.bench_function("create_10k_small_objects", |bencher| {
        bencher.iter_batched(
            || (MemoryStore::new(), objects.clone()),
            |(mut store, objects)| {
                for object in objects {
                    black_box(store.create(CONFIGMAPS, object).expect("create"));
                }
                store
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn fan_out(criterion: &mut Criterion) {
    const WATCHERS: usize = 1_000;
    let mut store = MemoryStore::new();
    store.create(CONFIGMAPS, config_map(0)).expect("create");
    let request =
        WatchRequest { resource: CONFIGMAPS, namespace: None, start: WatchStart::After(store.current_revision()) };
    let mut cursors: Vec<WatchCursor> = (0..WATCHERS).map(|_| store.watch(&request).expect("watch")).collect();
    let mut next =
        store.get(&coxswain_core::store::ObjectKey::new(CONFIGMAPS, "namespace-0", "config-0")).expect("get");
    // One buffer for every poll, as a shell reuses it: a poll then allocates nothing.
    let mut events = Vec::new();
    criterion.bench_function("store_one_write_to_1000_watchers", |bencher| {
        bencher.iter(|| {
            let mut object = Object::clone(&next);
            object.metadata.resource_version = None;
            next = store.update(CONFIGMAPS, object).expect("update");
            let current = store.current_revision();
            let mut delivered = 0;
            for cursor in &mut cursors {
                if cursor.has_pending(current) {
                    events.clear();
                    delivered += store.poll_watch_into(cursor, &mut events).expect("poll");
                }
            }
            assert_eq!(delivered, WATCHERS);
        });
    });
}

fn labelled_list(criterion: &mut Criterion) {
    const PODS_COUNT: usize = 150_000;
    let mut store = MemoryStore::new();
    for index in 0..PODS_COUNT {
        store.create(PODS, pod(index)).expect("create");
    }
    // As the API server lists `?labelSelector=app=app-7,tier=web`: the store sees the selector.
    let selector = LabelSelector::parse("app=app-7,tier=web").expect("selector");
    criterion.bench_function("store_labelled_list_150k_pods", |bencher| {
        bencher.iter(|| {
            let options = ListOptions { label_selector: Some(&selector), ..ListOptions::all() };
            let list = store.list(PODS, black_box(&options)).expect("list");
            assert_eq!(list.items.len(), PODS_COUNT / 100);
            list
        });
    });
    // The same list through an opaque predicate, which the store can only test on every object.
    let selected = |object: &Object| object.label("app") == Some("app-7") && object.label("tier") == Some("web");
    criterion.bench_function("store_predicate_list_150k_pods", |bencher| {
        bencher.iter(|| {
            let options = ListOptions { predicate: Some(&selected), ..ListOptions::all() };
            let list = store.list(PODS, black_box(&options)).expect("list");
            assert_eq!(list.items.len(), PODS_COUNT / 100);
            list
        });
    });
}

criterion_group!(benches, writes, fan_out, labelled_list);
criterion_main!(benches);
