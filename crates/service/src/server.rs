//! The HTTP server loop: `axum::serve` without its gaps. A client must send a request's
//! headers within `[web] header_timeout_secs` (a slowloris connection that trickles them is
//! closed), its body within `body_timeout_secs`, and the whole request must be answered
//! within `request_timeout_secs`; bodies are capped at `max_body_bytes`, and at most
//! `max_concurrent_requests` are handled at once (the rest wait, under the same timeout).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use podsift_core::config::WebConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// The router with the limits of `[web]` around every route.
pub(crate) fn limited(router: Router, cfg: &WebConfig) -> Router {
    let max_body = usize::try_from(cfg.max_body_bytes).unwrap_or(usize::MAX);
    router
        // Extractors' own cap (axum's default is 2 MiB), then the stream's.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            cfg.body_timeout_secs,
        )))
        // Shared by every route: one semaphore for the whole server.
        .layer(GlobalConcurrencyLimitLayer::new(
            cfg.max_concurrent_requests.max(1),
        ))
        // Outermost: waiting for a permit counts too.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(cfg.request_timeout_secs),
        ))
}

/// Serve `router` on `listener` until `stop` completes, then let open requests finish.
/// Handlers see the peer's address as `ConnectInfo<SocketAddr>`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    // Connections watch `signal`: when its receiver is dropped they shut down gracefully;
    // each holds a `closed` receiver until it is done.
    let (signal_tx, signal_rx) = watch::channel(());
    let (closed_tx, closed_rx) = watch::channel(());
    let mut stop = pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req.map(Body::new))
        });
        let signal_tx = signal_tx.clone();
        let closed_rx = closed_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            builder.http2().timer(TokioTimer::new());
            let mut conn = pin!(builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            ));
            let mut shutting_down = pin!(signal_tx.closed());
            let mut asked = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, "connection: {e}");
                        }
                        break;
                    }
                    () = &mut shutting_down, if !asked => {
                        asked = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(closed_rx);
        });
    }
    drop(listener);
    drop(signal_rx);
    drop(closed_rx);
    closed_tx.closed().await;
}
