//! Who may talk to the hub: only agents whose certificate chains to the hub's CA and names
//! a registered cluster, each receiving its own cluster's bundle only; only admins on the
//! admin API.

use std::time::Duration;

use flotilla_hub::pki::{files, Ca};
use flotilla_integration::{Fleet, FleetOptions};
use flotilla_proto::agent_service_client::AgentServiceClient;
use flotilla_proto::{
    agent_message, hub_message, AgentMessage, Bundle, Hello, ListClustersRequest,
};
use prost::Message;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

const WAIT: Duration = Duration::from_secs(60);

struct Credentials {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn fleet_credentials(fleet: &Fleet, cert: &str, key: &str) -> Credentials {
    let pki = fleet.pki_dir();
    let read = |name: &str| std::fs::read_to_string(pki.join(name)).expect("pki file");
    Credentials {
        ca_pem: read(files::CA),
        cert_pem: read(cert),
        key_pem: read(key),
    }
}

async fn channel(address: &str, creds: &Credentials) -> anyhow::Result<Channel> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&creds.ca_pem))
        .identity(Identity::from_pem(&creds.cert_pem, &creds.key_pem));
    Ok(Endpoint::from_shared(address.to_string())?
        .tls_config(tls)?
        .connect()
        .await?)
}

/// Opens an agent session saying Hello as `cluster`; returns the first bundle pushed.
async fn first_bundle(address: &str, creds: &Credentials, cluster: &str) -> anyhow::Result<Bundle> {
    let mut client = AgentServiceClient::new(channel(address, creds).await?)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let hello = AgentMessage {
        msg: Some(agent_message::Msg::Hello(Hello {
            cluster: cluster.to_string(),
            applied_generation: 0,
            agent_version: "test".to_string(),
            applied_digest: Vec::new(),
        })),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(hello).await?;
    let mut inbound = client
        .session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    loop {
        let message = tokio::time::timeout(WAIT, inbound.message())
            .await??
            .ok_or_else(|| anyhow::anyhow!("stream ended without a bundle"))?;
        if let Some(hub_message::Msg::Bundle(signed)) = message.msg {
            drop(tx);
            return Ok(Bundle::decode(signed.payload.as_slice())?);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_right_certificates_are_served() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    };
    let fleet = Fleet::start_ready(dir.path(), options).await?;
    let address = fleet.agents_address();

    // cluster-2's certificate gets cluster-2's bundle, and never cluster-1's.
    let (cert, key) = files::agent("cluster-2");
    let cluster_2 = fleet_credentials(&fleet, &cert, &key);
    let bundle = first_bundle(&address, &cluster_2, "cluster-2").await?;
    assert_eq!(bundle.cluster, "cluster-2");
    let err = first_bundle(&address, &cluster_2, "cluster-1")
        .await
        .expect_err("a certificate cannot ask for another cluster");
    assert!(
        format!("{err:#}").contains("certificate names cluster `cluster-2`"),
        "{err:#}"
    );

    // A certificate from another CA is refused during the handshake.
    let rogue = Ca::generate("rogue-ca")?;
    let rogue_agent = rogue.issue_agent("cluster-1")?;
    let foreign = Credentials {
        ca_pem: cluster_2.ca_pem.clone(),
        cert_pem: rogue_agent.cert_pem,
        key_pem: rogue_agent.key_pem,
    };
    assert!(first_bundle(&address, &foreign, "cluster-1").await.is_err());

    // A valid certificate for a cluster the hub does not serve is refused.
    let pki = fleet.pki_dir();
    let ca = Ca::load(&pki.join(files::CA), &pki.join(files::CA_KEY))?;
    let stranger = ca.issue_agent("cluster-9")?;
    let stranger = Credentials {
        ca_pem: cluster_2.ca_pem.clone(),
        cert_pem: stranger.cert_pem,
        key_pem: stranger.key_pem,
    };
    let err = first_bundle(&address, &stranger, "cluster-9")
        .await
        .expect_err("unregistered");
    assert!(format!("{err:#}").contains("not registered"), "{err:#}");

    // The admin certificate cannot open an agent session, and an agent cannot use the admin API.
    let admin = fleet_credentials(&fleet, files::ADMIN, files::ADMIN_KEY);
    assert!(first_bundle(&address, &admin, "cluster-1").await.is_err());
    let mut as_agent = flotilla_proto::admin_service_client::AdminServiceClient::new(
        channel(&fleet.admin_address(), &cluster_2).await?,
    );
    let status = as_agent
        .list_clusters(ListClustersRequest {})
        .await
        .expect_err("agents are not admins");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    fleet.shutdown().await
}
