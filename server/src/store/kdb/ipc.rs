//! kdb+ IPC framing: the handshake, message frames, decompression and a
//! decoder of replies into `kdbplus` K objects
//! (<https://code.kx.com/q/basics/ipc/>).
//!
//! Why not `kdbplus`'s own `QStream`: its frame reader calls `read` into
//! the start of its buffer on every loop turn, so a reply that arrives in
//! more than one TCP segment is corrupted, and it spins forever on EOF when
//! q closes the connection (the `protocol_*` tests show both cases handled
//! here). It also prints to stdout on connect, unwraps DNS lookups and
//! panics on a failed TLS handshake. Encoding stays with `kdbplus`
//! (`Query::serialize`, checked against documented bytes in the
//! `serialization_*` tests); decoding of its private reader is replaced by
//! [`decode`].

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate};
use kdbplus::ipc::{J, K, KDB_TIMESTAMP_OFFSET, Query, qmsg_type, qnull};
use kdbplus::{qattribute, qtype};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::KdbError;

/// Largest reply accepted (q's own limit for capability 3 is 2 GiB).
pub const MAX_MESSAGE: usize = 1 << 30;

/// Anything a connection can run over (TCP or a Unix socket).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One logged-in connection to q.
pub struct Conn {
    io: Box<dyn Io>,
}

fn broke(e: std::io::Error) -> KdbError {
    KdbError::Down(format!("the connection to kdb+ broke: {e}"))
}

impl Conn {
    /// Logs in with `user:password` (capability 3: no 1 TB messages, which
    /// the server never needs). q closes the socket on a bad login.
    pub async fn login(mut io: Box<dyn Io>, user: &str, password: &str) -> Result<Conn, KdbError> {
        let mut hello = Vec::with_capacity(user.len() + password.len() + 3);
        hello.extend_from_slice(user.as_bytes());
        hello.push(b':');
        hello.extend_from_slice(password.as_bytes());
        hello.extend_from_slice(&[3, 0]);
        io.write_all(&hello).await.map_err(broke)?;
        let mut cap = [0u8; 1];
        match io.read(&mut cap).await {
            Ok(1) => Ok(Conn { io }),
            _ => Err(KdbError::Down(format!(
                "kdb+ refused the login of user '{user}' (check the user file given to q with -U)"
            ))),
        }
    }

    /// Sends a sync message and returns q's response (asynchronous messages
    /// q may push meanwhile are skipped).
    pub async fn call(&mut self, msg: &K) -> Result<K, KdbError> {
        // `true`: never compress what we send (q accepts both).
        let bytes = msg.serialize(qmsg_type::synchronous, true).await;
        self.io.write_all(&bytes).await.map_err(broke)?;
        loop {
            let (kind, k) = self.receive().await?;
            if kind == qmsg_type::response {
                return Ok(k);
            }
        }
    }

    /// Sends an async message (no reply).
    pub async fn send_async(&mut self, msg: &K) -> Result<(), KdbError> {
        let bytes = msg.serialize(qmsg_type::asynchronous, true).await;
        self.io.write_all(&bytes).await.map_err(broke)
    }

    async fn receive(&mut self) -> Result<(u8, K), KdbError> {
        let mut head = [0u8; 8];
        self.io.read_exact(&mut head).await.map_err(broke)?;
        let little = head[0] == 1;
        let len = frame_len(&head, little);
        if !(8..=MAX_MESSAGE).contains(&len) {
            return Err(KdbError::Protocol(format!("a message of {len} bytes")));
        }
        let mut msg = vec![0u8; len];
        msg[..8].copy_from_slice(&head);
        self.io.read_exact(&mut msg[8..]).await.map_err(broke)?;
        let msg = if head[2] == 1 {
            decompress(&msg, little)?
        } else {
            msg
        };
        Ok((head[1], decode(&msg[8..], little)?))
    }
}

fn frame_len(head: &[u8], little: bool) -> usize {
    let b = [head[4], head[5], head[6], head[7]];
    (if little {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    }) as usize
}

