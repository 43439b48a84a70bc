//! `flotilla get ...` and `flotilla reconcile ...` over the admin API.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use flotilla_hub::pki::files;
use flotilla_proto::{
    ClusterInfo, DriftInfo, KustomizationInfo, ListClustersRequest, ListDriftRequest,
    ListKustomizationsRequest, ListSourcesRequest, ReconcileSourceRequest, SetSuspendedRequest,
    SourceInfo,
};

use crate::table::render;
use crate::HubArgs;

#[derive(Clone, Copy, Default, ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum What {
    /// Registered clusters and their agents.
    Clusters {
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Every cluster's Flux Kustomizations with their status.
    #[command(alias = "ks")]
    Kustomizations {
        /// Only this cluster.
        #[arg(long)]
        cluster: Option<String>,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Objects the agents found changed or deleted behind their backs at the last check.
    Drift {
        /// Only this cluster.
        #[arg(long)]
        cluster: Option<String>,
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
    /// Git sources and their fetched revisions.
    Sources {
        #[arg(short, long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Subcommand)]
pub enum SuspendWhat {
    /// A Flux Kustomization, by name.
    #[command(alias = "ks")]
    Kustomization {
        name: String,
        /// Its namespace.
        #[arg(short, long, default_value = "flux-system")]
        namespace: String,
        /// Only on this cluster; every cluster that has it by default.
        #[arg(long)]
        cluster: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ReconcileWhat {
    /// Fetch the platform source now.
    Source,
}

async fn connect(
    hub: &HubArgs,
) -> anyhow::Result<
    flotilla_proto::admin_service_client::AdminServiceClient<tonic::transport::Channel>,
> {
    flotilla_hub::client::admin_client(
        &hub.hub,
        &hub.pki.join(files::CA),
        &hub.pki.join(files::ADMIN),
        &hub.pki.join(files::ADMIN_KEY),
    )
    .await
    .with_context(|| format!("cannot reach the hub at {} (set --hub and --pki)", hub.hub))
}

pub async fn get(what: What, hub: HubArgs) -> anyhow::Result<ExitCode> {
    let mut client = connect(&hub).await?;
    match what {
        What::Clusters { output } => {
            let clusters = client
                .list_clusters(ListClustersRequest {})
                .await?
                .into_inner()
                .clusters;
            print(output, &clusters, clusters_table)?;
        }
        What::Kustomizations { cluster, output } => {
            let request = ListKustomizationsRequest {
                cluster: cluster.unwrap_or_default(),
            };
            let list = client
                .list_kustomizations(request)
                .await?
                .into_inner()
                .kustomizations;
            print(output, &list, kustomizations_table)?;
        }
        What::Drift { cluster, output } => {
            let request = ListDriftRequest {
                cluster: cluster.unwrap_or_default(),
            };
            let drift = client.list_drift(request).await?.into_inner().drift;
            print(output, &drift, drift_table)?;
        }
        What::Sources { output } => {
            let sources = client
                .list_sources(ListSourcesRequest {})
                .await?
                .into_inner()
                .sources;
            print(output, &sources, sources_table)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn set_suspended(
    what: SuspendWhat,
    hub: HubArgs,
    suspended: bool,
) -> anyhow::Result<ExitCode> {
    let SuspendWhat::Kustomization {
        name,
        namespace,
        cluster,
    } = what;
    let mut client = connect(&hub).await?;
    let (doing, done) = if suspended {
        ("suspending", "suspended")
    } else {
        ("resuming", "resumed")
    };
    println!("► {doing} kustomization {name} in {namespace} namespace");
    let request = SetSuspendedRequest {
        cluster: cluster.unwrap_or_default(),
        namespace,
        name,
        suspended,
    };
    let clusters = client.set_suspended(request).await?.into_inner().clusters;
    println!("✔ kustomization {done} on {}", clusters.join(", "));
    Ok(ExitCode::SUCCESS)
}

pub async fn reconcile(what: ReconcileWhat, hub: HubArgs) -> anyhow::Result<ExitCode> {
    let ReconcileWhat::Source = what;
    let mut client = connect(&hub).await?;
    let revision = client
        .reconcile_source(ReconcileSourceRequest::default())
        .await?
        .into_inner()
        .revision;
    println!("fetched revision {revision}");
    Ok(ExitCode::SUCCESS)
}

fn print<T: ToJson>(output: Output, items: &[T], table: fn(&[T]) -> String) -> anyhow::Result<()> {
    match output {
        Output::Table => print!("{}", table(items)),
        Output::Json => {
            let json: Vec<_> = items.iter().map(ToJson::to_json).collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(())
}

trait ToJson {
    fn to_json(&self) -> serde_json::Value;
}

impl ToJson for KustomizationInfo {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "cluster": self.cluster, "name": self.name, "namespace": self.namespace,
            "tenant": self.tenant, "ready": self.ready, "message": self.message,
            "revision": self.revision, "suspended": self.suspended,
        })
    }
}

impl ToJson for DriftInfo {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "cluster": self.cluster, "unit": self.unit, "object": self.object,
            "state": self.state, "fields": self.fields, "checkedUnix": self.checked_unix,
        })
    }
}

impl ToJson for ClusterInfo {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "connected": self.connected, "generation": self.generation,
            "appliedGeneration": self.applied_generation, "revision": self.revision,
            "lastSeenUnix": self.last_seen_unix, "labels": self.labels,
        })
    }
}

impl ToJson for SourceInfo {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "namespace": self.namespace, "url": self.url,
            "branch": self.branch, "revision": self.revision, "ready": self.ready,
            "message": self.message, "lastFetchUnix": self.last_fetch_unix,
        })
    }
}

