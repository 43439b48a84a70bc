//! A stand-in hub for session tests: a tonic `AgentService` over mutual TLS on 127.0.0.1
//! with certificates generated at test time, that forwards whatever the agent sends and
//! pushes whatever the test gives it. Test code only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use flotilla_config::{AgentConfig, TlsFiles};
use flotilla_proto::agent_service_server::{AgentService, AgentServiceServer};
use flotilla_proto::{AgentMessage, HubMessage};
use futures::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use super::pki::{generate_signing_key, Ca, CertifiedKey};
use super::{signing_key, write};

/// Certificates, keys and an agent configuration in a temporary folder.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: Ca,
    pub hub: CertifiedKey,
    pub signing: SigningKey,
}

impl Pki {
    pub fn generate(dir: &Path, cluster: &str) -> Pki {
        let ca = Ca::generate();
        let hub = ca.issue_hub("127.0.0.1");
        let agent = ca.issue_agent(cluster);
        let (private, public) = generate_signing_key();
        write(&dir.join("ca.pem"), &ca.cert_pem());
        write(&dir.join("agent.pem"), &agent.cert_pem);
        write(&dir.join("agent-key.pem"), &agent.key_pem);
        write(&dir.join("signing.pub"), &public);
        Pki {
            dir: dir.to_path_buf(),
            signing: signing_key(&private),
            ca,
            hub,
        }
    }

    pub fn agent_config(&self, cluster: &str, hub: SocketAddr, kubeconfig: &Path) -> AgentConfig {
        AgentConfig {
            hub: format!("https://{hub}"),
            cluster: cluster.into(),
            tls: TlsFiles {
                ca: self.dir.join("ca.pem"),
                cert: self.dir.join("agent.pem"),
                key: self.dir.join("agent-key.pem"),
            },
            hub_keys: vec![self.dir.join("signing.pub")],
            data_dir: self.dir.join("state"),
            kubeconfig: Some(kubeconfig.to_path_buf()),
            drift_interval: "1h".into(),
        }
    }
}

/// One running stand-in hub.
pub struct TestHub {
    pub addr: SocketAddr,
    /// Messages to push down the next session.
    pub push: mpsc::Sender<HubMessage>,
    /// Everything agents send, in order.
    pub events: mpsc::UnboundedReceiver<AgentMessage>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl TestHub {
    /// Serves on `addr` (port 0 for any).
    pub async fn start(pki: &Pki, addr: SocketAddr) -> TestHub {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (push, pushes) = mpsc::channel(16);
        let (events_tx, events) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let service = Service {
            pushes: Arc::new(Mutex::new(Some(pushes))),
            events: events_tx,
            stop: stop.clone(),
        };
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(&pki.hub.cert_pem, &pki.hub.key_pem))
            .client_ca_root(Certificate::from_pem(pki.ca.cert_pem()));
        let server = Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(
                AgentServiceServer::new(service)
                    .accept_compressed(CompressionEncoding::Gzip)
                    .send_compressed(CompressionEncoding::Gzip),
            )
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                stop.clone().cancelled_owned(),
            );
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        TestHub {
            addr,
            push,
            events,
            stop,
            task,
        }
    }

    /// Ends every session and stops listening.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

#[derive(Clone)]
struct Service {
    pushes: Arc<Mutex<Option<mpsc::Receiver<HubMessage>>>>,
    events: mpsc::UnboundedSender<AgentMessage>,
    stop: CancellationToken,
}

type HubStream = Pin<Box<dyn Stream<Item = Result<HubMessage, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for Service {
    type SessionStream = HubStream;

    async fn session(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<HubStream>, Status> {
        let mut inbound = request.into_inner();
        let events = self.events.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    message = inbound.message() => match message {
                        Ok(Some(message)) => { let _ = events.send(message); }
                        _ => break,
                    },
                }
            }
        });
        let pushes = self
            .pushes
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| Status::unavailable("test hub serves one session"))?;
        let stream = ReceiverStream::new(pushes)
            .map(Ok)
            .take_until(self.stop.clone().cancelled_owned());
        Ok(Response::new(Box::pin(stream)))
    }
}
