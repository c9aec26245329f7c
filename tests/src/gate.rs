//! A reverse proxy in front of the platform that can hold back uploads: while
//! held it answers every `POST …/api/v1/submissions` with 503 and sends
//! nothing on; every other request (sign-in, sync, the update manifest and
//! artefact) is relayed byte for byte. The app signs in to the proxy's
//! address, so a grade stays in its durable outbox for as long as the test
//! wants while everything else still flows.
//!
//! Plain `std::net` threads, one connection per request: each request is
//! rewritten to `Connection: close` (the only change made to it), so the
//! proxy sees every request line even though the app keeps connections
//! alive.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;

/// The upload route the gate can hold back (the path of `POST /submissions`).
pub const SUBMISSIONS_PATH: &str = "/api/v1/submissions";

/// The largest request head the gate reads.
const MAX_HEAD: usize = 64 * 1024;

/// One request the gate saw and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path (with any query), e.g. `/api/v1/submissions`.
    pub path: String,
    /// The status the app got: the platform's, or 503 when held back;
    /// `None` when the platform could not be reached or its answer had no
    /// readable status line.
    pub status: Option<u16>,
    /// Whether the request was sent on to the platform.
    pub forwarded: bool,
}

impl GateRequest {
    /// Whether this is an upload of a grade (`POST …/api/v1/submissions`).
    #[must_use]
    pub fn is_submission(&self) -> bool {
        self.method == "POST" && self.path.split('?').next() == Some(SUBMISSIONS_PATH)
    }
}

#[derive(Default)]
struct Shared {
    hold: AtomicBool,
    stop: AtomicBool,
    seen: Mutex<Vec<GateRequest>>,
}

impl Shared {
    fn record(&self, r: GateRequest) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(r);
    }
}

/// The running proxy (stops when dropped).
pub struct UploadGate {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl UploadGate {
    /// Listens on a free loopback port and relays to `upstream` (the
    /// platform's `http://host:port`, no path). Uploads pass until
    /// [`UploadGate::hold`] is called.
    pub fn start(upstream: &str) -> Result<Self> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let s = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || relay(conn, upstream, &s));
            }
        });
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address the app should use instead of the platform's.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Holds back uploads (`true`: each answered 503, none reaches the
    /// platform) or lets them through again (`false`).
    pub fn hold(&self, hold: bool) {
        self.shared.hold.store(hold, Ordering::SeqCst);
    }

    /// Every request seen so far, oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<GateRequest> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The uploads of grades seen so far (held back or forwarded).
    #[must_use]
    pub fn submissions(&self) -> Vec<GateRequest> {
        self.requests()
            .into_iter()
            .filter(GateRequest::is_submission)
            .collect()
    }
}

impl Drop for UploadGate {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}

/// Reads the request head (through the blank line); returns it and any body
/// bytes read with it.
fn read_head(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            let rest = buf.split_off(i + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// The head with its `Connection` header replaced by `Connection: close`.
fn close_after(head: &str) -> String {
    let mut out = String::with_capacity(head.len() + 20);
    for line in head.trim_end().split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

/// The status code of a response's first bytes (`HTTP/1.1 200 OK`).
fn status_of(first: &[u8]) -> Option<u16> {
    let line = String::from_utf8_lossy(first);
    line.split_whitespace().nth(1)?.parse().ok()
}

fn relay(mut conn: TcpStream, upstream: SocketAddr, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Some((head, mut body)) = read_head(&mut conn) else {
        return;
    };
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut seen = GateRequest {
        method,
        path,
        status: None,
        forwarded: false,
    };
    if seen.is_submission() && shared.hold.load(Ordering::SeqCst) {
        // Read the whole body first: closing on an unread body would reset
        // the connection and the app would see a network error, not a 503.
        let want = content_length(&head);
        let mut chunk = [0u8; 8192];
        while body.len() < want {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let _ = conn.shutdown(Shutdown::Both);
        seen.status = Some(503);
        shared.record(seen);
        return;
    }
    seen.forwarded = true;
    let Ok(mut up) = TcpStream::connect(upstream) else {
        let _ = conn.shutdown(Shutdown::Both);
        shared.record(seen);
        return;
    };
    if up.write_all(close_after(&head).as_bytes()).is_err() || up.write_all(&body).is_err() {
        shared.record(seen);
        return;
    }
    // The rest of the body, as the app sends it.
    let (Ok(mut from_app), Ok(mut to_platform)) = (conn.try_clone(), up.try_clone()) else {
        shared.record(seen);
        return;
    };
    let _ = from_app.set_read_timeout(None);
    let upload = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_app, &mut to_platform);
    });
    // The answer, byte for byte, until the platform closes (it was asked to).
    let mut chunk = vec![0u8; 64 * 1024];
    let mut first = Vec::new();
    loop {
        match up.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if first.len() < 64 {
                    first.extend_from_slice(&chunk[..n.min(64)]);
                }
                if conn.write_all(&chunk[..n]).is_err() {
                    break;
                }
            }
        }
    }
    seen.status = status_of(&first);
    let _ = conn.shutdown(Shutdown::Both);
    let _ = up.shutdown(Shutdown::Both);
    let _ = upload.join();
    shared.record(seen);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_needs() {
        let head = "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nconnection: keep-alive\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(content_length(head), 12);
        let closed = close_after(head);
        assert!(closed.ends_with("Connection: close\r\n\r\n"));
        assert!(!closed.contains("keep-alive"));
        assert_eq!(status_of(b"HTTP/1.1 201 Created\r\n"), Some(201));
        let r = GateRequest {
            method: "POST".into(),
            path: "/api/v1/submissions".into(),
            status: None,
            forwarded: false,
        };
        assert!(r.is_submission());
    }

    /// Relays a request to a tiny upstream, and holds back an upload.
    #[test]
    fn relays_and_holds_back_uploads() -> Result<()> {
        let platform = TcpListener::bind("127.0.0.1:0")?;
        let upstream = format!("http://{}", platform.local_addr()?);
        let server = std::thread::spawn(move || -> Result<String> {
            let (mut c, _) = platform.accept()?;
            let (head, _) = read_head(&mut c).ok_or_else(|| anyhow::anyhow!("no head"))?;
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")?;
            Ok(head)
        });
        let gate = UploadGate::start(&upstream)?;
        let ask = |req: &str| -> Result<String> {
            let mut c = TcpStream::connect(gate.addr)?;
            c.write_all(req.as_bytes())?;
            let mut out = String::new();
            c.read_to_string(&mut out)?;
            Ok(out)
        };
        gate.hold(true);
        let held =
            ask("POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")?;
        assert!(held.starts_with("HTTP/1.1 503"), "{held}");
        let got = ask("GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")?;
        assert!(got.ends_with("\r\n\r\nok"), "{got}");
        let head = server
            .join()
            .map_err(|_| anyhow::anyhow!("server panicked"))??;
        assert!(head.contains("Connection: close") && !head.contains("keep-alive"));
        // The log is written once each relay finished.
        std::thread::sleep(Duration::from_millis(200));
        let seen = gate.requests();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(gate.submissions()[0].status, Some(503));
        assert!(!gate.submissions()[0].forwarded);
        assert_eq!(seen[1].status, Some(200));
        Ok(())
    }
}
