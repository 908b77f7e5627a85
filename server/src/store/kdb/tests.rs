//! Tests of the kdb+ backend, named for what they prove:
//!
//! - `serialization_*`: the K objects this backend builds encode to the
//!   bytes of kdb+'s documented serialization examples
//!   (<https://code.kx.com/q/kb/serialization/>, and `-8!` output from a
//!   real q session quoted on the KX forum), or to bytes composed by the
//!   documented layout for types those examples do not show; and replies in
//!   those bytes decode back.
//! - `protocol_*`: an in-process IPC peer on loopback (raw TCP, speaking the
//!   handshake and framing of <https://code.kx.com/q/basics/ipc/>) checks the
//!   messages the store sends and how it handles error replies, dropped
//!   connections and reconnects. **These are not kdb+ tests**: the peer
//!   answers what the test tells it to.
//! - `real_q_*`: the conformance suite and `q/tests/` against a real q, run
//!   only when `VITALS_TEST_Q` names a q binary; otherwise they print
//!   "skipped: VITALS_TEST_Q not set" and check nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kdbplus::ipc::{K, Query, qmsg_type};
use kdbplus::{qattribute, qtype};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use uuid::Uuid;
use vitals_shared::day::Day;
use vitals_shared::wire::{Batch, CpuSample, Metric, RowCounts};

use super::conn::{LinkOptions, Target};
use super::{KdbStore, k};
use crate::identity::InstanceId;
use crate::store::{IngestRequest, Store, StoreError};

