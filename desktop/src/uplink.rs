//! The upload connection: one keep-alive HTTP/1.1 connection (TLS with
//! rustls for `https`) carrying `POST /api/v1/ingest`, blocking, with sending
//! a batch and reading its answer as two separate steps.
//!
//! Why the ingest path does not use reqwest, which makes every other call
//! (policy, registration, revoke, links): the uploader sends a batch right
//! after a sample and reads the answer at the next sample, when it has long
//! been waiting in the socket. The process then wakes once per sample and
//! never for an answer; on the machines measured a wake-up is most of what a
//! 1 Hz agent costs (`docs/BENCHMARKS.md`). An async client is woken by the
//! answer, by its timers and across threads.
//!
//! Every step ends by a deadline the caller gives (when the next sample is
//! due), name lookup included, so a dead or slow network never delays
//! sampling. The answer is parsed with `httparse` (hyper's parser); bodies
//! come with `content-length`, chunked, or until the server closes.
//! Certificates are verified with the platform's roots (the same verifier
//! reqwest uses) plus an optional CA file.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;

/// Largest answer accepted (head and body); ingest answers are ~200 bytes.
const MAX_ANSWER: usize = 1 << 20;

/// A connection idle longer than this is checked before it is written to.
const IDLE_CHECK: Duration = Duration::from_secs(2);

/// Socket timeouts are the time left to the deadline rounded down to this
/// step, so consecutive steps usually need no new `setsockopt`.
const TIMEOUT_STEP: Duration = Duration::from_millis(100);

/// One server answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The connection to one server's ingest endpoint, for one token.
pub struct Uplink {
    host: url::Host<String>,
    port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    /// The request head up to the body length; it holds the token.
    head: Vec<u8>,
    conn: Option<Stream>,
    /// Bytes read and not yet part of an answer.
    buf: Vec<u8>,
    /// The socket timeout set on `conn`, so it is set again only when it
    /// changes (one system call less per step).
    timeout: Option<Duration>,
    /// When `conn` last carried bytes.
    last_io: Instant,
}

impl std::fmt::Debug for Uplink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the head: it carries the token.
        f.debug_struct("Uplink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} took too long"))
}

