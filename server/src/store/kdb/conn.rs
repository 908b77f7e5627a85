//! Connections to q: where to connect, a small pool, reconnect with backoff.
//!
//! Host names are resolved here (tokio), TCP and q's Unix socket are opened
//! here, and the IPC framing is [`super::ipc`]'s (see there for why not
//! `kdbplus`'s `QStream`). TLS to q is not offered: the recommended
//! deployment is q on the same host over its Unix socket, or a private
//! network (docs/KDB.md).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kdbplus::ipc::K;
use kdbplus::qtype;
use tokio::sync::Mutex;

use super::KdbError;
use super::ipc::{Conn, Io};

/// How the server reaches q.
#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    /// TCP to `host:port` (a name is resolved by the server, not by kdbplus).
    Tcp {
        /// Host name or IP.
        host: String,
        /// Port.
        port: u16,
    },
    /// q's Unix-domain socket for `-p port` on this host (Linux abstract
    /// socket `@/tmp/kx.PORT`, or `$QUDSPATH/kx.PORT`).
    Unix {
        /// q's port.
        port: u16,
    },
}

/// A parsed `kdb://user:pass@host:port` or `kdb+unix://user:pass@localhost:port`.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// Where.
    pub transport: Transport,
    /// The q user.
    pub user: String,
    password: String,
}

