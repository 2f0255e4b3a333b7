//! Slow and idle clients, over raw TCP: a request head that dribbles in is cut off at the
//! header-read timeout, an idle keep-alive connection at the idle timeout, and the
//! connection cap holds further connections in the backlog until one closes.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: cartgate\r\n\r\n";

async fn connect(gw: &Gateway) -> TcpStream {
    TcpStream::connect(gw.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads one response (head and a Content-Length body); returns its status.
async fn read_response(s: &mut TcpStream) -> u16 {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return head[9..12].parse().unwrap();
            }
        }
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before a full response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn get_healthz(s: &mut TcpStream) -> u16 {
    s.write_all(HEALTHZ).await.unwrap();
    read_response(s).await
}

/// Waits up to `within` for the server to close the connection; true when it did.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or other bytes before the close
        }
    }
}

#[tokio::test]
async fn a_slow_header_client_is_cut_off_while_others_are_served() {
    let gw = Gateway::start_with(|s| s.header_read_timeout_secs = 2).await;
    let client = gw.account("a").await;

    // One header line every 400 ms: each line arrives well within any per-read timeout,
    // the head as a whole never ends.
    let (mut reader, mut writer) = connect(&gw).await.into_split();
    let started = Instant::now();
    writer
        .write_all(b"GET /v1/stores HTTP/1.1\r\nHost: cartgate\r\n")
        .await
        .unwrap();
    let dribble = tokio::spawn(async move {
        for i in 0..30 {
            tokio::time::sleep(Duration::from_millis(400)).await;
            if writer
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    // A connection that sends nothing at all is timed from the accept.
    let mut silent = connect(&gw).await;

    // Meanwhile the other clients are served normally.
    tokio::time::sleep(Duration::from_millis(800)).await;
    client.ok("/v1/stores").await;
    let mut other = connect(&gw).await;
    assert_eq!(get_healthz(&mut other).await, 200);

    let mut chunk = [0u8; 1024];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), reader.read(&mut chunk)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(_)) => continue,
        }
    };
    let took = started.elapsed();
    assert!(closed, "the slow client was never cut off");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "cut off after {took:?}, the header timeout is 2 s"
    );
    dribble.abort();
    assert!(
        closed_within(&mut silent, Duration::from_secs(3)).await,
        "a silent connection is closed at the header timeout"
    );
    // The keep-alive connection that was served is still usable.
    assert_eq!(get_healthz(&mut other).await, 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let gw = Gateway::start_with(|s| {
        s.header_read_timeout_secs = 1;
        s.idle_timeout_secs = 4;
    })
    .await;
    let mut conn = connect(&gw).await;
    assert_eq!(get_healthz(&mut conn).await, 200);
    // Idle for longer than the header timeout: waiting for the next request is the idle
    // timeout's business, so the connection still serves it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(get_healthz(&mut conn).await, 200);
    let answered = Instant::now();
    assert!(
        closed_within(&mut conn, Duration::from_secs(10)).await,
        "the idle connection stayed open"
    );
    let idle = answered.elapsed();
    assert!(
        idle >= Duration::from_millis(3500) && idle < Duration::from_secs(7),
        "closed after {idle:?} idle, the idle timeout is 4 s"
    );
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let gw = Gateway::start_with(|s| s.max_connections = 2).await;
    let mut first = connect(&gw).await;
    let mut second = connect(&gw).await;
    assert_eq!(get_healthz(&mut first).await, 200);
    assert_eq!(get_healthz(&mut second).await, 200);

    // The third connects (the kernel's backlog holds it) but is not served...
    let mut third = connect(&gw).await;
    third.write_all(HEALTHZ).await.unwrap();
    let early = tokio::time::timeout(Duration::from_secs(1), read_response(&mut third)).await;
    assert!(early.is_err(), "a connection over the cap was served");
    // ...until one of the two closes.
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third))
        .await
        .expect("served once a slot freed");
    assert_eq!(status, 200);
    assert_eq!(get_healthz(&mut second).await, 200);

    // Shutting down with idle connections open does not wait for them.
    let t = Instant::now();
    gw.stop().await;
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        t.elapsed()
    );
    assert!(closed_within(&mut second, Duration::from_secs(1)).await);
}
