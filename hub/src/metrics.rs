//! The hub's Prometheus metrics, and the plain-HTTP endpoint that serves them
//! (`GET /metrics` in the OpenMetrics text format, `GET /healthz`).
//!
//! Metrics are counters and gauges updated where the work happens; reading them never
//! blocks the hub. The endpoint serves nothing but these two paths.

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

pub struct Metrics {
    registry: Registry,
    /// Bundles stored and pushed, per cluster.
    pub bundles_published: Family<ClusterLabel, Counter>,
    /// The newest generation built, per cluster.
    pub bundle_generation: Family<ClusterLabel, Gauge>,
    /// Agent sessions open now.
    pub agents_connected: Gauge,
    /// Fetches of a source, and how many of them failed.
    pub fetches: Family<SourceLabel, Counter>,
    pub fetch_failures: Family<SourceLabel, Counter>,
    /// Time to render and publish every cluster once.
    pub render_seconds: Histogram,
    /// Kustomize subtrees reused from, and built into, the render cache.
    pub render_cache_hits: Gauge,
    pub render_cache_misses: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("flotilla");
        let metrics = Metrics {
            bundles_published: Family::default(),
            bundle_generation: Family::default(),
            agents_connected: Gauge::default(),
            fetches: Family::default(),
            fetch_failures: Family::default(),
            render_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            render_cache_hits: Gauge::default(),
            render_cache_misses: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "bundles_published",
            "Bundles stored and pushed, per cluster",
            metrics.bundles_published.clone(),
        );
        registry.register(
            "bundle_generation",
            "Newest bundle generation built, per cluster",
            metrics.bundle_generation.clone(),
        );
        registry.register(
            "agents_connected",
            "Agent sessions open now",
            metrics.agents_connected.clone(),
        );
        registry.register(
            "source_fetches",
            "Fetches of a Git source",
            metrics.fetches.clone(),
        );
        registry.register(
            "source_fetch_failures",
            "Failed fetches of a Git source",
            metrics.fetch_failures.clone(),
        );
        registry.register(
            "render_seconds",
            "Time to render and publish every cluster once",
            metrics.render_seconds.clone(),
        );
        registry.register(
            "render_cache_hits",
            "Kustomize subtrees reused from the render cache",
            metrics.render_cache_hits.clone(),
        );
        registry.register(
            "render_cache_misses",
            "Kustomize subtrees built because the render cache had none",
            metrics.render_cache_misses.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Serves `/metrics` and `/healthz` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(|| async { (StatusCode::OK, "ok").into_response() }),
        );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|err| Error::Serve(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_and_gauges_with_labels() {
        let metrics = Metrics::new();
        let cluster = ClusterLabel {
            cluster: "cluster-1".into(),
        };
        metrics.bundles_published.get_or_create(&cluster).inc();
        metrics.bundle_generation.get_or_create(&cluster).set(7);
        metrics.agents_connected.inc();
        let text = metrics.encode();
        assert!(
            text.contains("flotilla_bundles_published_total{cluster=\"cluster-1\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("flotilla_bundle_generation{cluster=\"cluster-1\"} 7"),
            "{text}"
        );
        assert!(text.contains("flotilla_agents_connected 1"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
