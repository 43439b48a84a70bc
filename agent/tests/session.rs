//! The agent end to end against a stand-in hub over mutual TLS and a sandbox cluster:
//! Hello, verification verdicts as Acks, status reports, restart with persisted state, and
//! reconnecting with backoff when the hub goes away, and drift reported by the periodic
//! re-apply.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use flotilla_agent::{Agent, Timing};
use flotilla_proto::agent_message::Msg;
use flotilla_proto::{hub_message, Ack, Bundle, Hello, HubMessage, StatusReport};
use flotilla_sandbox::Sandbox;
use support::hub::{Pki, TestHub};
use support::*;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

const CLUSTER: &str = "cluster-1";
const ANY: &str = "127.0.0.1:0";

/// Timing for tests: no timers that race real socket IO under a paused clock.
fn timing() -> Timing {
    Timing {
        connect_timeout: None,
        keepalive: None,
        ..Timing::default()
    }
}

/// The next message of the wanted kind, skipping heartbeats and other kinds.
async fn next<T>(hub: &mut TestHub, pick: impl Fn(Msg) -> Option<T>) -> T {
    let wait = async {
        loop {
            let message = hub.events.recv().await.expect("hub event stream ended");
            if let Some(found) = message.msg.and_then(&pick) {
                return found;
            }
        }
    };
    timeout(Duration::from_secs(3600), wait)
        .await
        .expect("agent message")
}

async fn hello(hub: &mut TestHub) -> Hello {
    next(hub, |m| match m {
        Msg::Hello(hello) => Some(hello),
        _ => None,
    })
    .await
}

async fn ack(hub: &mut TestHub) -> Ack {
    next(hub, |m| match m {
        Msg::Ack(ack) => Some(ack),
        _ => None,
    })
    .await
}

async fn status(hub: &mut TestHub) -> StatusReport {
    next(hub, |m| match m {
        Msg::Status(report) => Some(report),
        _ => None,
    })
    .await
}

async fn push(hub: &TestHub, signed: flotilla_proto::SignedBundle) {
    let message = HubMessage {
        msg: Some(hub_message::Msg::Bundle(signed)),
    };
    hub.push.send(message).await.expect("session open");
}

fn sample(generation: u64, with_settings: bool) -> Bundle {
    let mut objects = vec![namespace("sample"), deployment("sample", "web")];
    if with_settings {
        objects.push(config_map("sample", "settings", "a"));
    }
    bundle(CLUSTER, generation, vec![unit("apps", &objects)])
}