fn hex(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("0x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

async fn encode(k: &K) -> Vec<u8> {
    // -8! produces an async-type header; `true` = local, never compressed.
    k.serialize(qmsg_type::asynchronous, true).await
}

/// Little-endian bytes of a serialized message with the given body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![1, kind, 0, 0];
    m.extend_from_slice(&u32::try_from(body.len() + 8).unwrap().to_le_bytes());
    m.extend_from_slice(body);
    m
}

fn sym(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

// ---- serialization --------------------------------------------------------

#[tokio::test]
async fn serialization_matches_documented_examples() {
    // q)-8!1  (KX forum, real q output)
    assert_eq!(
        encode(&k::long(1)).await,
        hex("0x0100000011000000f90100000000000000")
    );
    // q)-8!(1 2;3)  (real q output)
    let list = k::compound(vec![k::longs([1, 2]), k::long(3)]);
    assert_eq!(
        encode(&list).await,
        hex(
            "0x010000002d00000000000200000007000200000001000000000000000200000000000000f90300000000000000"
        )
    );
    // q)-8!`a`b!2 3i  (code.kx.com serialization examples)
    let dict = K::new_dictionary(
        k::symbols(["a", "b"]),
        K::new_int_list(vec![2, 3], qattribute::NONE),
    )
    .unwrap();
    assert_eq!(
        encode(&dict).await,
        hex("0x0100000021000000630b0002000000610062000600020000000200000003000000")
    );
    // q)-8!`byte$enlist til 5  (code.kx.com)
    let bytes = k::compound(vec![K::new_byte_list(
        vec![0, 1, 2, 3, 4],
        qattribute::NONE,
    )]);
    assert_eq!(
        encode(&bytes).await,
        hex("0x01000000190000000000010000000400050000000001020304")
    );
}

#[tokio::test]
async fn serialization_of_a_table_follows_the_documented_layout() {
    // A table is 0x62, an attribute byte, then the dictionary of column
    // names to a general list of columns (code.kx.com, "Table").
    // q)-8!([]a:enlist 2i;b:enlist 3i)
    let t = k::table(vec![
        ("a", K::new_int_list(vec![2], qattribute::NONE)),
        ("b", K::new_int_list(vec![3], qattribute::NONE)),
    ])
    .unwrap();
    assert_eq!(
        encode(&t).await,
        hex(
            "0x010000002f0000006200630b0002000000610062000000020000000600010000000200000006000100000003000000"
        )
    );
}

#[tokio::test]
async fn serialization_of_guids_timestamps_and_nested_floats() {
    // guid vector: type 2, attribute, count, 16 bytes each.
    let id = [0xab_u8; 16];
    let mut body = vec![2, 0, 1, 0, 0, 0];
    body.extend_from_slice(&id);
    assert_eq!(encode(&k::guids([id])).await, message(0, &body));
    // timestamp vector: type 12, nanoseconds since 2000.01.01 as longs.
    // 2026-12-04T11:00:00Z = 1_796_382_000_000 ms since 1970.
    let ms = 1_796_382_000_000_i64;
    let nanos = ms * 1_000_000 - 946_684_800_000_000_000;
    let mut body = vec![12, 0, 1, 0, 0, 0];
    body.extend_from_slice(&nanos.to_le_bytes());
    assert_eq!(encode(&k::timestamps([ms])).await, message(0, &body));
    assert_eq!(k::ms_from_ts(nanos), ms);
    // timestamp atom: type -12 (0xf4).
    let mut body = vec![0xf4];
    body.extend_from_slice(&nanos.to_le_bytes());
    assert_eq!(encode(&k::timestamp(ms)).await, message(0, &body));
    // cores_pct: a general list of float vectors (type 9).
    let nested = k::compound(vec![k::floats([1.5]), k::floats([])]);
    let mut body = vec![0, 0, 2, 0, 0, 0, 9, 0, 1, 0, 0, 0];
    body.extend_from_slice(&1.5_f64.to_le_bytes());
    body.extend_from_slice(&[9, 0, 0, 0, 0, 0]);
    assert_eq!(encode(&nested).await, message(0, &body));
    // A functional call: general list of the function's symbol and args.
    let call = k::call(".vitals.rowCounts", vec![K::new_null()]);
    let mut body = vec![0, 0, 2, 0, 0, 0, 0xf5];
    body.extend(sym(".vitals.rowCounts"));
    body.extend_from_slice(&[101, 0]);
    assert_eq!(encode(&call).await, message(0, &body));
}

// ---- the in-process IPC peer ----------------------------------------------

enum Act {
    Reply(K),
    /// Bytes written as they are, in chunks of `.1` bytes with a pause
    /// between, as a large reply arrives over TCP.
    Raw(Vec<u8>, usize),
    Close,
}

/// A q error reply: type -128 and the message, NUL-terminated.
fn q_error(text: &str) -> Act {
    let mut body = vec![0x80];
    body.extend(sym(text));
    Act::Raw(message(2, &body), usize::MAX)
}

type Responder = Arc<dyn Fn(&[u8]) -> Act + Send + Sync>;

struct Peer {
    addr: SocketAddr,
    /// Every message received (header included), in order.
    msgs: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Handshakes completed (probe connections that close at once are not
    /// counted).
    logins: Arc<Mutex<Vec<Vec<u8>>>>,
    /// For each message, the number of the login (connection) it came on.
    conns: Arc<Mutex<Vec<usize>>>,
}

impl Peer {
    async fn start(respond: Responder) -> Peer {
        Self::start_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), respond)
    }

    fn start_on(listener: TcpListener, respond: Responder) -> Peer {
        let addr = listener.local_addr().unwrap();
        let msgs = Arc::new(Mutex::new(Vec::new()));
        let logins = Arc::new(Mutex::new(Vec::new()));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (m, l, c) = (msgs.clone(), logins.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (m, l, c, respond) = (m.clone(), l.clone(), c.clone(), respond.clone());
                tokio::spawn(async move {
                    // Handshake: "user:password", capability byte, NUL.
                    let mut hello = Vec::new();
                    let mut b = [0u8; 1];
                    loop {
                        match sock.read(&mut b).await {
                            Ok(1) if b[0] == 0 => break,
                            Ok(1) => hello.push(b[0]),
                            _ => return,
                        }
                    }
                    let conn = {
                        let mut l = l.lock().unwrap();
                        l.push(hello);
                        l.len() - 1
                    };
                    if sock.write_all(&[3]).await.is_err() {
                        return;
                    }
                    loop {
                        let mut head = [0u8; 8];
                        if sock.read_exact(&mut head).await.is_err() {
                            return;
                        }
                        let len = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
                        let mut body = vec![0u8; len - 8];
                        if sock.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let mut full = head.to_vec();
                        full.extend(body);
                        m.lock().unwrap().push(full.clone());
                        c.lock().unwrap().push(conn);
                        // Asynchronous messages (type 0) get no answer.
                        if head[1] == 0 {
                            continue;
                        }
                        match respond(&full) {
                            Act::Reply(k) => {
                                let bytes = k.serialize(qmsg_type::response, true).await;
                                if sock.write_all(&bytes).await.is_err() {
                                    return;
                                }
                            }
                            Act::Raw(bytes, chunk) => {
                                for part in bytes.chunks(chunk.max(1)) {
                                    if sock.write_all(part).await.is_err() {
                                        return;
                                    }
                                    let _ = sock.flush().await;
                                    tokio::time::sleep(Duration::from_millis(1)).await;
                                }
                            }
                            Act::Close => return,
                        }
                    }
                });
            }
        });
        Peer {
            addr,
            msgs,
            logins,
            conns,
        }
    }

    fn target(&self) -> Target {
        Target::parse(&format!(
            "kdb://vitals:s3cret@127.0.0.1:{}",
            self.addr.port()
        ))
        .unwrap()
    }

    fn messages_containing(&self, needle: &str) -> usize {
        self.msgs
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .count()
    }
}