/// Inflates a compressed message (header included) into the uncompressed
/// message, following the algorithm of KX's reference clients (`c.java`).
pub fn decompress(msg: &[u8], little: bool) -> Result<Vec<u8>, KdbError> {
    let bad = || KdbError::Protocol("a corrupt compressed message".into());
    if msg.len() < 12 {
        return Err(bad());
    }
    let total = frame_len(&msg[4..12], little);
    if !(8..=MAX_MESSAGE).contains(&total) {
        return Err(bad());
    }
    let mut dst = vec![0u8; total];
    dst[..8].copy_from_slice(&msg[..8]);
    dst[2] = 0;
    let mut table = [0usize; 256];
    let (mut s, mut p, mut d) = (8usize, 8usize, 12usize);
    let (mut i, mut f) = (0u16, 0u8);
    let byte = |d: usize| msg.get(d).copied().ok_or_else(bad);
    while s < total {
        if i == 0 {
            f = byte(d)?;
            d += 1;
            i = 1;
        }
        let mut n = 0usize;
        if u16::from(f) & i != 0 {
            let mut r = table[usize::from(byte(d)?)];
            d += 1;
            if s + 2 > total || r + 2 > s {
                return Err(bad());
            }
            dst[s] = dst[r];
            dst[s + 1] = dst[r + 1];
            s += 2;
            r += 2;
            n = usize::from(byte(d)?);
            d += 1;
            if s + n > total {
                return Err(bad());
            }
            for m in 0..n {
                dst[s + m] = dst[r + m];
            }
        } else {
            dst[s] = byte(d)?;
            s += 1;
            d += 1;
        }
        while p + 1 < s {
            table[usize::from(dst[p] ^ dst[p + 1])] = p;
            p += 1;
        }
        if u16::from(f) & i != 0 {
            s += n;
            p = s;
        }
        i <<= 1;
        if i == 256 {
            i = 0;
        }
    }
    Ok(dst)
}

/// Decodes a message body into a K object.
pub fn decode(body: &[u8], little: bool) -> Result<K, KdbError> {
    let mut r = Reader {
        b: body,
        p: 0,
        little,
    };
    let k = r.obj(0)?;
    if r.p != body.len() {
        return Err(KdbError::Protocol("trailing bytes after a reply".into()));
    }
    Ok(k)
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
    little: bool,
}