/// Time left until `deadline`, at least a millisecond (socket timeouts
/// cannot be zero).
fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// The certificates of a CA file (PEM), for a self-hosted server; an
/// unreadable file or one without a certificate is explained. Both HTTP
/// clients (this one and reqwest's) trust what this returns.
pub fn ca_certificates(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read the CA file '{}': {e}", path.display()))?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("'{}' holds no PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("'{}' holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The TLS settings: the platform's roots plus the certificates in `ca_file`.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let extra = match ca_file {
        Some(path) => ca_certificates(path)?,
        None => Vec::new(),
    };
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(|e| format!("cannot set up certificate verification: {e}"))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Uplink {
    /// For `server` (`http://` or `https://`, with an optional base path),
    /// sending with `token`.
    pub fn new(server: &str, token: &str, ca_file: Option<&Path>) -> Result<Uplink, String> {
        let url = url::Url::parse(server.trim())
            .map_err(|e| format!("'{server}' is not a server URL: {e}"))?;
        let host = url
            .host()
            .map(|h| h.to_owned())
            .ok_or_else(|| format!("'{server}' names no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("'{server}' names no port"))?;
        let tls = match url.scheme() {
            "http" => None,
            "https" => {
                let name = ServerName::try_from(host.to_string().trim_matches(['[', ']']))
                    .map_err(|e| format!("'{host}' cannot be checked against a certificate: {e}"))?
                    .to_owned();
                Some((tls_config(ca_file)?, name))
            }
            s => {
                return Err(format!(
                    "'{server}': the scheme must be http or https, not {s}"
                ));
            }
        };
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let head = format!(
            "POST {}/api/v1/ingest HTTP/1.1\r\nhost: {authority}\r\nuser-agent: vitals/{}\r\n\
             authorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: ",
            url.path().trim_end_matches('/'),
            env!("CARGO_PKG_VERSION"),
        );
        Ok(Uplink {
            host,
            port,
            tls,
            head: head.into_bytes(),
            conn: None,
            buf: Vec::new(),
            timeout: None,
            last_io: Instant::now(),
        })
    }

    /// Forgets the connection (the next send opens a new one).
    pub fn reset(&mut self) {
        self.conn = None;
        self.buf.clear();
        self.timeout = None;
    }

    fn addresses(&self, deadline: Instant) -> io::Result<Vec<SocketAddr>> {
        let name = match &self.host {
            url::Host::Ipv4(ip) => return Ok(vec![SocketAddr::new(IpAddr::V4(*ip), self.port)]),
            url::Host::Ipv6(ip) => return Ok(vec![SocketAddr::new(IpAddr::V6(*ip), self.port)]),
            url::Host::Domain(d) => d.clone(),
        };
        // The system resolver has no timeout of its own: ask it on a helper
        // thread and stop waiting at the deadline.
        let (tx, rx) = std::sync::mpsc::channel();
        let port = self.port;
        let lookup = name.clone();
        std::thread::Builder::new()
            .name("resolve".into())
            .spawn(move || {
                let _ = tx.send(
                    (lookup.as_str(), port)
                        .to_socket_addrs()
                        .map(Vec::from_iter),
                );
            })?;
        match rx.recv_timeout(left(deadline)) {
            Ok(Ok(a)) if !a.is_empty() => Ok(a),
            Ok(Ok(_)) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("'{name}' has no address"),
            )),
            Ok(Err(e)) => Err(io::Error::new(
                e.kind(),
                format!("cannot look up '{name}': {e}"),
            )),
            Err(_) => Err(timed_out(&format!("looking up '{name}'"))),
        }
    }

    fn connect(&mut self, deadline: Instant) -> io::Result<()> {
        let mut last = None;
        for addr in self.addresses(deadline)? {
            match TcpStream::connect_timeout(&addr, left(deadline)) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    self.conn = Some(match &self.tls {
                        None => Stream::Plain(s),
                        Some((config, name)) => {
                            let c = rustls::ClientConnection::new(config.clone(), name.clone())
                                .map_err(io::Error::other)?;
                            Stream::Tls(Box::new(rustls::StreamOwned::new(c, s)))
                        }
                    });
                    self.buf.clear();
                    self.timeout = None;
                    self.last_io = Instant::now();
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| timed_out("connecting")))
    }

    /// Whether the server closed the connection while it was idle (after a
    /// back-off or a pause; not between samples, when it was used a moment
    /// ago); then a new one is opened rather than writing into a dead one.
    fn closed_by_server(&self) -> bool {
        let Some(c) = &self.conn else {
            return false;
        };
        if self.last_io.elapsed() < IDLE_CHECK {
            return false;
        }
        let s = c.tcp();
        if s.set_nonblocking(true).is_err() {
            return true;
        }
        let mut b = [0u8; 1];
        let closed = match s.peek(&mut b) {
            Ok(0) => true,
            Ok(_) => false, // bytes nobody asked for; read_answer will say so
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        closed || s.set_nonblocking(false).is_err()
    }

    /// Writes one request with `body`, opening the connection if needed;
    /// does not wait for the answer.
    pub fn send(&mut self, body: &[u8], deadline: Instant) -> io::Result<()> {
        if self.closed_by_server() {
            self.reset();
        }
        if self.conn.is_none() {
            self.connect(deadline)?;
        }
        let mut req = Vec::with_capacity(self.head.len() + body.len() + 24);
        req.extend_from_slice(&self.head);
        req.extend_from_slice(format!("{}\r\n\r\n", body.len()).as_bytes());
        req.extend_from_slice(body);
        let res = self.with_timeouts(deadline, |c| {
            c.write_all(&req)?;
            c.flush()
        });
        match res {
            Ok(()) => self.last_io = Instant::now(),
            Err(_) => self.reset(),
        }
        res
    }

    fn with_timeouts<T>(
        &mut self,
        deadline: Instant,
        f: impl FnOnce(&mut Stream) -> io::Result<T>,
    ) -> io::Result<T> {
        let c = self
            .conn
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "not connected"))?;
        let left = left(deadline);
        let t = if left > TIMEOUT_STEP {
            TIMEOUT_STEP * (left.as_millis() / TIMEOUT_STEP.as_millis()) as u32
        } else {
            left
        };
        if self.timeout != Some(t) {
            c.tcp().set_read_timeout(Some(t))?;
            c.tcp().set_write_timeout(Some(t))?;
            self.timeout = Some(t);
        }
        f(c)
    }

    /// Reads the answer to the request sent. `Ok(None)`: not all of it has
    /// arrived by `deadline` (call again later; what came is kept).
    pub fn receive(&mut self, deadline: Instant) -> io::Result<Option<Answer>> {
        match self.receive_inner(deadline) {
            Ok(Some((a, close))) => {
                if close {
                    self.reset();
                }
                Ok(Some(a))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    fn receive_inner(&mut self, deadline: Instant) -> io::Result<Option<(Answer, bool)>> {
        if self.conn.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no request is waiting for an answer",
            ));
        }
        loop {
            if let Some(a) = parse(&mut self.buf, false)? {
                return Ok(Some(a));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let mut chunk = [0u8; 4096];
            let n = match self.with_timeouts(deadline, |c| c.read(&mut chunk)) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let eof = n == 0;
            self.last_io = Instant::now();
            self.buf.extend_from_slice(&chunk[..n]);
            if self.buf.len() > MAX_ANSWER {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the server's answer is larger than 1 MiB",
                ));
            }
            if eof {
                // The server closed: what came must be a whole answer.
                return match parse(&mut self.buf, true)? {
                    Some((a, _)) => Ok(Some((a, true))),
                    None => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before answering",
                    )),
                };
            }
        }
    }
}