fn consent() -> crate::store::ConsentRecord {
    crate::store::ConsentRecord {
        consent_at: chrono::Utc::now().timestamp_millis(),
        policy_version: "v".into(),
    }
}

fn fast() -> LinkOptions {
    LinkOptions {
        connections: 2,
        timeout: Duration::from_secs(5),
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
    }
}

fn row_counts_reply(c: i64, r: i64, d: i64) -> K {
    K::new_dictionary(k::symbols(["cpu", "ram", "disc"]), k::longs([c, r, d])).unwrap()
}

fn contains(m: &[u8], needle: &str) -> bool {
    m.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn protocol_sends_the_login_and_exact_call_bytes() {
    let peer = Peer::start(Arc::new(|_| Act::Reply(row_counts_reply(1, 2, 3)))).await;
    let store = KdbStore::new(peer.target(), fast());
    let counts = store.row_counts().await.unwrap();
    assert_eq!(
        counts,
        RowCounts {
            cpu: 1,
            ram: 2,
            disc: 3
        }
    );
    // Login: user:password then capability 3 (the NUL ends it).
    assert_eq!(
        peer.logins.lock().unwrap()[0],
        b"vitals:s3cret\x03".to_vec()
    );
    // A sync message (type 1) holding (`.vitals.rowCounts; ::).
    let mut body = vec![0, 0, 2, 0, 0, 0, 0xf5];
    body.extend(sym(".vitals.rowCounts"));
    body.extend_from_slice(&[101, 0]);
    assert_eq!(peer.msgs.lock().unwrap()[0], message(1, &body));
}

#[tokio::test]
async fn protocol_instance_ids_travel_as_guids() {
    let peer = Peer::start(Arc::new(|_| Act::Reply(K::new_bool(true)))).await;
    let store = KdbStore::new(peer.target(), fast());
    assert!(store.instance_exists(InstanceId([7; 16])).await.unwrap());
    let mut body = vec![0, 0, 2, 0, 0, 0, 0xf5];
    body.extend(sym(".vitals.exists"));
    body.push(0xfe); // guid atom, -2
    body.extend_from_slice(&[7; 16]);
    assert_eq!(peer.msgs.lock().unwrap()[0], message(1, &body));
}

#[tokio::test]
async fn protocol_disc_series_default_to_the_root_mount() {
    let empty = || k::table(vec![("ts", k::timestamps([])), ("v", k::floats([]))]).unwrap();
    let peer = Peer::start(Arc::new(move |_| Act::Reply(empty()))).await;
    let store = KdbStore::new(peer.target(), fast());
    let day = Day::containing_ms(1_796_382_000_000);
    let id = InstanceId([1; 16]);
    store
        .series(id, Metric::Disc, None, day, 0, i64::MAX)
        .await
        .unwrap();
    store
        .series(id, Metric::Disc, Some("/home"), day, 0, i64::MAX)
        .await
        .unwrap();
    let msgs = peer.msgs.lock().unwrap().clone();
    // `disc, then the mount symbol: `/ by default, else the one asked for.
    let mut root = sym("disc");
    root.push(0xf5);
    root.extend(sym("/"));
    assert!(msgs[0].windows(root.len()).any(|w| w == root.as_slice()));
    assert!(contains(&msgs[1], "/home"));
}

#[tokio::test]
async fn protocol_q_error_replies_become_typed_errors() {
    let peer = Peer::start(Arc::new(|m| {
        if contains(m, ".vitals.erase") {
            q_error("unknown")
        } else {
            q_error("type")
        }
    }))
    .await;
    let one = LinkOptions {
        connections: 1,
        ..fast()
    };
    let store = KdbStore::new(peer.target(), one);
    assert_eq!(
        store
            .delete_instance(InstanceId([1; 16]))
            .await
            .unwrap_err(),
        StoreError::UnknownInstance
    );
    let err = store.row_counts().await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Internal("kdb+ replied with an error: type".into())
    );
    // An error reply is an answer: the connection stays usable and q is
    // not considered down.
    assert_eq!(peer.logins.lock().unwrap().len(), 1);
    assert!(store.ping().await.is_err());
    assert_eq!(peer.logins.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn protocol_unexpected_reply_shapes_are_errors_not_panics() {
    // A symbol where a dictionary is expected, a long where a table is.
    let peer = Peer::start(Arc::new(|m| {
        if contains(m, ".vitals.rowCounts") {
            Act::Reply(k::symbol("surprise"))
        } else {
            Act::Reply(k::long(5))
        }
    }))
    .await;
    let store = KdbStore::new(peer.target(), fast());
    assert!(matches!(
        store.row_counts().await.unwrap_err(),
        StoreError::Internal(m) if m.contains("not understood")
    ));
    let day = Day::containing_ms(1_796_382_000_000);
    assert!(matches!(
        store.series(InstanceId([1; 16]), Metric::Cpu, None, day, 0, i64::MAX).await.unwrap_err(),
        StoreError::Internal(m) if m.contains("a table")
    ));
}

#[tokio::test]
async fn protocol_dropped_connection_is_unavailable_then_recovers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let peer = Peer::start(Arc::new(move |_| {
        // The first message's connection is dropped without an answer.
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Act::Close
        } else {
            Act::Reply(k::long(3))
        }
    }))
    .await;
    let store = KdbStore::new(peer.target(), fast());
    let err = store.instance_count().await.unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable(ref m) if m.contains("broke")),
        "{err:?}"
    );
    // Within the backoff pause: fails fast, no new connection attempt.
    let logins = peer.logins.lock().unwrap().len();
    assert!(matches!(
        store.instance_count().await.unwrap_err(),
        StoreError::Unavailable(_)
    ));
    assert_eq!(peer.logins.lock().unwrap().len(), logins);
    // After it: reconnects by itself.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(store.instance_count().await.unwrap(), 3);
    assert_eq!(peer.logins.lock().unwrap().len(), logins + 1);
}