#[tokio::test]
async fn verdicts_acks_status_and_restart() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path(), CLUSTER);
    let sandbox = Sandbox::start().await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).unwrap();
    let mut hub = TestHub::start(&pki, ANY.parse().unwrap()).await;
    let config = pki.agent_config(CLUSTER, hub.addr, &kubeconfig);

    let shutdown = CancellationToken::new();
    let agent = Agent::with_timing(config.clone(), timing()).await.unwrap();
    let running = tokio::spawn(agent.run(shutdown.clone()));

    let first = hello(&mut hub).await;
    assert_eq!(first.cluster, CLUSTER);
    assert_eq!(first.applied_generation, 0);
    assert!(!first.agent_version.is_empty());

    push(&hub, sign(&pki.signing, &sample(1, true))).await;
    let verdict = ack(&mut hub).await;
    assert!(verdict.accepted && verdict.generation == 1, "{verdict:?}");
    let report = status(&mut hub).await;
    assert_eq!(report.generation, 1);
    assert!(report.units[0].ready, "{report:?}");
    assert!(sandbox
        .store()
        .get("v1", "ConfigMap", Some("sample"), "settings")
        .is_some());

    // The same generation again: already held, accepted, nothing to do.
    push(&hub, sign(&pki.signing, &sample(1, true))).await;
    let verdict = ack(&mut hub).await;
    assert!(
        verdict.accepted && verdict.message.contains("already"),
        "{verdict:?}"
    );

    // Refusals, each naming its reason.
    let other_cluster = bundle("cluster-2", 2, vec![]);
    push(&hub, sign(&pki.signing, &other_cluster)).await;
    let verdict = ack(&mut hub).await;
    assert!(
        !verdict.accepted && verdict.message.contains("cluster `cluster-2`"),
        "{verdict:?}"
    );

    let stranger = signing_key(&support::pki::generate_signing_key().0);
    push(&hub, sign(&stranger, &sample(2, false))).await;
    let verdict = ack(&mut hub).await;
    assert!(
        !verdict.accepted && verdict.message.contains("unknown key"),
        "{verdict:?}"
    );

    let mut tampered = sign(&pki.signing, &sample(2, false));
    tampered.payload.push(0);
    push(&hub, tampered).await;
    let verdict = ack(&mut hub).await;
    assert!(
        !verdict.accepted && verdict.message.contains("does not verify"),
        "{verdict:?}"
    );

    // A newer bundle without the ConfigMap prunes it; then the old one is a replay.
    push(&hub, sign(&pki.signing, &sample(2, false))).await;
    assert!(ack(&mut hub).await.accepted);
    let report = status(&mut hub).await;
    assert_eq!(report.generation, 2);
    assert!(sandbox
        .store()
        .get("v1", "ConfigMap", Some("sample"), "settings")
        .is_none());
    push(&hub, sign(&pki.signing, &sample(1, true))).await;
    let verdict = ack(&mut hub).await;
    assert!(
        !verdict.accepted && verdict.message.contains("replay"),
        "{verdict:?}"
    );

    shutdown.cancel();
    timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    hub.stop().await;

    // Restarted on the same data dir: the agent re-applies its bundle without the hub's
    // help, then tells the new hub which generation it holds.
    // Meanwhile someone deletes the Deployment behind the agent's back.
    delete_behind_the_agents_back(&kubeconfig, "apps/v1", "Deployment", "sample", "web").await;
    assert!(sandbox
        .store()
        .get("apps/v1", "Deployment", Some("sample"), "web")
        .is_none());

    let mut hub = TestHub::start(&pki, ANY.parse().unwrap()).await;
    let config = pki.agent_config(CLUSTER, hub.addr, &kubeconfig);
    let shutdown = CancellationToken::new();
    let agent = Agent::with_timing(config, timing()).await.unwrap();
    let running = tokio::spawn(agent.run(shutdown.clone()));
    let again = hello(&mut hub).await;
    assert_eq!(again.applied_generation, 2);
    let report = status(&mut hub).await;
    assert_eq!(report.generation, 2);
    assert!(report.units[0].ready);
    assert!(
        sandbox
            .store()
            .get("apps/v1", "Deployment", Some("sample"), "web")
            .is_some(),
        "re-applied from the persisted bundle"
    );
    shutdown.cancel();
    timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    hub.stop().await;
}

/// Under a paused clock, tokio advances time to the next timer whenever the runtime parks,
/// even when socket IO is what wakes it; a timer due every millisecond keeps each such jump
/// to a millisecond, and a short real pause at each keeps the clock from running far ahead
/// of real network round trips (at most 20 virtual milliseconds per real one), however
/// slow the machine.
fn pace_the_clock() {
    tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            std::thread::sleep(Duration::from_micros(50));
        }
    });
}

#[tokio::test(start_paused = true)]
async fn reconnects_with_backoff_after_the_hub_goes_away() {
    install_crypto();
    pace_the_clock();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path(), CLUSTER);
    // No bundle is pushed, so the agent never calls this API server.
    let kubeconfig = dir.path().join("kubeconfig");
    write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    let mut hub = TestHub::start(&pki, ANY.parse().unwrap()).await;
    let addr: SocketAddr = hub.addr;
    let config = pki.agent_config(CLUSTER, addr, &kubeconfig);
    let shutdown = CancellationToken::new();
    let agent = Agent::with_timing(config, timing()).await.unwrap();
    let running = tokio::spawn(agent.run(shutdown.clone()));
    assert_eq!(hello(&mut hub).await.cluster, CLUSTER);

    // Heartbeats flow while the session is open.
    next(&mut hub, |m| matches!(m, Msg::Heartbeat(_)).then_some(())).await;

    hub.stop().await;
    let gone = Instant::now();
    // The hub stays away for a while; the agent keeps trying, backing off.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut hub = TestHub::start(&pki, addr).await;
    let back = hello(&mut hub).await;
    let waited = gone.elapsed();
    assert_eq!(back.cluster, CLUSTER);
    assert!(waited >= Duration::from_secs(5), "{waited:?}");
    // Failed attempts at about 0.8 s, 2.4 s, 5.6 s (±50 % jitter each): the first one after
    // the hub is back lands well before the 30 s cap.
    assert!(waited <= Duration::from_secs(20), "{waited:?}");

    shutdown.cancel();
    running.await.unwrap().unwrap();
    hub.stop().await;
}