fn title(flag: bool) -> String {
    if flag { "True" } else { "False" }.to_string()
}

pub fn kustomizations_table(list: &[KustomizationInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|k| {
            vec![
                k.cluster.clone(),
                k.name.clone(),
                k.ready.clone(),
                k.message.clone(),
                k.revision.clone(),
                title(k.suspended),
            ]
        })
        .collect();
    render(
        &[
            "CLUSTER",
            "NAME",
            "READY",
            "MESSAGE",
            "REVISION",
            "SUSPENDED",
        ],
        &rows,
    )
}

fn clusters_table(list: &[ClusterInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                title(c.connected),
                c.generation.to_string(),
                c.applied_generation.to_string(),
                c.revision.clone(),
            ]
        })
        .collect();
    render(
        &["NAME", "CONNECTED", "GENERATION", "APPLIED", "REVISION"],
        &rows,
    )
}

pub fn drift_table(list: &[DriftInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                d.cluster.clone(),
                d.unit.clone(),
                d.object.clone(),
                d.state.clone(),
                d.fields.join(","),
            ]
        })
        .collect();
    render(&["CLUSTER", "UNIT", "OBJECT", "STATE", "FIELDS"], &rows)
}

fn sources_table(list: &[SourceInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.revision.clone(),
                s.ready.clone(),
                s.message.clone(),
            ]
        })
        .collect();
    render(&["NAME", "REVISION", "READY", "MESSAGE"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_table_lists_objects_and_fields() {
        let list = vec![DriftInfo {
            cluster: "cluster-1".into(),
            unit: "flux-system/sample".into(),
            object: "v1 ConfigMap sample/settings".into(),
            state: "modified".into(),
            fields: vec!["data.greeting".into(), "data.extra".into()],
            checked_unix: 1,
        }];
        expect_test::expect![[r#"
            CLUSTER     UNIT                 OBJECT                         STATE      FIELDS
            cluster-1   flux-system/sample   v1 ConfigMap sample/settings   modified   data.greeting,data.extra
        "#]]
        .assert_eq(&drift_table(&list));
    }

    #[test]
    fn kustomizations_table_has_flux_columns_and_cluster() {
        let list = vec![KustomizationInfo {
            cluster: "cluster-1".into(),
            name: "sample".into(),
            namespace: "flux-system".into(),
            ready: "True".into(),
            message: "Applied revision: main@sha1:abc".into(),
            revision: "main@sha1:abc".into(),
            ..Default::default()
        }];
        expect_test::expect![[r#"
            CLUSTER     NAME     READY   MESSAGE                           REVISION        SUSPENDED
            cluster-1   sample   True    Applied revision: main@sha1:abc   main@sha1:abc   False
        "#]]
        .assert_eq(&kustomizations_table(&list));
    }
}
