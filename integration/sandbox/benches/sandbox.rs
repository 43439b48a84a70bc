//! Benchmarks, printed as plain figures (no harness): server-side apply of 10,000 objects
//! through the kube client, and 500 sandboxes in one process. Memory is VmRSS from
//! /proc/self/status. Run with `cargo bench -p flotilla-sandbox`; `SANDBOX_BENCH_OBJECTS`
//! and `SANDBOX_BENCH_SANDBOXES` override the counts.

use std::time::Instant;

use futures::{stream, StreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::{Client, Config};
use serde_json::json;

use flotilla_sandbox::Sandbox;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn client(sb: &Sandbox) -> anyhow::Result<Client> {
    let kc = Kubeconfig::from_yaml(&sb.kubeconfig_yaml())?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

fn configmap(i: usize) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": format!("cm-{i}"), "namespace": "bench", "labels": {"app": "bench", "shard": (i % 10).to_string()}},
           "data": {"index": i.to_string(), "payload": "x".repeat(64)}})
}

async fn apply_many(n: usize) -> anyhow::Result<()> {
    let sb = Sandbox::start().await?;
    let c = client(&sb).await?;
    let ns: Api<DynamicObject> = Api::all_with(
        c.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace")),
    );
    let pp = PatchParams::apply("flotilla").force();
    ns.patch(
        "bench",
        &pp,
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
        ),
    )
    .await?;
    let api: Api<DynamicObject> = Api::namespaced_with(
        c,
        "bench",
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    let before = rss_kib();
    for (label, round) in [("create", 0), ("re-apply (no-op)", 1)] {
        let start = Instant::now();
        let results: Vec<_> = stream::iter(0..n)
            .map(|i| {
                let (api, pp) = (api.clone(), pp.clone());
                async move {
                    api.patch(&format!("cm-{i}"), &pp, &Patch::Apply(configmap(i)))
                        .await
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "ssa {label}: {n} objects in {secs:.2} s ({:.0} applies/s, 16 in flight), {failed} failed, round {round}",
            n as f64 / secs
        );
    }
    println!(
        "ssa: store holds {} objects; RSS {} MiB -> {} MiB",
        sb.store().len(),
        before / 1024,
        rss_kib() / 1024
    );
    sb.shutdown().await;
    println!("ssa: RSS {} MiB after shutdown", rss_kib() / 1024);
    Ok(())
}

async fn many_sandboxes(n: usize) -> anyhow::Result<()> {
    let before = rss_kib();
    let start = Instant::now();
    let mut sandboxes = Vec::with_capacity(n);
    for _ in 0..n {
        sandboxes.push(Sandbox::start().await?);
    }
    let started = start.elapsed().as_secs_f64();
    let after_start = rss_kib();
    let start = Instant::now();
    for sb in &sandboxes {
        let c = client(sb).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(
            c,
            "default",
            &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
        );
        api.patch(
            "hello",
            &PatchParams::apply("flotilla"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hello", "namespace": "default"}, "data": {"k": "v"}})),
        )
        .await?;
    }
    let used = start.elapsed().as_secs_f64();
    let after_use = rss_kib();
    println!(
        "sandboxes: started {n} in {started:.2} s ({:.1} ms each)",
        started * 1000.0 / n as f64
    );
    println!(
        "sandboxes: RSS {} MiB -> {} MiB after start ({:.1} KiB each)",
        before / 1024,
        after_start / 1024,
        after_start.saturating_sub(before) as f64 / n as f64
    );
    println!(
        "sandboxes: one client + one apply on each took {used:.2} s; RSS {} MiB ({:.1} KiB each incl. clients' connections)",
        after_use / 1024,
        after_use.saturating_sub(before) as f64 / n as f64
    );
    for sb in sandboxes {
        sb.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let objects = count("SANDBOX_BENCH_OBJECTS", if quick { 50 } else { 10_000 });
    let sandboxes = count("SANDBOX_BENCH_SANDBOXES", if quick { 5 } else { 500 });
    println!(
        "flotilla-sandbox bench ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    // Sandboxes first: RSS rarely shrinks after a big run, which would hide their cost.
    many_sandboxes(sandboxes).await?;
    apply_many(objects).await?;
    Ok(())
}