#[tokio::test]
async fn protocol_q_down_then_up_without_restart() {
    // Reserve a port, close it: nothing listens there yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = Target::parse(&format!("kdb://vitals:s3cret@127.0.0.1:{port}")).unwrap();
    let store = KdbStore::new(target, fast());
    let err = store.ping().await.unwrap_err();
    let StoreError::Unavailable(msg) = err else {
        panic!("{err:?}")
    };
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(!msg.contains("s3cret"), "the password leaked: {msg}");
    // q comes up on that port.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let peer = Peer::start_on(listener, Arc::new(|_| Act::Reply(k::long(0))));
    tokio::time::sleep(Duration::from_millis(450)).await;
    store.ping().await.unwrap();
    assert_eq!(peer.logins.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn protocol_bad_login_says_so() {
    // A q that refuses the login closes the socket after the credential.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).await;
        }
    });
    let target = Target::parse(&format!("kdb://vitals:wrong@127.0.0.1:{port}")).unwrap();
    let store = KdbStore::new(target, fast());
    let StoreError::Unavailable(msg) = store.ping().await.unwrap_err() else {
        panic!("expected unavailable")
    };
    assert!(msg.contains("refused the login of user 'vitals'"), "{msg}");
    assert!(!msg.contains("wrong"), "{msg}");
}