#[tokio::test]
async fn keeps_enforcing_the_bundle_while_the_hub_is_away() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path(), CLUSTER);
    let sandbox = Sandbox::start().await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).unwrap();
    let mut hub = TestHub::start(&pki, ANY.parse().unwrap()).await;
    let config = flotilla_config::AgentConfig {
        drift_interval: "1s".into(),
        ..pki.agent_config(CLUSTER, hub.addr, &kubeconfig)
    };
    let shutdown = CancellationToken::new();
    let agent = Agent::with_timing(config, timing()).await.unwrap();
    let running = tokio::spawn(agent.run(shutdown.clone()));
    hello(&mut hub).await;
    push(&hub, sign(&pki.signing, &sample(1, true))).await;
    assert!(ack(&mut hub).await.accepted);
    assert!(status(&mut hub).await.units[0].ready);
    hub.stop().await;

    delete_behind_the_agents_back(&kubeconfig, "v1", "ConfigMap", "sample", "settings").await;
    let store = sandbox.store();
    let restored = async {
        while store
            .get("v1", "ConfigMap", Some("sample"), "settings")
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    timeout(Duration::from_secs(20), restored)
        .await
        .expect("re-applied within the drift interval");

    shutdown.cancel();
    timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn periodic_reapply_reports_the_drift_it_corrects() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path(), CLUSTER);
    let sandbox = Sandbox::start().await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).unwrap();
    let mut hub = TestHub::start(&pki, ANY.parse().unwrap()).await;
    let config = flotilla_config::AgentConfig {
        drift_interval: "1s".into(),
        ..pki.agent_config(CLUSTER, hub.addr, &kubeconfig)
    };
    let shutdown = CancellationToken::new();
    let agent = Agent::with_timing(config, timing()).await.unwrap();
    let running = tokio::spawn(agent.run(shutdown.clone()));
    hello(&mut hub).await;
    push(&hub, sign(&pki.signing, &sample(1, true))).await;
    assert!(ack(&mut hub).await.accepted);
    let first = status(&mut hub).await;
    assert!(first.units[0].ready);
    assert_eq!(
        first.drift_checked_unix, 0,
        "no check before the first interval"
    );

    delete_behind_the_agents_back(&kubeconfig, "v1", "ConfigMap", "sample", "settings").await;
    let mut report = status(&mut hub).await;
    // A check may have run before the delete; the next one finds it.
    while report.drift.is_empty() {
        assert!(report.drift_checked_unix > 0, "{report:?}");
        report = status(&mut hub).await;
    }
    assert_eq!(report.drift.len(), 1, "{report:?}");
    let drifted = &report.drift[0];
    assert_eq!(drifted.unit, "flux-system/apps");
    assert_eq!(drifted.state, "deleted");
    assert_eq!(
        drifted.object.as_ref().map(|o| o.name.as_str()),
        Some("settings")
    );
    assert!(
        sandbox
            .store()
            .get("v1", "ConfigMap", Some("sample"), "settings")
            .is_some(),
        "corrected by the re-apply the report comes with"
    );
    let next = status(&mut hub).await;
    assert!(next.drift.is_empty(), "{next:?}");
    assert!(next.drift_checked_unix >= report.drift_checked_unix);

    shutdown.cancel();
    timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    hub.stop().await;
}

#[tokio::test]
async fn bundle_larger_than_the_grpc_default_is_received() {
    // The agent decodes up to `flotilla_proto::MAX_MESSAGE_BYTES`, the hub's own limit, not
    // gRPC's default 4 MiB: a bundle the hub may publish reaches the verdict.
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path(), CLUSTER);
    // Only the verdict matters; the agent never calls this API server.
    let kubeconfig = dir.path().join("kubeconfig");
    write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    let mut hub = TestHub::start(&pki, ANY.parse().unwrap()).await;
    let config = pki.agent_config(CLUSTER, hub.addr, &kubeconfig);
    let shutdown = CancellationToken::new();
    let agent = Agent::with_timing(config, timing()).await.unwrap();
    let running = tokio::spawn(agent.run(shutdown.clone()));
    hello(&mut hub).await;

    let large = Bundle {
        revision: "r".repeat(6 * 1024 * 1024),
        ..bundle("cluster-2", 1, vec![])
    };
    push(&hub, sign(&pki.signing, &large)).await;
    // Over a lower limit the session fails and the agent redials without an Ack.
    let verdict = timeout(Duration::from_secs(30), ack(&mut hub))
        .await
        .expect("an Ack for the large bundle");
    assert!(
        !verdict.accepted && verdict.message.contains("cluster `cluster-2`"),
        "{verdict:?}"
    );

    shutdown.cancel();
    timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    hub.stop().await;
}
