//! One session with the hub: dial, open `AgentService/Session`, say Hello, then answer each
//! pushed bundle with an Ack, forward status reports and send heartbeats until the stream
//! ends or the agent shuts down.
//!
//! Must never retry by itself (the `reconnect` loop does) and never apply anything: bundles
//! go through the `Intake`.

use std::time::{SystemTime, UNIX_EPOCH};

use flotilla_proto::agent_message::Msg as Out;
use flotilla_proto::agent_service_client::AgentServiceClient;
use flotilla_proto::hub_message::Msg as In;
use flotilla_proto::{AgentMessage, Heartbeat, Hello, StatusReport, MAX_MESSAGE_BYTES};
use tokio::sync::{mpsc, watch};
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::transport::Endpoint;
use tracing::{debug, info};

use crate::intake::Intake;
use crate::timing::Timing;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to the hub: {0}")]
    Connect(#[source] tonic::transport::Error),
    #[error("hub refused the session: {}", .0.message())]
    Refused(#[source] tonic::Status),
    #[error("session stream failed: {}", .0.message())]
    Stream(#[source] tonic::Status),
    #[error("hub closed the session")]
    Closed,
    #[error("hub did not answer the session within {0:?}")]
    OpenTimeout(std::time::Duration),
}

/// What a session needs; shared by every attempt.
pub struct Session<'a> {
    pub endpoint: &'a Endpoint,
    pub intake: &'a Intake,
    pub hello: Hello,
    pub status: watch::Receiver<Option<StatusReport>>,
    pub timing: &'a Timing,
}

impl Session<'_> {
    /// Runs until the hub ends the session (an error, so the caller reconnects) or
    /// `shutdown` fires (`Ok`).
    pub async fn run(mut self, shutdown: &CancellationToken) -> Result<()> {
        let channel = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            channel = self.endpoint.connect() => channel.map_err(Error::Connect)?,
        };
        // The hub's limit too: a bundle it may publish is one this agent decodes.
        let mut client = AgentServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip);

        let (out, rx) = mpsc::channel(32);
        let outbound = Outbound(out);
        outbound.send(Out::Hello(self.hello.clone())).await?;
        let open = client.session(ReceiverStream::new(rx));
        let limit = self.timing.open_timeout;
        let response = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Ok(()),
            response = tokio::time::timeout(limit, open) => {
                response.map_err(|_| Error::OpenTimeout(limit))?.map_err(Error::Refused)?
            }
        };
        let mut inbound = response.into_inner();
        info!(
            applied_generation = self.hello.applied_generation,
            "session open"
        );

        // The hub learns the latest statuses at once, even those from while it was away.
        let latest = self.status.borrow_and_update().clone();
        if let Some(report) = latest {
            outbound.send(Out::Status(report)).await?;
        }
        let period = self.timing.heartbeat;
        let mut heartbeat = interval_at(Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);

        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Ok(()),
                message = inbound.message() => {
                    let Some(message) = message.map_err(Error::Stream)? else {
                        return Err(Error::Closed);
                    };
                    match message.msg {
                        Some(In::Bundle(signed)) => {
                            let ack = self.intake.offer(signed).await;
                            info!(generation = ack.generation, accepted = ack.accepted, message = %ack.message, "ack");
                            outbound.send(Out::Ack(ack)).await?;
                        }
                        Some(In::Heartbeat(beat)) => debug!(unix_millis = beat.unix_millis, "hub heartbeat"),
                        None => debug!("hub message of an unknown kind ignored"),
                    }
                }
                changed = self.status.changed() => {
                    if changed.is_err() {
                        // The applier is gone: the agent is shutting down.
                        return Ok(());
                    }
                    let latest = self.status.borrow_and_update().clone();
                    if let Some(report) = latest {
                        outbound.send(Out::Status(report)).await?;
                    }
                }
                _ = heartbeat.tick() => {
                    outbound.send(Out::Heartbeat(Heartbeat { unix_millis: now_millis() })).await?;
                }
            }
        }
    }
}

struct Outbound(mpsc::Sender<AgentMessage>);

impl Outbound {
    async fn send(&self, msg: Out) -> Result<()> {
        self.0
            .send(AgentMessage { msg: Some(msg) })
            .await
            .map_err(|_| Error::Closed)
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