/// Takes one whole answer off the front of `buf`, and whether the server
/// asked to close the connection. `closed`: no more bytes will come, so a
/// body without a length ends here.
fn parse(buf: &mut Vec<u8>, closed: bool) -> io::Result<Option<(Answer, bool)>> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(bad(format!("the server's answer is not HTTP: {e}"))),
    };
    let status = r.code.unwrap_or(0);
    let (mut length, mut chunked, mut close, mut retry_after) = (None, false, false, None);
    for h in r.headers.iter() {
        let v = String::from_utf8_lossy(h.value).trim().to_owned();
        if h.name.eq_ignore_ascii_case("content-length") {
            length = Some(
                v.parse::<usize>()
                    .map_err(|_| bad(format!("bad content-length '{v}'")))?,
            );
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().ends_with("chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = v.eq_ignore_ascii_case("close");
        } else if h.name.eq_ignore_ascii_case("retry-after") {
            retry_after = Some(v);
        }
    }
    if (100..200).contains(&status) {
        // An interim answer (100 Continue): skip it, the real one follows.
        buf.drain(..head_len);
        return parse(buf, closed);
    }
    let rest = &buf[head_len..];
    let (body, used) = if chunked {
        match dechunk(rest)? {
            Some(x) => x,
            None => return Ok(None),
        }
    } else if let Some(n) = length {
        if n > MAX_ANSWER {
            return Err(bad(format!("the server announces a {n}-byte answer")));
        }
        if rest.len() < n {
            return Ok(None);
        }
        (rest[..n].to_vec(), n)
    } else if status == 204 || status == 304 {
        (Vec::new(), 0)
    } else if closed {
        (rest.to_vec(), rest.len())
    } else {
        return Ok(None);
    };
    buf.drain(..head_len + used);
    let answer = Answer {
        status,
        retry_after,
        body,
    };
    // A body that ran to the end of the connection ends it too.
    Ok(Some((
        answer,
        close || (closed && length.is_none() && !chunked),
    )))
}

