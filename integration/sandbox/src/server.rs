//! The listener: accepts TCP on 127.0.0.1, terminates TLS (rustls), serves HTTP/1.1 and
//! HTTP/2 (hyper-util auto) and hands each request to `api::handle`. Stops accepting and
//! closes connections when the sandbox's token is cancelled.

use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, debug_span, Instrument};

use crate::Shared;

/// Serves until `shared.cancel` fires.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, shared: Arc<Shared>) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(error) => {
                    debug!(%error, "accept failed");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(error) => {
                    debug!(%error, %peer, "tls handshake failed");
                    return;
                }
            };
            let cancel = shared.cancel.clone();
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, std::convert::Infallible>(crate::api::handle(shared, req).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                r = conn => if let Err(error) = r { debug!(%error, %peer, "connection ended with an error") },
            }
        }.instrument(debug_span!("sandbox_connection", %peer)));
    }
}
