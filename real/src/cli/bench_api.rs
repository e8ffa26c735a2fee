//! `cox bench api`: a load generator for a running `cox server` (or any Kubernetes API server),
//! from a second process over loopback, as the `cox server` issue measures it: request latency
//! at a fixed open-loop rate (half creates, half gets), one write fanned out to many open
//! watches, and a kubectl-style paged Table list of many pods.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use coxswain_core::api::{ApiRequest, Method};
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

use crate::client::connector::TcpConnector;
use crate::client::http::HttpClient;

/// Arguments of `cox bench api`.
#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// The API server's address.
    #[arg(long, default_value = "127.0.0.1:6443")]
    server: SocketAddr,
    /// Requests per second, half creates and half gets, sent on schedule whatever the answers'
    /// latency (open loop, so a slow server cannot hide its queueing).
    #[arg(long, default_value_t = 1_000)]
    rate: u32,
    /// How long to send at that rate.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Watches to hold open for the fan-out measurement.
    #[arg(long, default_value_t = 1_000)]
    watches: usize,
    /// Pods to create, then list as `kubectl get pods` does.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
}

/// How many writes back the rate phase's reads look.
const READ_LAG: u64 = 100;

/// Connections the rate phase sends on (kept alive, as clients keep them).
const CONNECTIONS: usize = 64;

/// Runs the benchmark; returns the exit status.
pub fn run(arguments: &ApiBenchArgs, output: &mut dyn Write) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(output, "error: cannot start the async runtime: {error}");
            return 1;
        }
    };
    match runtime.block_on(bench(arguments, output)) {
        Ok(()) => 0,
        Err(message) => {
            let _ = writeln!(output, "error: {message}");
            1
        }
    }
}

async fn bench(arguments: &ApiBenchArgs, output: &mut dyn Write) -> Result<(), String> {
    let client = HttpClient::new(Arc::new(TcpConnector::new(arguments.server)), Duration::from_secs(30));
    let run = std::process::id();
    let namespace = format!("bench-{run}");
    let created = client
        .send(
            &ApiRequest::new(Method::Post, "/api/v1/namespaces")
                .with_json(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})),
        )
        .await
        .map_err(|error| error.to_string())?;
    if created.status != 201 {
        return Err(format!("creating namespace {namespace}: {} {}", created.status, created.body));
    }

    let (writes, reads, failures) = rate_phase(&client, &namespace, arguments.rate, arguments.seconds).await;
    let _ = writeln!(
        output,
        "requests at {}/s for {} s: writes {} (p50 {}, p99 {}, max {}), reads {} (p50 {}, p99 {}, max {}), {failures} failed",
        arguments.rate,
        arguments.seconds,
        writes.len(),
        percentile(&writes, 50),
        percentile(&writes, 99),
        percentile(&writes, 100),
        reads.len(),
        percentile(&reads, 50),
        percentile(&reads, 99),
        percentile(&reads, 100),
    );

    let fan_out = fan_out_phase(&client, &namespace, arguments.watches).await?;
    let _ = writeln!(
        output,
        "watch fan-out to {} watches: {} deliveries, p50 {}, p99 {}, max {}",
        arguments.watches,
        fan_out.len(),
        percentile(&fan_out, 50),
        percentile(&fan_out, 99),
        percentile(&fan_out, 100),
    );

    let (pages, elapsed) = list_phase(&client, &namespace, arguments.pods).await?;
    let _ = writeln!(
        output,
        "list {} pods as a Table, {pages} pages of 500 (kubectl get pods): {}",
        arguments.pods,
        format_duration(elapsed)
    );
    let _ = client.send(&ApiRequest::new(Method::Delete, &format!("/api/v1/namespaces/{namespace}"))).await;
    Ok(())
}

async fn rate_phase(
    client: &HttpClient,
    namespace: &str,
    rate: u32,
    seconds: u64,
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let (jobs, queue) = mpsc::unbounded_channel::<(Instant, ApiRequest, bool)>();
    let queue = Arc::new(Mutex::new(queue));
    let (results, mut collected) = mpsc::unbounded_channel::<(bool, Option<Duration>)>();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let queue = Arc::clone(&queue);
        let results = results.clone();
        let mut session = client.session();
        workers.push(tokio::spawn(async move {
            loop {
                let job = queue.lock().await.recv().await;
                let Some((scheduled, request, write)) = job else { return };
                let answered = session.send(&request).await;
                let ok = answered.is_ok_and(|answer| (200..300).contains(&answer.status));
                let _ = results.send((write, ok.then(|| scheduled.elapsed())));
            }
        }));
    }
    drop(results);
    let seed = ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/configmaps"))
        .with_json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "load-seed"}}));
    let _ = client.send(&seed).await;
    let total = u64::from(rate) * seconds;
    let interval = Duration::from_secs(1) / rate.max(1);
    let start = Instant::now();
    for index in 0..total {
        let scheduled = start + interval * u32::try_from(index).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled.into()).await;
        let name = format!("load-{}", index / 2);
        let write = index % 2 == 0;
        let request = if write {
            ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/configmaps")).with_json(
                &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}),
            )
        } else {
            // Read an object written well before (or the one made up front), never one whose
            // create may still be in flight.
            let target =
                (index / 2).checked_sub(READ_LAG).map_or_else(|| "load-seed".to_string(), |old| format!("load-{old}"));
            ApiRequest::new(Method::Get, &format!("/api/v1/namespaces/{namespace}/configmaps/{target}"))
        };
        let _ = jobs.send((scheduled, request, write));
    }
    drop(jobs);
    let (mut writes, mut reads, mut failures) = (Vec::new(), Vec::new(), 0);
    while let Some((write, latency)) = collected.recv().await {
        match (write, latency) {
            (true, Some(latency)) => writes.push(latency),
            (false, Some(latency)) => reads.push(latency),
            (_, None) => failures += 1,
        }
    }
    for worker in workers {
        let _ = worker.await;
    }
    (writes, reads, failures)
}