impl Target {
    /// Parses a store URL. The error never contains the password.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (unix, rest) = if let Some(r) = url.strip_prefix("kdb://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("kdb+unix://") {
            (true, r)
        } else {
            return Err("a kdb+ store URL starts with kdb:// or kdb+unix://".into());
        };
        let Some((cred, addr)) = rest.rsplit_once('@') else {
            return Err(
                "the kdb+ store URL needs a user and password: kdb://USER:PASSWORD@HOST:PORT"
                    .into(),
            );
        };
        let Some((user, password)) = cred.split_once(':') else {
            return Err("the kdb+ store URL needs USER:PASSWORD before the @".into());
        };
        if user.is_empty() || user.contains(':') {
            return Err("the kdb+ user name is empty or contains ':'".into());
        }
        let addr = addr.trim_end_matches('/');
        let Some((host, port)) = addr.rsplit_once(':') else {
            return Err(format!("the kdb+ address '{addr}' needs a port: HOST:PORT"));
        };
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("the kdb+ port '{port}' is not a number from 1 to 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("the kdb+ address has no host".into());
        }
        let transport = if unix {
            if !matches!(host, "localhost" | "127.0.0.1" | "::1") {
                return Err("kdb+unix:// reaches q on this host only: use localhost".into());
            }
            Transport::Unix { port }
        } else {
            Transport::Tcp {
                host: host.to_owned(),
                port,
            }
        };
        Ok(Target {
            transport,
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// Shows the target without its password.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            Transport::Tcp { host, port } => write!(f, "kdb://{}:***@{host}:{port}", self.user),
            Transport::Unix { port } => write!(f, "kdb+unix://{}:***@localhost:{port}", self.user),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Pool and retry settings.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Connections kept open.
    pub connections: usize,
    /// Longest wait for a connect or a reply.
    pub timeout: Duration,
    /// First pause after a failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest pause between reconnect attempts.
    pub max_backoff: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        Self {
            connections: 4,
            timeout: Duration::from_secs(10),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Default)]
struct Health {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: String,
}

/// A pool of connections to one q process. Calls fail fast with
/// [`KdbError::Down`] while q is unreachable; after the backoff pause the
/// next call tries again, so the server recovers by itself.
pub struct Link {
    target: Target,
    opts: LinkOptions,
    slots: Vec<Mutex<Option<Conn>>>,
    next: AtomicUsize,
    health: StdMutex<Health>,
}

impl Link {
    /// A pool that connects on first use.
    pub fn new(target: Target, opts: LinkOptions) -> Self {
        let slots = (0..opts.connections.max(1))
            .map(|_| Mutex::new(None))
            .collect();
        Self {
            target,
            opts,
            slots,
            next: AtomicUsize::new(0),
            health: StdMutex::new(Health::default()),
        }
    }

    /// The target (password hidden when shown).
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `msg` synchronously and waits for the reply. A q error reply is
    /// [`KdbError::Q`]; a broken connection drops that connection and is
    /// [`KdbError::Down`].
    pub async fn call(&self, msg: &K) -> Result<K, KdbError> {
        self.exchange(None, msg).await
    }

    /// Sends `first` asynchronously, then `then` synchronously, **on the same
    /// connection**: q reads one connection in order, so `then`'s answer
    /// means `first` has been processed (the tickerplant's flush).
    pub async fn send_then_call(&self, first: &K, then: &K) -> Result<K, KdbError> {
        self.exchange(Some(first), then).await
    }

    async fn exchange(&self, first: Option<&K>, msg: &K) -> Result<K, KdbError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[i].lock().await;
        let stream = match slot.as_mut() {
            Some(s) => s,
            None => slot.insert(self.connect().await?),
        };
        let work = async {
            if let Some(m) = first {
                stream.send_async(m).await?;
            }
            stream.call(msg).await
        };
        match tokio::time::timeout(self.opts.timeout, work).await {
            Ok(Ok(k)) => {
                self.mark_up();
                if k.get_type() == qtype::ERROR {
                    let text = k.get_error_string().unwrap_or("(no message)").to_owned();
                    return Err(KdbError::Q(text));
                }
                Ok(k)
            }
            Ok(Err(e)) => {
                *slot = None;
                Err(match e {
                    KdbError::Down(why) => self.mark_down(why),
                    other => other,
                })
            }
            Err(_) => {
                // The reply may still arrive later; this connection's
                // framing is unknown now, so it is dropped.
                *slot = None;
                Err(self.mark_down(format!(
                    "kdb+ did not answer within {} s",
                    self.opts.timeout.as_secs()
                )))
            }
        }
    }

    fn mark_up(&self) {
        let mut h = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if h.failures > 0 {
            tracing::info!(target = %self.target, "kdb+ reachable again");
        }
        *h = Health::default();
    }

    fn mark_down(&self, why: String) -> KdbError {
        let mut h = self.health.lock().unwrap_or_else(|p| p.into_inner());
        h.failures = h.failures.saturating_add(1);
        let pause = self
            .opts
            .min_backoff
            .saturating_mul(1u32 << h.failures.saturating_sub(1).min(16))
            .min(self.opts.max_backoff);
        h.retry_at = Some(Instant::now() + pause);
        if h.failures == 1 || h.last_error != why {
            tracing::warn!(target = %self.target, retry_in_ms = pause.as_millis() as u64, "{why}");
        }
        h.last_error = why.clone();
        KdbError::Down(why)
    }

    async fn connect(&self) -> Result<Conn, KdbError> {
        {
            let h = self.health.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = h.retry_at
                && Instant::now() < t
            {
                return Err(KdbError::Down(h.last_error.clone()));
            }
        }
        let attempt = async {
            let io = self.open().await?;
            Conn::login(io, &self.target.user, &self.target.password).await
        };
        match tokio::time::timeout(self.opts.timeout, attempt).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(KdbError::Down(why))) => Err(self.mark_down(why)),
            Ok(Err(other)) => Err(other),
            Err(_) => Err(self.mark_down(format!(
                "connecting to kdb+ at {} took longer than {} s",
                self.target,
                self.opts.timeout.as_secs()
            ))),
        }
    }

    async fn open(&self) -> Result<Box<dyn Io>, KdbError> {
        match &self.target.transport {
            Transport::Tcp { host, port } => {
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(|e| {
                        KdbError::Down(format!("cannot resolve the kdb+ host '{host}': {e}"))
                    })?
                    .collect();
                let mut last = String::from("no address");
                for addr in addrs {
                    match tokio::net::TcpStream::connect(addr).await {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            return Ok(Box::new(s));
                        }
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(KdbError::Down(format!(
                    "cannot connect to kdb+ at {}: {last}",
                    self.target
                )))
            }
            Transport::Unix { port } => unix_socket(*port).map_err(|e| {
                KdbError::Down(format!(
                    "cannot connect to kdb+ at {} (socket @/tmp/kx.{port}): {e}",
                    self.target
                ))
            }),
        }
    }
}

/// q's Unix socket for `-p PORT`: the abstract name `/tmp/kx.PORT` on Linux.
#[cfg(target_os = "linux")]
fn unix_socket(port: u16) -> std::io::Result<Box<dyn Io>> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(format!("/tmp/kx.{port}"))?;
    let s = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    s.set_nonblocking(true)?;
    Ok(Box::new(tokio::net::UnixStream::from_std(s)?))
}

#[cfg(not(target_os = "linux"))]
fn unix_socket(_port: u16) -> std::io::Result<Box<dyn Io>> {
    Err(std::io::Error::other(
        "kdb+unix:// is supported on Linux only; use kdb://",
    ))
}
