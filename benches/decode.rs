//! Benchmarks of decoding pods.
//!
//! `decode_pods_json`: the API server's create path against its target of ≥ 50,000 pods per
//! second on one thread: a realistic Pod JSON request body parsed, decoded strictly as a Pod
//! (unknown fields noted for `fieldValidation=Warn`), defaulted and validated, as
//! `ApiServer::create` does before admission and the store.
//!
//! `decode_pods`: `cox validate`'s path: a multi-document YAML stream of realistic pods read with
//! `read_manifest`, then defaulted and validated per object. YAML reading is bound by
//! serde-saphyr. The stages are also measured apart (reading alone; defaulting and validation
//! alone; and `locate`, the re-parse that only the error path pays) to show where the time goes.
//!
//! Both paths run in the `cox` binary, whose allocator is mimalloc; the bench uses it too, so
//! that its figures are the server's and the CLI's.

use std::fmt::Write as _;
use std::hint::black_box;

use coxswain_core::api::{ApiRequest, FieldValidation, Method, decode_body};
use coxswain_core::manifest::{ManifestEntry, locate, read_manifest, split_documents};
use coxswain_core::object::Object;
use coxswain_core::object::defaults::apply_defaults;
use coxswain_core::object::kinds::{ResourceType, by_api_version_kind};
use coxswain_core::object::validation::validate_create;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// The allocator of the `cox` binary (see `real/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pods per stream.
const PODS: usize = 1_000;

/// One pod as people write them: labels, two containers with resources, ports, env and probes,
/// and volumes.
fn pod_yaml(index: usize) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: web-{index}
  namespace: team-{team}
  labels:
    app: web
    tier: frontend
    release: r{release}
  annotations:
    example.com/owner: team-{team}
spec:
  containers:
  - name: web
    image: registry.example.com/web:1.{release}.0
    args: ["--port=8080", "--log-level=info"]
    ports:
    - name: http
      containerPort: 8080
      protocol: TCP
    env:
    - name: MODE
      value: production
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    resources:
      requests:
        cpu: 250m
        memory: 256Mi
      limits:
        cpu: "1"
        memory: 512Mi
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
      initialDelaySeconds: 5
      periodSeconds: 10
    livenessProbe:
      tcpSocket:
        port: 8080
      failureThreshold: 3
    volumeMounts:
    - name: config
      mountPath: /etc/web
      readOnly: true
    - name: cache
      mountPath: /var/cache/web
  - name: sidecar
    image: registry.example.com/proxy:2.4
    ports:
    - containerPort: 9090
      name: metrics
    env:
    - name: UPSTREAM
      value: "127.0.0.1:8080"
    resources:
      requests:
        cpu: 50m
        memory: 64Mi
      limits:
        cpu: 100m
        memory: 128Mi
    livenessProbe:
      exec:
        command: ["/bin/proxy", "check"]
      periodSeconds: 20
  volumes:
  - name: config
    configMap:
      name: web-config
  - name: cache
    emptyDir:
      sizeLimit: 1Gi
  restartPolicy: Always
  terminationGracePeriodSeconds: 30
"#,
        team = index % 7,
        release = index % 13,
    )
}

fn pod_stream(count: usize) -> String {
    let mut stream = String::new();
    for index in 0..count {
        let _ = write!(stream, "---\n{}", pod_yaml(index));
    }
    stream
}

/// Defaults and validates one read object as `cox validate` does; returns how many errors it has.
fn default_and_validate(mut object: Object) -> usize {
    apply_defaults(&mut object).expect("a pod decodes");
    validate_create(&object).len()
}

fn decoded(entries: Vec<ManifestEntry>) -> impl Iterator<Item = Object> {
    entries.into_iter().map(|entry| match entry {
        ManifestEntry::Decoded { object, .. } => object,
        other => panic!("every pod decodes: {other:?}"),
    })
}

fn decode(criterion: &mut Criterion) {
    let stream = pod_stream(PODS);
    let entries = read_manifest("pods.yaml", stream.as_bytes()).expect("read");
    assert_eq!(entries.len(), PODS);
    let objects: Vec<Object> = decoded(entries).collect();
    assert!(objects.iter().cloned().all(|object| default_and_validate(object) == 0), "every pod is valid");

    let mut group = criterion.benchmark_group("decode_pods");
    group.throughput(Throughput::Elements(PODS as u64));
    group.sample_size(20);
    group.bench_function("read_default_validate_1000_pods", |bencher| {
        bencher.iter(|| {
            let entries = read_manifest("pods.yaml", black_box(stream.as_bytes())).expect("read");
            let errors: usize = decoded(entries).map(default_and_validate).sum();
            assert_eq!(errors, 0);
        });
    });
    group.bench_function("stage_read_manifest_1000_pods", |bencher| {
        bencher.iter(|| read_manifest("pods.yaml", black_box(stream.as_bytes())).expect("read"));
    });
    group.bench_function("stage_default_validate_1000_pods", |bencher| {
        bencher.iter_batched(
            || objects.clone(),
            |objects| objects.into_iter().map(default_and_validate).sum::<usize>(),
            BatchSize::LargeInput,
        );
    });
    let documents = split_documents(&stream);
    group.bench_function("stage_locate_per_document_1000_pods", |bencher| {
        bencher.iter(|| documents.iter().filter_map(|document| locate(black_box(document.text), "")).count());
    });
    group.finish();
}

/// A create request for `pod`, its body encoded as a client (kubectl, client-go) sends it.
fn create_request(pod: &Object) -> ApiRequest {
    let body = serde_json::to_vec(pod).expect("a pod encodes");
    ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{}/pods", pod.namespace()))
        .with_body("application/json", body)
}

/// Decodes, defaults and validates one create body as `ApiServer::create` does before
/// admission (`decode_body` defaults as it decodes); returns how many validation errors and
/// unknown-field warnings it has.
fn decode_default_validate_json(pods: &'static ResourceType, request: &ApiRequest) -> usize {
    let (object, warnings) = decode_body(pods, request, FieldValidation::Warn).expect("a pod decodes");
    validate_create(&object).len() + warnings.len()
}

fn decode_json(criterion: &mut Criterion) {
    let pods = by_api_version_kind("v1", "Pod").expect("pods are served");
    let entries = read_manifest("pods.yaml", pod_stream(PODS).as_bytes()).expect("read");
    let requests: Vec<ApiRequest> = decoded(entries).map(|pod| create_request(&pod)).collect();
    assert!(requests.iter().all(|request| decode_default_validate_json(pods, request) == 0), "every pod is valid");

    let mut group = criterion.benchmark_group("decode_pods_json");
    group.throughput(Throughput::Elements(PODS as u64));
    group.sample_size(20);
    group.bench_function("json_decode_default_validate_1000_pods", |bencher| {
        bencher.iter(|| {
            let errors: usize =
                requests.iter().map(|request| decode_default_validate_json(pods, black_box(request))).sum();
            assert_eq!(errors, 0);
        });
    });
    group.bench_function("json_stage_decode_default_1000_pods", |bencher| {
        bencher.iter(|| {
            for request in &requests {
                black_box(decode_body(pods, black_box(request), FieldValidation::Warn).expect("a pod decodes"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, decode_json, decode);
criterion_main!(benches);