/// Decodes a chunked body from the front of `b`: the body and the bytes it
/// took, or `None` while incomplete.
fn dechunk(b: &[u8]) -> io::Result<Option<(Vec<u8>, usize)>> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_owned());
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(eol) = b[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&b[at..at + eol]).map_err(|_| bad("bad chunk size"))?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        at += eol + 2;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let Some(end) = b[at..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            if end == 0 {
                return Ok(Some((body, at + 2)));
            }
            at += end + 2;
            continue;
        }
        if body.len() + size > MAX_ANSWER {
            return Err(bad("the server's answer is larger than 1 MiB"));
        }
        if b.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&b[at..at + size]);
        at += size + 2;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A peer that answers each request with the next of `answers`, sent in
    /// pieces of `piece` bytes, and records the requests it read. Not a
    /// Vitals server: it checks this client's side of HTTP/1.1.
    pub(crate) fn peer(
        answers: Vec<&'static [u8]>,
        piece: usize,
    ) -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/base/", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut answers = answers.into_iter().peekable();
            'conns: while let Ok((mut s, _)) = l.accept() {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                loop {
                    let mut req = Vec::new();
                    let mut b = [0u8; 4096];
                    // A whole request: head and the content-length it names.
                    while !complete(&req) {
                        match s.read(&mut b) {
                            Ok(0) | Err(_) => continue 'conns,
                            Ok(n) => req.extend_from_slice(&b[..n]),
                        }
                    }
                    seen.push(req);
                    let Some(a) = answers.next() else {
                        return seen;
                    };
                    for c in a.chunks(piece) {
                        s.write_all(c).unwrap();
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    if answers.peek().is_none() {
                        return seen;
                    }
                    if a.windows(17)
                        .any(|w| w.eq_ignore_ascii_case(b"connection: close"))
                    {
                        continue 'conns;
                    }
                }
            }
            seen
        });
        (url, h)
    }

    fn complete(req: &[u8]) -> bool {
        let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&req[..end]).to_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        req.len() >= end + 4 + len
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    const OK: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

    #[test]
    fn protocol_sends_the_request_and_reads_answers_of_every_framing() {
        let (url, peer) = peer(
            vec![
                OK,
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\ncontent-length: 4\r\n\r\nslow",
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\ndown",
                OK,
            ],
            5,
        );
        let mut u = Uplink::new(&url, "secret-token", None).unwrap();
        assert!(!format!("{u:?}").contains("secret-token"));
        let mut answers = Vec::new();
        for body in [&b"{\"a\":1}"[..], b"[2]", b"3", b"4", b"5", b"6"] {
            u.send(body, soon()).unwrap();
            // Sent in 5-byte pieces: keep reading until it is whole.
            let a = loop {
                if let Some(a) = u.receive(soon()).unwrap() {
                    break a;
                }
            };
            answers.push(a);
        }
        let st: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(st, vec![200, 429, 200, 204, 503, 200]);
        assert_eq!(answers[1].retry_after.as_deref(), Some("7"));
        assert_eq!(answers[2].body, b"abcde");
        assert_eq!(answers[4].body, b"down", "a body that runs to the close");
        let seen = peer.join().unwrap();
        assert_eq!(
            seen.len(),
            6,
            "every request arrived, the last on a new connection"
        );
        let first = String::from_utf8(seen[0].clone()).unwrap();
        assert!(
            first.starts_with("POST /base/api/v1/ingest HTTP/1.1\r\n"),
            "{first}"
        );
        assert!(first.contains("\r\nauthorization: Bearer secret-token\r\n"));
        assert!(first.contains("\r\ncontent-length: 7\r\n\r\n{\"a\":1}"));
    }

    #[test]
    fn protocol_an_answer_not_there_yet_is_waited_for_at_the_next_turn() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 4096];
            let _ = s.read(&mut b).unwrap();
            s.write_all(&OK[..20]).unwrap();
            rx.recv().unwrap();
            s.write_all(&OK[20..]).unwrap();
            std::thread::sleep(Duration::from_millis(200));
        });
        let mut u = Uplink::new(&url, "t", None).unwrap();
        u.send(b"{}", soon()).unwrap();
        let t = Instant::now();
        let short = Instant::now() + Duration::from_millis(150);
        assert_eq!(
            u.receive(short).unwrap(),
            None,
            "half an answer is not an answer"
        );
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "the deadline was not kept"
        );
        tx.send(()).unwrap();
        let a = loop {
            if let Some(a) = u.receive(soon()).unwrap() {
                break a;
            }
        };
        assert_eq!((a.status, a.body.as_slice()), (200, &b"{}"[..]));
        h.join().unwrap();
    }

    #[test]
    fn protocol_garbage_and_huge_answers_are_errors_and_the_connection_is_dropped() {
        let (url, peer) = peer(
            vec![
                b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
                b"HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\n\r\n",
                OK,
            ],
            1024,
        );
        let mut u = Uplink::new(&url, "t", None).unwrap();
        u.send(b"1", soon()).unwrap();
        let e = u.receive(soon()).unwrap_err();
        assert!(e.to_string().contains("not HTTP"), "{e}");
        u.send(b"2", soon()).unwrap();
        let e = u.receive(soon()).unwrap_err();
        assert!(e.to_string().contains("99999999"), "{e}");
        u.send(b"3", soon()).unwrap();
        assert_eq!(u.receive(soon()).unwrap().unwrap().status, 200);
        assert_eq!(peer.join().unwrap().len(), 3);
    }

    #[test]
    fn unreachable_servers_and_bad_urls_fail_within_the_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        drop(l);
        let mut u = Uplink::new(&url, "t", None).unwrap();
        let t = Instant::now();
        assert!(
            u.send(b"x", Instant::now() + Duration::from_millis(500))
                .is_err()
        );
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(u.receive(soon()).is_err(), "nothing was sent");
        for bad in ["ftp://x", "not a url", "http://"] {
            assert!(Uplink::new(bad, "t", None).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate").unwrap();
        let e = Uplink::new("https://localhost", "t", Some(&f)).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
    }
}