fn eof() -> KdbError {
    KdbError::Protocol("a reply ended early".into())
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], KdbError> {
        let end = self.p.checked_add(n).ok_or_else(eof)?;
        let s = self.b.get(self.p..end).ok_or_else(eof)?;
        self.p = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, KdbError> {
        Ok(self.take(1)?[0])
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], KdbError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        if !self.little {
            a.reverse();
        }
        Ok(a)
    }
    fn i16(&mut self) -> Result<i16, KdbError> {
        Ok(i16::from_le_bytes(self.arr()?))
    }
    fn i32(&mut self) -> Result<i32, KdbError> {
        Ok(i32::from_le_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Result<i64, KdbError> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    fn f32(&mut self) -> Result<f32, KdbError> {
        Ok(f32::from_le_bytes(self.arr()?))
    }
    fn f64(&mut self) -> Result<f64, KdbError> {
        Ok(f64::from_le_bytes(self.arr()?))
    }
    fn guid(&mut self) -> Result<[u8; 16], KdbError> {
        let mut g = [0u8; 16];
        g.copy_from_slice(self.take(16)?);
        Ok(g)
    }
    fn cstr(&mut self) -> Result<String, KdbError> {
        let rest = self.b.get(self.p..).ok_or_else(eof)?;
        let n = rest.iter().position(|c| *c == 0).ok_or_else(eof)?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.p += n + 1;
        Ok(s)
    }
    fn count(&mut self) -> Result<usize, KdbError> {
        let _attr = self.u8()?;
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| KdbError::Protocol("a negative count".into()))?;
        // Every item takes at least one byte: refuse counts the body cannot hold.
        if n > self.b.len() - self.p {
            return Err(eof());
        }
        Ok(n)
    }
    fn many<T>(
        &mut self,
        n: usize,
        f: impl Fn(&mut Self) -> Result<T, KdbError>,
    ) -> Result<Vec<T>, KdbError> {
        (0..n).map(|_| f(self)).collect()
    }

    fn obj(&mut self, depth: usize) -> Result<K, KdbError> {
        if depth > 64 {
            return Err(KdbError::Protocol("a reply nested too deep".into()));
        }
        let t = self.u8()? as i8;
        let none = qattribute::NONE;
        Ok(match t {
            qtype::ERROR => K::new_error(self.cstr()?),
            -1 => K::new_bool(self.u8()? != 0),
            -2 => K::new_guid(self.guid()?),
            -4 => K::new_byte(self.u8()?),
            -5 => K::new_short(self.i16()?),
            -6 => K::new_int(self.i32()?),
            -7 => K::new_long(self.i64()?),
            -8 => K::new_real(self.f32()?),
            -9 => K::new_float(self.f64()?),
            -10 => K::new_char(char::from(self.u8()?)),
            -11 => K::new_symbol(self.cstr()?),
            -12 => K::new_timestamp(timestamp(self.i64()?)),
            -14 => K::new_date(date(self.i32()?)),
            0 => {
                let n = self.count()?;
                K::new_compound_list(self.many(n, |r| r.obj(depth + 1))?)
            }
            1 => {
                let n = self.count()?;
                K::new_bool_list(self.many(n, |r| Ok(r.u8()? != 0))?, none)
            }
            2 => {
                let n = self.count()?;
                K::new_guid_list(self.many(n, Reader::guid)?, none)
            }
            4 => {
                let n = self.count()?;
                K::new_byte_list(self.take(n)?.to_vec(), none)
            }
            5 => {
                let n = self.count()?;
                K::new_short_list(self.many(n, Reader::i16)?, none)
            }
            6 => {
                let n = self.count()?;
                K::new_int_list(self.many(n, Reader::i32)?, none)
            }
            7 => {
                let n = self.count()?;
                K::new_long_list(self.many(n, Reader::i64)?, none)
            }
            8 => {
                let n = self.count()?;
                K::new_real_list(self.many(n, Reader::f32)?, none)
            }
            9 => {
                let n = self.count()?;
                K::new_float_list(self.many(n, Reader::f64)?, none)
            }
            10 => {
                let n = self.count()?;
                K::new_string(String::from_utf8_lossy(self.take(n)?).into_owned(), none)
            }
            11 => {
                let n = self.count()?;
                K::new_symbol_list(self.many(n, Reader::cstr)?, none)
            }
            12 => {
                let n = self.count()?;
                // kdbplus keeps a separate count, so build through its
                // constructor (exact: q timestamps fit chrono's nanoseconds).
                let v = self.many(n, Reader::i64)?;
                K::new_timestamp_list(v.into_iter().map(timestamp).collect(), none)
            }
            14 => {
                let n = self.count()?;
                let v = self.many(n, Reader::i32)?;
                K::new_date_list(v.into_iter().map(date).collect(), none)
            }
            98 => {
                let _attr = self.u8()?;
                let dict = self.obj(depth + 1)?;
                if dict.get_type() != qtype::DICTIONARY {
                    return Err(KdbError::Protocol(
                        "a table without a column dictionary".into(),
                    ));
                }
                dict.flip()
                    .map_err(|e| KdbError::Protocol(format!("a malformed table: {e}")))?
            }
            99 | 127 => {
                let keys = self.obj(depth + 1)?;
                let values = self.obj(depth + 1)?;
                K::new_dictionary(keys, values)
                    .map_err(|e| KdbError::Protocol(format!("a malformed dictionary: {e}")))?
            }
            101 => {
                let _ = self.u8()?;
                K::new_null()
            }
            other => {
                return Err(KdbError::Protocol(format!(
                    "q type {other} is not used by the Vitals functions"
                )));
            }
        })
    }
}

fn timestamp(nanos: i64) -> DateTime<chrono::Utc> {
    if nanos == J::MIN {
        // kdbplus encodes anything at or before its null as 0Np.
        return DateTime::<chrono::Utc>::MIN_UTC;
    }
    DateTime::from_timestamp_nanos(nanos.saturating_add(KDB_TIMESTAMP_OFFSET))
}

fn date(days: i32) -> NaiveDate {
    if days == i32::MIN {
        return qnull::DATE;
    }
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.checked_add_signed(ChronoDuration::days(i64::from(days))))
        .unwrap_or(qnull::DATE)
}
