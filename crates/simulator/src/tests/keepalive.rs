//! Keepalive enforcement: clients pinging more often than the scheduler allows are refused.

use super::support::*;

#[tokio::test]
async fn clients_pinging_too_often_are_refused() {
    let sim = start(config()).await;
    // A compliant client on its own connection.
    let mut polite = client(&sim).await;
    let mut polite_models = subscribe_models(&mut polite).await;

    let pinger = Endpoint::from_shared(sim.uri())
        .expect("uri")
        .http2_keep_alive_interval(Duration::from_millis(50))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .connect()
        .await
        .expect("connects");
    let mut pinger = SchedulerClient::new(pinger);
    let mut pinger_models = subscribe_models(&mut pinger).await;
    let refused = stream_error(&mut pinger_models).await;
    assert!(
        matches!(
            refused.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "pinger cut off: {refused:?}"
    );
    assert_eq!(sim.stats().connections_refused_for_pings, 1);

    // The compliant client is unaffected.
    polite
        .load_model(load(model("m", "gs://x", 1, 1)))
        .await
        .expect("load");
    read_until(&mut polite_models, |m| {
        model_state(m).0 == ModelState::ModelAvailable
    })
    .await;
}

#[tokio::test]
async fn too_many_pings_gets_goaway_enhance_your_calm() {
    use tokio::io::AsyncWriteExt;
    let sim = start(config()).await;
    let mut tcp = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .expect("connects");
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
    for i in 0..4_u8 {
        // PING, no ACK flag, stream 0, 8 bytes of opaque data.
        bytes.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[i; 8]);
    }
    tcp.write_all(&bytes).await.expect("sent");
    let goaway = timeout(DEADLINE, async {
        loop {
            match read_frame(&mut tcp).await {
                Ok((7, _, payload)) => return Some(payload),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .expect("server answers before the deadline")
    .expect("a GOAWAY before the connection closes");
    assert_eq!(&goaway[4..8], &0xb_u32.to_be_bytes(), "ENHANCE_YOUR_CALM");
    assert_eq!(&goaway[8..], b"too_many_pings");
    // Then the connection is closed.
    let after = timeout(DEADLINE, read_frame(&mut tcp))
        .await
        .expect("closed in time");
    assert!(after.is_err(), "nothing after the GOAWAY: {after:?}");
    assert_eq!(sim.stats().connections_refused_for_pings, 1);
}