fn batch(ts: i64, n: usize) -> Batch {
    Batch {
        batch_id: Uuid::new_v4(),
        cpu: (0..n)
            .map(|i| CpuSample {
                ts: ts + i as i64 * 1000,
                usage_pct: 10.0,
                cores_pct: vec![5.0, 15.0],
                load1: None,
            })
            .collect(),
        ram: vec![],
        disc: vec![],
    }
}

#[tokio::test]
async fn protocol_concurrent_batches_share_one_call_with_answers_each() {
    let peer = Peer::start(Arc::new(|m| {
        if !contains(m, ".vitals.ingest") {
            return q_error("unexpected");
        }
        // q's answer for two batches: the first fits, the second is over
        // the quota (4 cpu rows today + 2 > 5).
        let t = k::table(vec![
            ("status", k::symbols(["ok", "quota"])),
            ("cpu", k::longs([1, 4])),
            ("ram", k::longs([0, 0])),
            ("disc", k::longs([0, 0])),
            ("tbl", k::symbols(["", ""])),
            ("ts", k::timestamps([0, 0])),
        ])
        .unwrap();
        Act::Reply(t)
    }))
    .await;
    let store = Arc::new(KdbStore::new(peer.target(), fast()));
    let day = Day::containing_ms(1_796_382_000_000);
    let req = |n: u8, rows| IngestRequest {
        instance: InstanceId([n; 16]),
        batch: batch(1_796_382_000_000, rows),
        day,
        daily_row_limit: 5,
    };
    let (a, b) = (store.clone(), store.clone());
    let (ra, rb) = tokio::join!(a.ingest(req(1, 1)), b.ingest(req(2, 2)));
    let ra = ra.unwrap();
    assert_eq!(ra.accepted.cpu, 1);
    assert_eq!(ra.today.cpu, 1);
    assert_eq!(
        rb.unwrap_err(),
        StoreError::QuotaExceeded {
            table: Metric::Cpu,
            used: 4,
            limit: 5
        }
    );
    assert_eq!(peer.messages_containing(".vitals.ingest"), 1);
    let msg = peer.msgs.lock().unwrap()[0].clone();
    // Both instances' guids, in one message.
    assert!(msg.windows(16).any(|w| w == [1; 16]));
    assert!(msg.windows(16).any(|w| w == [2; 16]));
    // (`.vitals.ingest; day; limit; batches; cpu; ram; disc): 7 items.
    let mut head = vec![0, 0, 7, 0, 0, 0, 0xf5];
    head.extend(sym(".vitals.ingest"));
    assert_eq!(&msg[8..8 + head.len()], &head[..]);
}