/// Writes made while the watches are open, one at a time.
const FAN_OUT_WRITES: usize = 20;

async fn fan_out_phase(client: &HttpClient, namespace: &str, watches: usize) -> Result<Vec<Duration>, String> {
    let list = client
        .send(&ApiRequest::new(Method::Get, &format!("/api/v1/namespaces/{namespace}/secrets")))
        .await
        .map_err(|error| error.to_string())?;
    let revision = list.body["metadata"]["resourceVersion"].as_str().unwrap_or("0").to_string();
    let (arrivals, mut arrived) = mpsc::unbounded_channel::<(String, Instant)>();
    let mut opened = Vec::new();
    for _ in 0..watches {
        let request = ApiRequest::new(
            Method::Get,
            &format!("/api/v1/namespaces/{namespace}/secrets?watch=true&resourceVersion={revision}"),
        );
        let mut frames = match client.watch(&request).await {
            Ok(Ok(frames)) => frames,
            Ok(Err(answer)) => return Err(format!("a watch was refused: {} {}", answer.status, answer.body)),
            Err(error) => return Err(format!("opening a watch failed: {error}")),
        };
        let arrivals = arrivals.clone();
        opened.push(tokio::spawn(async move {
            while let Some(frame) = frames.next().await {
                if let Some(name) = frame["object"]["metadata"]["name"].as_str()
                    && arrivals.send((name.to_string(), Instant::now())).is_err()
                {
                    return;
                }
            }
        }));
    }
    drop(arrivals);
    let mut latencies = Vec::with_capacity(watches * FAN_OUT_WRITES);
    for index in 0..FAN_OUT_WRITES {
        let name = format!("fan-out-{index}");
        let sent = Instant::now();
        let answer = client
            .send(
                &ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/secrets"))
                    .with_json(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}})),
            )
            .await
            .map_err(|error| error.to_string())?;
        if answer.status != 201 {
            return Err(format!("write {name}: {} {}", answer.status, answer.body));
        }
        let mut received = 0;
        while received < watches {
            let Ok(Some((seen, at))) = tokio::time::timeout(Duration::from_secs(30), arrived.recv()).await else {
                return Err(format!("only {received} of {watches} watches delivered {name} within 30 s"));
            };
            if seen == name {
                received += 1;
                latencies.push(at.duration_since(sent));
            }
        }
    }
    for watch in opened {
        watch.abort();
    }
    Ok(latencies)
}

async fn list_phase(client: &HttpClient, namespace: &str, pods: usize) -> Result<(usize, Duration), String> {
    let mut creating = Vec::new();
    let per_connection = pods.div_ceil(CONNECTIONS);
    for connection in 0..CONNECTIONS {
        let mut session = client.session();
        let namespace = namespace.to_string();
        creating.push(tokio::spawn(async move {
            for index in connection * per_connection..((connection + 1) * per_connection).min(pods) {
                let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("pod-{index}"),
                    "labels": {"app": "bench"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
                let request =
                    ApiRequest::new(Method::Post, &format!("/api/v1/namespaces/{namespace}/pods")).with_json(&pod);
                match session.send(&request).await {
                    Ok(answer) if answer.status == 201 => {}
                    Ok(answer) => return Err(format!("creating a pod: {} {}", answer.status, answer.body)),
                    Err(error) => return Err(error.to_string()),
                }
            }
            Ok(())
        }));
    }
    for task in creating {
        task.await.map_err(|error| error.to_string())??;
    }
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let started = Instant::now();
    let mut pages = 0;
    let mut continue_token = String::new();
    loop {
        let mut path = format!("/api/v1/namespaces/{namespace}/pods?limit=500");
        if !continue_token.is_empty() {
            path.push_str(&format!("&continue={continue_token}"));
        }
        let mut request = ApiRequest::new(Method::Get, &path);
        request.headers.push(("Accept".into(), table.into()));
        let answer = client.send(&request).await.map_err(|error| error.to_string())?;
        if answer.status != 200 {
            return Err(format!("listing pods: {} {}", answer.status, answer.body));
        }
        pages += 1;
        continue_token = answer.body["metadata"]["continue"].as_str().unwrap_or("").to_string();
        if continue_token.is_empty() {
            break;
        }
    }
    Ok((pages, started.elapsed()))
}

fn percentile(samples: &[Duration], percent: usize) -> String {
    if samples.is_empty() {
        return "n/a".to_string();
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let index = (sorted.len() * percent).div_ceil(100).clamp(1, sorted.len()) - 1;
    format_duration(sorted[index])
}

fn format_duration(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}