#[tokio::test]
async fn protocol_replies_decode_back() {
    // The documented bytes of (1 2;3), sent as a response, decode to the
    // same values through kdbplus's reader.
    let peer = Peer::start(Arc::new(|_| {
        Act::Reply(k::compound(vec![k::longs([1, 2]), k::long(3)]))
    }))
    .await;
    let store = KdbStore::new(peer.target(), fast());
    let reply = store
        .call(".vitals.rowCounts", vec![K::new_null()])
        .await
        .unwrap();
    assert_eq!(reply.get_type(), qtype::COMPOUND_LIST);
    let items = reply.as_vec::<K>().unwrap();
    assert_eq!(items[0].as_vec::<i64>().unwrap(), &vec![1, 2]);
    assert_eq!(items[1].get_long().unwrap(), 3);
}

#[tokio::test]
async fn protocol_large_replies_arrive_whole_in_many_segments() {
    // A day at 1 Hz: 86,400 (ts, value) rows, written in 1,400-byte pieces.
    let n = 86_400_i64;
    let t0 = 1_796_382_000_000_i64;
    let table = k::table(vec![
        ("ts", k::timestamps((0..n).map(|i| t0 + i * 1000))),
        ("v", k::floats((0..n).map(|i| i as f64 / 10.0))),
    ])
    .unwrap();
    let bytes = table.serialize(qmsg_type::response, true).await;
    let peer = Peer::start(Arc::new(move |_| Act::Raw(bytes.clone(), 1400))).await;
    let store = KdbStore::new(peer.target(), fast());
    let day = Day::containing_ms(t0);
    let points = store
        .series(InstanceId([1; 16]), Metric::Cpu, None, day, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(points.len(), n as usize);
    assert_eq!(points[0], (t0, 0.0));
    assert_eq!(points[86_399], (t0 + 86_399_000, 8639.9));
}

#[tokio::test]
async fn protocol_compressed_replies_are_inflated() {
    // q compresses replies over 2,000 bytes to remote clients; kdbplus's
    // encoder produces the same format when told the peer is remote.
    let values: Vec<i64> = (0..5000).map(|i| i % 7).collect();
    let plain = k::longs(values.clone());
    let packed = plain.serialize(qmsg_type::response, false).await;
    assert_eq!(packed[2], 1, "expected a compressed message");
    assert!(packed.len() < 5000 * 8 / 2);
    let peer = Peer::start(Arc::new(move |_| Act::Raw(packed.clone(), 512))).await;
    let store = KdbStore::new(peer.target(), fast());
    let reply = store
        .call(".vitals.rowCounts", vec![K::new_null()])
        .await
        .unwrap();
    assert_eq!(reply.as_vec::<i64>().unwrap(), &values);
}

#[tokio::test]
async fn protocol_garbage_replies_are_errors_and_the_link_recovers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let peer = Peer::start(Arc::new(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            // A list claiming a million items in a 6-byte body.
            Act::Raw(message(2, &[7, 0, 0x40, 0x42, 0x0f, 0]), usize::MAX)
        } else {
            Act::Reply(k::long(2))
        }
    }))
    .await;
    let store = KdbStore::new(peer.target(), fast());
    assert!(matches!(
        store.instance_count().await.unwrap_err(),
        StoreError::Internal(m) if m.contains("ended early")
    ));
    assert_eq!(store.instance_count().await.unwrap(), 2);
}

/// The 16 bytes after the first guid atom (0xfe) that follows `after`.
fn guid_after(m: &[u8], after: &str) -> [u8; 16] {
    let at = m
        .windows(after.len())
        .position(|w| w == after.as_bytes())
        .unwrap();
    let g = at + m[at..].iter().position(|b| *b == 0xfe).unwrap() + 1;
    m[g..g + 16].try_into().unwrap()
}

#[tokio::test]
async fn protocol_tick_mode_logs_flushes_then_reads_the_rdb_answer() {
    let tp = Peer::start(Arc::new(|m| {
        if contains(m, ".vitals.tp.flush") || contains(m, ".vitals.tp.roll") {
            Act::Reply(k::long(0))
        } else {
            q_error("unexpected")
        }
    }))
    .await;
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let rdb = Peer::start(Arc::new(move |m| {
        if !contains(m, ".vitals.result") {
            return q_error("the server must not write to the RDB in tick mode");
        }
        // The RDB has not applied the write yet, then it has.
        if p.fetch_add(1, Ordering::SeqCst) == 0 {
            Act::Reply(k::symbol("pending"))
        } else {
            Act::Reply(k::symbol("ok"))
        }
    }))
    .await;
    let store = KdbStore::tick(rdb.target(), tp.target(), fast());
    store
        .create_instance(InstanceId([3; 16]), consent(), 10)
        .await
        .unwrap();
    let sent = tp.msgs.lock().unwrap().clone();
    assert_eq!(sent.len(), 3, "roll, send, flush");
    assert!(contains(&sent[0], ".vitals.tp.roll") && sent[0][1] == 1);
    // The write itself is asynchronous (message type 0): log, then publish.
    assert!(contains(&sent[1], ".vitals.tp.send") && contains(&sent[1], "register"));
    assert_eq!(sent[1][1], 0);
    assert!(contains(&sent[2], ".vitals.tp.flush") && sent[2][1] == 1);
    // On the same connection, or the flush would vouch for nothing.
    let conns = tp.conns.lock().unwrap().clone();
    assert_eq!(conns[1], conns[2]);
    // The instance id travels inside the write; the RDB is asked for the
    // answer under the same request id, until it has one.
    assert!(sent[1].windows(16).any(|w| w == [3; 16]));
    let reqid = guid_after(&sent[1], "register");
    let asked = rdb.msgs.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    for m in &asked {
        assert_eq!(guid_after(m, ".vitals.result"), reqid);
    }
    // Reads go to the RDB (this one refuses anything but results).
    assert!(store.instance_exists(InstanceId([3; 16])).await.is_err());
    // The day is rolled once, not per write.
    store
        .create_instance(InstanceId([4; 16]), consent(), 10)
        .await
        .unwrap();
    assert_eq!(tp.messages_containing(".vitals.tp.roll"), 1);
}

#[tokio::test]
async fn protocol_tick_mode_write_errors_come_back_typed() {
    let tp = Peer::start(Arc::new(|_| Act::Reply(k::long(0)))).await;
    let rdb = Peer::start(Arc::new(|_| {
        Act::Reply(k::compound(vec![
            k::symbol("error"),
            K::new_string("unknown".into(), qattribute::NONE),
        ]))
    }))
    .await;
    let store = KdbStore::tick(rdb.target(), tp.target(), fast());
    assert_eq!(
        store
            .delete_instance(InstanceId([1; 16]))
            .await
            .unwrap_err(),
        StoreError::UnknownInstance
    );
}

// ---- real q ----------------------------------------------------------------

/// A q process running `q/vitals.q` on a free loopback port.
struct RealQ {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RealQ {
    fn start(q: &str) -> RealQ {
        RealQ::start_script(q, "q/vitals.q", &[])
    }

    fn start_script(q: &str, script: &str, env: &[(&str, &str)]) -> RealQ {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.txt");
        std::fs::write(&users, "vitals:s3cret\n").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let child = std::process::Command::new(q)
            .current_dir(&root)
            .arg(script)
            .args(["-p", &port.to_string(), "-U"])
            .arg(&users)
            .arg("-q")
            .env("VITALS_Q_USER", "vitals")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        RealQ {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for RealQ {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealQ {
    /// A tickerplant (`q/tick/tick.q`, its log in `logs`) and an RDB
    /// (`q/tick/rdb.q`) subscribed to it.
    fn start_tick(q: &str, logs: &std::path::Path) -> (RealQ, RealQ) {
        let tp = RealQ::start_script(
            q,
            "q/tick/tick.q",
            &[("VITALS_TICK_DIR", logs.to_str().unwrap())],
        );
        let tp_addr = format!(":127.0.0.1:{}:vitals:s3cret", tp.port);
        let rdb = RealQ::start_script(q, "q/tick/rdb.q", &[("VITALS_TP", &tp_addr)]);
        (tp, rdb)
    }
}

fn tick_store(tp: &RealQ, rdb: &RealQ) -> KdbStore {
    let t = |p: u16| Target::parse(&format!("kdb://vitals:s3cret@127.0.0.1:{p}")).unwrap();
    KdbStore::tick(t(rdb.port), t(tp.port), fast())
}

#[ignore = "needs a q binary: VITALS_TEST_Q=/path/to/q make test"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_q_conformance_tick_mode() {
    let Some(q) = test_q() else { return };
    let procs = Arc::new(Mutex::new(Vec::new()));
    let p = procs.clone();
    crate::store::conformance::run_all(move || {
        let logs = tempfile::tempdir().unwrap();
        let (tp, rdb) = RealQ::start_tick(&q, logs.path());
        let store = tick_store(&tp, &rdb);
        p.lock().unwrap().push((tp, rdb, logs));
        Arc::new(store) as Arc<dyn Store>
    })
    .await;
}

#[ignore = "needs a q binary: VITALS_TEST_Q=/path/to/q make test"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_q_tickerplant_restart_replays_every_acknowledged_batch() {
    let Some(q) = test_q() else { return };
    let logs = tempfile::tempdir().unwrap();
    let (tp, rdb) = RealQ::start_tick(&q, logs.path());
    let store = tick_store(&tp, &rdb);
    let id = InstanceId([5; 16]);
    store.create_instance(id, consent(), 10).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let day = Day::containing_ms(now);
    let req = |ts| IngestRequest {
        instance: id,
        batch: batch(ts, 3),
        day,
        daily_row_limit: 1000,
    };
    store.ingest(req(now - 10_000)).await.unwrap();
    store.ingest(req(now - 5_000)).await.unwrap();
    let before = store.row_counts().await.unwrap();
    assert_eq!(before.cpu, 6);
    // Both processes die; the restarted RDB replays the restarted
    // tickerplant's log.
    drop((tp, rdb));
    let (tp, rdb) = RealQ::start_tick(&q, logs.path());
    let store = tick_store(&tp, &rdb);
    assert_eq!(store.row_counts().await.unwrap(), before);
    assert!(store.instance_exists(id).await.unwrap());
    // And the replayed batch ids still make a retry a duplicate.
    let again = store.ingest(req(now - 5_000)).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyStored { .. })) || again.is_ok_and(|o| o.duplicate)
    );
}

fn test_q() -> Option<String> {
    let q = std::env::var("VITALS_TEST_Q")
        .ok()
        .filter(|q| !q.is_empty());
    if q.is_none() {
        println!("skipped: VITALS_TEST_Q not set");
    }
    q
}

#[ignore = "needs a q binary: VITALS_TEST_Q=/path/to/q make test"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_q_conformance_direct_mode() {
    let Some(q) = test_q() else { return };
    let procs = Arc::new(Mutex::new(Vec::new()));
    let p = procs.clone();
    crate::store::conformance::run_all(move || {
        let proc = RealQ::start(&q);
        let target =
            Target::parse(&format!("kdb://vitals:s3cret@127.0.0.1:{}", proc.port)).unwrap();
        p.lock().unwrap().push(proc);
        Arc::new(KdbStore::new(target, fast())) as Arc<dyn Store>
    })
    .await;
}

#[ignore = "needs a q binary: VITALS_TEST_Q=/path/to/q make test"]
#[test]
fn real_q_unit_tests_of_q_vitals() {
    let Some(q) = test_q() else { return };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(q)
        .current_dir(root)
        .args(["q/tests/test_vitals.q", "-q"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success(), "q unit tests failed:\n{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
